#!/usr/bin/env python3
"""Chaos drill: add an unexpected column to a watched table (schema drift), or revert it.

    python scripts/chaos/simulate_schema_drift.py --table oltp.orders --column unexpected_field \
        [--type 'VARCHAR(64)'] [--revert]

Env: MYSQL_URL (default mysql://root@127.0.0.1:3306/), PIPELINE_FILE (default config/pipelines.yml),
CONNECT_URL (optional), SCHEMA_CONTRACTS_DIR (default schemas), REDIS_URL (optional, for snapshots).
Prints ONE JSON object. Exit 0 on success, 2 on refusal or bad input, 1 when MySQL is unreachable.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # runnable from a checkout, no install

import httpx
import redis

from bot.clients.mysql import connect
from bot.errors import BackendError, DataflowError
from bot.pipeline import load_lineage
from bot.schema.baseline import BaselineStore, load_contract
from bot.schema.drill import DrillRefused, add_column_ddl, column_type, drop_column_ddl
from bot.schema.model import TableSchema, split_table, validate_identifier
from bot.schema.reader import read_table, server_info


class Refused(Exception):
    """Exit 2: the request is refused or malformed."""


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        out = run(args)
    except Refused as exc:
        return _emit({"error": str(exc)}, 2)
    except BackendError as exc:
        return _emit({"error": str(exc)}, 1)
    except DataflowError as exc:
        return _emit({"error": exc.user_text()}, 2)
    return _emit(out, 0)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--table", required=True, help="db.table, listed in PIPELINE_FILE")
    parser.add_argument("--column", required=True, help="the column to add (or drop with --revert)")
    parser.add_argument("--type", default="VARCHAR(64) NULL", help="column type (simple types only)")
    parser.add_argument("--revert", action="store_true", help="drop the column drift added")
    return parser


def run(args: argparse.Namespace) -> dict[str, Any]:
    schema, table = split_table(args.table)
    column = validate_identifier(args.column, "column name")
    try:
        type_ = column_type(str(args.type))
    except DrillRefused as exc:
        raise Refused(f"--{exc}") from None
    lineage = load_lineage(os.environ.get("PIPELINE_FILE", "config/pipelines.yml"))
    pipeline = lineage.for_table(f"{schema}.{table}")
    if pipeline is None:
        raise Refused(f"{schema}.{table} is not in any pipeline of the lineage file: refused")
    conn = connect(os.environ.get("MYSQL_URL", "mysql://root@127.0.0.1:3306/"))
    try:
        live = read_table(conn, schema, table)
        if live is None:
            raise Refused(f"no such table {schema}.{table}")
        ddl = (drop_column_ddl(live, column, _baseline_columns(live)) if args.revert
               else add_column_ddl(live, column, type_))
        with conn.cursor() as cur:
            cur.execute(ddl)
        applied_at = datetime.now(UTC).isoformat(timespec="seconds")
        after = read_table(conn, schema, table)
        version = server_info(conn).version
    finally:
        conn.close()
    return {
        "action": "revert" if args.revert else "apply", "table": f"{schema}.{table}", "column": column,
        "ddl": ddl, "applied_at": applied_at,
        "mysql": {"columns": [asdict(c) for c in (after.columns if after else ())], "server": version},
        "connector": _connector(pipeline.connectors[0] if pipeline.connectors else None),
    }


def _baseline_columns(live: TableSchema) -> set[str]:
    """Columns of the contract file, else of the Redis snapshot; refuse when neither can be read."""
    contracts = Path(os.environ.get("SCHEMA_CONTRACTS_DIR", "schemas"))
    path = contracts / live.schema / f"{live.table}.yml"
    if path.exists():
        return set(load_contract(path, live.qualified).schema.names())
    redis_url = os.environ.get("REDIS_URL")
    if redis_url:
        try:
            found = BaselineStore(redis.Redis.from_url(redis_url), contracts).get(live.qualified)
        except redis.RedisError as exc:
            raise Refused(f"cannot read the baseline of {live.qualified} from Redis: {exc}") from None
        if found:
            return set(found.schema.names())
    raise Refused(f"no baseline for {live.qualified} (no contract {path}, no snapshot): refusing to drop "
                  "a column that may be legitimate")


def _connector(name: str | None) -> dict[str, Any]:
    url = os.environ.get("CONNECT_URL")
    if not url or not name:
        return {"status": "not configured"}
    try:
        resp = httpx.get(f"{url.rstrip('/')}/connectors/{name}/status", timeout=5)
        resp.raise_for_status()
        body = resp.json()
        return {"name": body.get("name", name), "state": body.get("connector", {}).get("state"),
                "tasks": body.get("tasks", [])}
    except (httpx.HTTPError, ValueError) as exc:
        return {"status": "unreachable", "reason": f"{type(exc).__name__}: {exc}"}


def _emit(obj: dict[str, Any], code: int) -> int:
    print(json.dumps(obj, default=str))
    return code


if __name__ == "__main__":
    sys.exit(main())
