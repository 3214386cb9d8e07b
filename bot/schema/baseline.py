"""Baselines: the schema a table is expected to have, from a contract file or a Redis snapshot.

A contract file `<contracts_dir>/<db>/<table>.yml` (reviewed in the repo) wins over a snapshot. Without
one, the first watch of a table snapshots its live schema into Redis (`dfo:baseline:<db>.<table>`),
and every version ever taken is kept in `dfo:baseline-history:<db>.<table>` (oldest first).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import redis
import yaml

from bot.errors import UserInputError
from bot.schema.model import Column, TableSchema, split_table
from bot.schema.reader import normalise_default, normalise_extra, normalise_type

LiveReader = Callable[[str], TableSchema]


@dataclass(frozen=True)
class Baseline:
    schema: TableSchema
    source: str  # "contract" | "snapshot"
    version: int
    taken_by: str
    taken_at: str  # ISO 8601 UTC


@dataclass(frozen=True)
class AcceptResult:
    baseline: Baseline
    message: str


def current_key(table: str) -> str:
    return f"dfo:baseline:{table}"


def history_key(table: str) -> str:
    return f"dfo:baseline-history:{table}"


class BaselineStore:
    def __init__(self, redis_client: redis.Redis, contracts_dir: Path,
                 live_reader: LiveReader | None = None) -> None:
        self._redis = redis_client
        self._dir = Path(contracts_dir)
        self._live_reader = live_reader

    def contract_path(self, table: str) -> Path:
        schema, name = split_table(table)  # validated: no path traversal through the table name
        return self._dir / schema / f"{name}.yml"

    def get(self, table: str) -> Baseline | None:
        path = self.contract_path(table)
        if path.exists():
            return load_contract(path, table)
        raw = self._redis.get(current_key(table))
        return baseline_from_json(raw) if raw else None

    def ensure(self, table: str, live: TableSchema) -> Baseline:
        """The baseline, taking the first snapshot from `live` if there is none (once, across replicas)."""
        found = self.get(table)
        return found if found else self._snapshot(table, live, "drift-watcher", only_if_absent=True)

    def snapshot_if_absent(self, table: str, live: TableSchema, by_user: str) -> Baseline:
        """The first baseline of a table, atomically: an existing one (contract or snapshot) is returned as is."""
        return self.get(table) or self._snapshot(table, live, by_user, only_if_absent=True)

    def take_snapshot(self, table: str, by_user: str, live: TableSchema | None = None) -> Baseline:
        return self._snapshot(table, live or self._read_live(table), by_user, only_if_absent=False)

    def accept_drift(self, table: str, by_user: str, live: TableSchema | None = None) -> AcceptResult:
        """Make the live schema the new baseline. A contract file is not edited: say it must be."""
        snap = self.take_snapshot(table, by_user, live)
        path = self.contract_path(table)
        if path.exists():
            return AcceptResult(snap, (
                f"Snapshot v{snap.version} of {table} saved, but {path} is a contract file and still wins: "
                f"update it in the repo (reviewed) to accept this drift."))
        return AcceptResult(snap, f"Drift accepted: {table} baseline is now snapshot v{snap.version} "
                                  f"by {by_user} at {snap.taken_at}.")

    def history(self, table: str) -> list[Baseline]:
        split_table(table)
        return [baseline_from_json(raw) for raw in self._redis.lrange(history_key(table), 0, -1)]

    def _read_live(self, table: str) -> TableSchema:
        if self._live_reader is None:
            raise UserInputError(f"cannot snapshot {table}: no live schema given and no reader configured")
        return self._live_reader(table)

    def _snapshot(self, table: str, live: TableSchema, by_user: str, only_if_absent: bool) -> Baseline:
        split_table(table)
        made: list[Baseline] = []

        def write(pipe: Any) -> None:
            made.clear()
            if only_if_absent and pipe.exists(current_key(table)):
                made.append(baseline_from_json(pipe.get(current_key(table))))
                return
            version = int(pipe.llen(history_key(table))) + 1
            now = datetime.now(UTC).isoformat(timespec="seconds")
            base = Baseline(live, "snapshot", version, by_user, now)
            pipe.multi()
            pipe.set(current_key(table), baseline_to_json(base))
            pipe.rpush(history_key(table), baseline_to_json(base))
            made.append(base)

        # WATCH both keys: two replicas snapshotting at once cannot both write version N.
        self._redis.transaction(write, current_key(table), history_key(table))
        return made[-1]


def baseline_to_json(base: Baseline) -> str:
    return json.dumps(asdict(base), sort_keys=True)


def baseline_from_json(raw: str | bytes) -> Baseline:
    data = json.loads(raw)
    schema = data["schema"]
    cols = tuple(Column(**c) for c in schema["columns"])
    return Baseline(TableSchema(schema["schema"], schema["table"], cols), data["source"],
                    int(data["version"]), data["taken_by"], data["taken_at"])


def load_contract(path: Path, table: str) -> Baseline:
    """Read a contract file (format: schemas/README.md). UserInputError names the file and the fault."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        schema, name = split_table(table)
        cols = tuple(_contract_column(c, i) for i, c in enumerate(raw["columns"], start=1))
    except (yaml.YAMLError, KeyError, TypeError, ValueError) as exc:
        raise UserInputError(f"contract {path} is invalid: {type(exc).__name__}: {exc}") from None
    mtime = datetime.fromtimestamp(path.stat().st_mtime, UTC).isoformat(timespec="seconds")
    return Baseline(TableSchema(schema, name, cols), "contract", int(raw.get("version", 1)),
                    str(raw.get("owner", "contract file")), mtime)


def _contract_column(entry: dict[str, Any], position: int) -> Column:
    default = entry.get("default")
    return Column(
        name=str(entry["name"]),
        position=position,
        type=normalise_type(str(entry["type"])),
        nullable=bool(entry.get("nullable", True)),
        # YAML null means "no default"; a string "NULL" would be ambiguous, so it means the same.
        default=None if default is None else normalise_default(str(default)),
        extra=normalise_extra(entry.get("extra", "")),
        key=str(entry.get("key", "") or "").upper(),
    )
