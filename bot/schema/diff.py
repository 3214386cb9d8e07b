"""Pure schema diff: baseline vs live, each change judged compatible or breaking for CDC consumers.

Rules (the consumer's view: Debezium maps each column to a field of the change-event schema; a Flink
job or registry-checked Avro reader maps fields by name with a fixed schema):
- added column, nullable or with a default: compatible. Debezium re-reads the DDL and emits an
  optional field; readers that map by name ignore it. A strict mapping (Flink job) must still be
  updated to *use* it, so the runbook asks whether the column is wanted.
- added NOT NULL column without a default: breaking (a required field old readers cannot fill).
- removed column: breaking (readers lose a field they map).
- type widening within a family (varchar(16)->varchar(64), int->bigint, decimal(10,2)->decimal(12,2),
  text->mediumtext, char->varchar, float->double, enum values appended): compatible.
  Any other type change (narrowing, family change, signedness loss): breaking.
- NOT NULL -> NULL: breaking (a required field becomes optional; consumers get nulls they never saw).
- NULL -> NOT NULL: compatible with a default, breaking without one (writers' inserts start failing).
- default or extra (on update, auto_increment) change: compatible (events carry values, not defaults).
- primary key gained or lost: breaking (the Kafka message key schema changes). Other key changes: compatible.
- order change: compatible (Debezium emits fields by name); only positional readers (SELECT *) care.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.schema.model import Column, TableSchema

COMPATIBLE = "compatible"
BREAKING = "breaking"

_INT_RANK = {"tinyint": 1, "smallint": 2, "mediumint": 3, "int": 4, "integer": 4, "bigint": 5}
_TEXT_RANK = {"tinytext": 1, "text": 2, "mediumtext": 3, "longtext": 4}
_BLOB_RANK = {"tinyblob": 1, "blob": 2, "mediumblob": 3, "longblob": 4}
_TYPE = re.compile(r"^(?P<base>[a-z]+)(?:\((?P<args>[^)]*)\))?(?P<rest>.*)$")


@dataclass(frozen=True)
class Change:
    kind: str  # added | removed | type | nullability | default | extra | key | order
    column: str
    before: Column | None
    after: Column | None
    verdict: str  # compatible | breaking
    reason: str


@dataclass(frozen=True)
class SchemaDiff:
    schema: str
    table: str
    changes: tuple[Change, ...]

    @property
    def verdict(self) -> str:
        """none | compatible | breaking (the worst change wins)."""
        if not self.changes:
            return "none"
        return BREAKING if any(c.verdict == BREAKING for c in self.changes) else COMPATIBLE

    def drifted_columns(self) -> list[str]:
        """Distinct column names with at least one change, in first-seen order."""
        return list(dict.fromkeys(c.column for c in self.changes))


def diff_schemas(baseline: TableSchema, live: TableSchema) -> SchemaDiff:
    changes: list[Change] = []
    live_names = set(live.names())
    for col in baseline.columns:
        if col.name not in live_names:
            changes.append(Change("removed", col.name, col, None, BREAKING,
                                  "removed column: consumers lose a field they map"))
    for col in live.columns:
        before = baseline.column(col.name)
        changes.extend([_added(col)] if before is None else _changed(before, col))
    changes.extend(_order_changes(baseline, live))
    return SchemaDiff(live.schema, live.table, tuple(changes))


def _added(col: Column) -> Change:
    if not col.nullable and col.default is None and "auto_increment" not in col.extra:
        return Change("added", col.name, None, col, BREAKING,
                      "added NOT NULL column without default: a required field old readers cannot fill")
    return Change("added", col.name, None, col, COMPATIBLE,
                  "added optional column: Debezium re-reads the DDL; a strict Flink mapping must be updated")


def _changed(before: Column, after: Column) -> list[Change]:
    found: list[Change] = []
    if before.type != after.type:
        verdict, reason = judge_type(before.type, after.type)
        found.append(Change("type", after.name, before, after, verdict, reason))
    if before.nullable != after.nullable:
        found.append(_nullability(before, after))
    if before.default != after.default:
        found.append(Change("default", after.name, before, after, COMPATIBLE,
                            "default changed: events carry values, not defaults"))
    if before.extra != after.extra:
        found.append(Change("extra", after.name, before, after, COMPATIBLE,
                            "extra attributes changed (on update/auto_increment): values still flow"))
    if before.key != after.key:
        found.append(_key(before, after))
    return found


def _nullability(before: Column, after: Column) -> Change:
    if after.nullable:
        return Change("nullability", after.name, before, after, BREAKING,
                      "NOT NULL -> NULL: a required field becomes optional; consumers get nulls")
    if after.default is None:
        return Change("nullability", after.name, before, after, BREAKING,
                      "NULL -> NOT NULL without default: writers' inserts without it fail")
    return Change("nullability", after.name, before, after, COMPATIBLE,
                  "NULL -> NOT NULL with a default: readers see fewer nulls")


def _key(before: Column, after: Column) -> Change:
    if "PRI" in (before.key, after.key):
        return Change("key", after.name, before, after, BREAKING,
                      "primary key changed: the Kafka message key schema changes")
    return Change("key", after.name, before, after, COMPATIBLE,
                  "index membership changed: no effect on events")


def judge_type(before: str, after: str) -> tuple[str, str]:
    """(verdict, reason) for a column type change, from normalised types."""
    if is_widening(before, after):
        return COMPATIBLE, f"type widened {before} -> {after}: every old value still fits"
    return BREAKING, f"type changed {before} -> {after}: not a widening, values or field type change"


def is_widening(before: str, after: str) -> bool:
    b, a = _TYPE.match(before), _TYPE.match(after)
    if not b or not a:
        return False
    (bb, bargs, brest), (ab, aargs, arest) = _parts(b), _parts(a)
    if bb in _INT_RANK and ab in _INT_RANK:
        if brest == arest:
            return _INT_RANK[ab] >= _INT_RANK[bb]
        # unsigned -> signed fits only in a strictly larger type; signed -> unsigned loses negatives.
        return (brest, arest) == ("unsigned", "") and _INT_RANK[ab] > _INT_RANK[bb]
    if brest != arest:
        return False
    for ranks in (_TEXT_RANK, _BLOB_RANK):
        if bb in ranks and ab in ranks:
            return ranks[ab] >= ranks[bb]
    if {bb, ab} <= {"char", "varchar"} or {bb, ab} <= {"binary", "varbinary"}:
        return (bb, ab) != ("varchar", "char") and _num(aargs) >= _num(bargs)
    if bb == ab == "decimal":
        return _decimal_fits(bargs, aargs)
    if (bb, ab) == ("float", "double"):
        return True
    if bb == ab and bb in ("enum", "set"):
        return aargs.startswith(bargs)
    if bb == ab and bb in ("datetime", "timestamp", "time"):
        return _num(aargs) >= _num(bargs)
    return False


def _parts(match: re.Match[str]) -> tuple[str, str, str]:
    return match.group("base"), match.group("args") or "", match.group("rest").strip()


def _num(args: str) -> int:
    return int(args) if args.isdigit() else 0


def _decimal_fits(bargs: str, aargs: str) -> bool:
    bp, _, bs = (bargs or "10,0").partition(",")
    ap, _, as_ = (aargs or "10,0").partition(",")
    b_int, a_int = int(bp) - int(bs or 0), int(ap) - int(as_ or 0)
    return a_int >= b_int and int(as_ or 0) >= int(bs or 0)


def _order_changes(baseline: TableSchema, live: TableSchema) -> list[Change]:
    """Columns whose place among the columns both sides share moved (not explained by add/remove)."""
    live_names, base_names = set(live.names()), set(baseline.names())
    base_seq = [n for n in baseline.names() if n in live_names]
    live_seq = [n for n in live.names() if n in base_names]
    if base_seq == live_seq:
        return []
    moved = [n for i, n in enumerate(live_seq) if base_seq[i] != n]
    return [Change("order", n, baseline.column(n), live.column(n), COMPATIBLE,
                   "column moved: Debezium emits fields by name; only positional readers care")
            for n in moved]
