"""The schema report of a watched table: baseline vs live, the diff, and the DDL that caused it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pymysql

from bot.blocks.common import escape
from bot.clients.mysql import DEFAULT_TIMEOUT_SECONDS, connect
from bot.errors import NotFoundError, UserInputError
from bot.pipeline import Lineage
from bot.schema.baseline import Baseline, BaselineStore
from bot.schema.diff import SchemaDiff, diff_schemas
from bot.schema.forensics import ForensicsResult, find_ddl, format_forensics
from bot.schema.model import split_table, validate_identifier
from bot.schema.reader import read_table


@dataclass(frozen=True)
class SchemaReport:
    table: str
    baseline: Baseline
    diff: SchemaDiff
    forensics: ForensicsResult | None


def watched_table(lineage: Lineage, table: str, also: Iterable[str] = ()) -> tuple[str, str]:
    """Validate a `db.table` argument: safe identifiers, and one the pipeline file watches or the
    incident's scope names (`also`: its tables from the alerts and discovery)."""
    if "." not in table:
        raise UserInputError(f"`{escape(table[:80])}` is not `db.table`.", "Example: `/dataflow schema oltp.orders`.")
    db, name = split_table(table)
    validate_identifier(db, "database")
    validate_identifier(name, "table")
    known = list(dict.fromkeys([*lineage.watched_tables(), *also]))
    if f"{db}.{name}" not in known:
        watched = ", ".join(f"`{t}`" for t in known) or "(none)"
        raise NotFoundError(f"no such table {db}.{name}", f"Watched tables: {watched}.")
    return db, name


def live_schema(conn: pymysql.Connection[Any], db: str, name: str) -> Any:
    live = read_table(conn, db, name)
    if live is None:
        raise NotFoundError(f"no such table {db}.{name} on the MySQL server",
                            "It is in the pipeline file but not in information_schema: was it dropped or renamed?")
    return live


def build_report(mysql_url: str, baselines: BaselineStore, lineage: Lineage, table: str,
                 since: datetime | None = None, also: Iterable[str] = (),
                 timeout: float = DEFAULT_TIMEOUT_SECONDS) -> SchemaReport:
    db, name = watched_table(lineage, table, also)
    conn = connect(mysql_url, timeout=timeout)
    try:
        live = live_schema(conn, db, name)
        baseline = baselines.ensure(f"{db}.{name}", live)
        forensics = find_ddl(conn, db, name, since=since)
    finally:
        conn.close()
    return SchemaReport(f"{db}.{name}", baseline, diff_schemas(baseline.schema, live), forensics)


def report_text(report: SchemaReport, rendered_diff: str) -> str:
    """Slack mrkdwn: the verdict and diff, where the baseline came from, and the DDL forensics line."""
    base = report.baseline
    origin = (f"contract file v{base.version}" if base.source == "contract"
              else f"snapshot v{base.version} taken by {base.taken_by} at {base.taken_at}")
    lines = [f":mag: *Schema* — `{report.table}` against its baseline ({escape(origin)})", rendered_diff]
    if report.forensics is not None:
        lines.append("*DDL from the binlog*:\n```" + escape(format_forensics(report.forensics)) + "```"
                     if report.forensics.available and report.forensics.statements
                     else f"*DDL from the binlog*: {escape(format_forensics(report.forensics))}")
    return "\n".join(lines)
