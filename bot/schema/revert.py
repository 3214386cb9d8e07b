"""The guarded revert planner: DROP COLUMN for drifted columns, only where it is safe.

Safe means (reliability §5, Skeema/Bytebase rules): the column is absent from the baseline and is in
no key, index or foreign key. Anything else is a Refusal saying what a person must do instead.
Planning is pure; `precheck` and `execute_revert` re-check the live server right before acting.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from typing import Any, TypeAlias

import pymysql

from bot.clients.mysql import connect
from bot.errors import NotFoundError, UserInputError
from bot.schema.diff import SchemaDiff, diff_schemas
from bot.schema.model import ServerInfo, TableIndexes, TableSchema, quote_identifier, validate_identifier
from bot.schema.reader import read_indexes, read_table, server_info, table_exists

# An approved ALTER may copy a large table: its reads wait this long (the connect and login stay short).
DDL_TIMEOUT_SECONDS = 600.0

Conn: TypeAlias = "pymysql.Connection[Any]"  # a string: the stubs are generic, the runtime class is not


@dataclass(frozen=True)
class RevertPlan:
    schema: str
    table: str
    column: str
    sql: str
    action_hash: str
    algorithm_note: str


@dataclass(frozen=True)
class Refusal:
    schema: str
    table: str
    column: str
    reason: str


def algorithm_for(server: ServerInfo) -> tuple[str, str]:
    """(ALTER clause, why). INSTANT is asked for explicitly so an impossible one fails fast (ERROR 1846)."""
    major, minor, patch = server.version_tuple
    if server.flavor == "mariadb" and (major, minor) >= (10, 4):
        return "ALGORITHM=INSTANT", "MariaDB 10.4+ drops a column instantly (metadata only, no rebuild)."
    if server.flavor == "mysql" and (major, minor, patch) == (8, 0, 29):
        return "ALGORITHM=INPLACE, LOCK=NONE", (
            "MySQL 8.0.29 has instant DROP COLUMN, but its redo format for instant ADD/DROP can corrupt "
            "data during crash recovery (PS-8291/8292/8303): online in-place rebuild instead.")
    if server.flavor == "mysql" and (major, minor, patch) >= (8, 0, 30):
        return "ALGORITHM=INSTANT", "MySQL 8.0.30+ drops a column instantly (metadata only, no rebuild)."
    return "ALGORITHM=INPLACE, LOCK=NONE", (
        f"{server.flavor} {major}.{minor}.{patch} has no instant DROP COLUMN: online in-place rebuild "
        "(concurrent reads and writes allowed; takes time on a big table).")


def build_drop_sql(schema: str, table: str, column: str, server: ServerInfo) -> str:
    for name, what in ((schema, "database name"), (table, "table name"), (column, "column name")):
        validate_identifier(name, what)
    clause, _ = algorithm_for(server)
    return (f"ALTER TABLE {quote_identifier(schema)}.{quote_identifier(table)} "
            f"DROP COLUMN {quote_identifier(column)}, {clause}")


def action_hash(sql: str, server_identity: str) -> str:
    """Binds an approval to this exact SQL on this exact server."""
    return hashlib.sha256(f"{server_identity}\n{sql}".encode()).hexdigest()


def plan_revert(diff: SchemaDiff, live_indexes: TableIndexes, baseline: TableSchema,
                server: ServerInfo) -> list[RevertPlan | Refusal]:
    """One RevertPlan or Refusal per drifted column, in the diff's order."""
    return [_plan_column(diff, column, live_indexes, baseline, server) for column in diff.drifted_columns()]


def _plan_column(diff: SchemaDiff, column: str, indexes: TableIndexes, baseline: TableSchema,
                 server: ServerInfo) -> RevertPlan | Refusal:
    kinds = {c.kind for c in diff.changes if c.column == column}

    def refuse(reason: str) -> Refusal:
        return Refusal(diff.schema, diff.table, column, reason)

    for name, what in ((diff.schema, "database name"), (diff.table, "table name"), (column, "column name")):
        try:
            validate_identifier(name, what)
        except UserInputError as exc:
            return refuse(str(exc))
    if "removed" in kinds:
        return refuse(f"`{column}` is in the baseline and was dropped: its data cannot be brought back "
                      "by DDL. Restore it from a backup with a reviewed migration, or accept the drift.")
    if baseline.column(column) is not None:
        return refuse(_baseline_refusal(column, kinds))
    live_col = next((c.after for c in diff.changes if c.column == column and c.after), None)
    uses = indexes.uses(column) + ([f"key {live_col.key}"] if live_col and live_col.key else [])
    if uses:
        return refuse(f"`{column}` is used by {', '.join(dict.fromkeys(uses))}: dropping it would change "
                      "or break that; a person must drop the index/key first with a reviewed migration.")
    sql = build_drop_sql(diff.schema, diff.table, column, server)
    return RevertPlan(diff.schema, diff.table, column, sql, action_hash(sql, server.identity),
                      algorithm_for(server)[1])


def _baseline_refusal(column: str, kinds: set[str]) -> str:
    if "type" in kinds:
        return (f"`{column}` is a baseline column whose type changed: changing it back can truncate or "
                "reject data. A person must write and review that migration, or accept the drift.")
    return (f"`{column}` is a baseline column ({', '.join(sorted(kinds))} changed): only columns the "
            "baseline lacks are dropped automatically. Fix it with a reviewed migration, "
            "or accept the drift.")


def plan_for_column(conn: Conn, schema: str, table: str, column: str,
                    baseline: TableSchema | None) -> RevertPlan | Refusal:
    """`/dataflow run revert-column db.t col`: validate, check existence, then plan that one column."""
    validate_identifier(schema, "database name")
    validate_identifier(table, "table name")
    validate_identifier(column, "column name")
    if not table_exists(conn, schema, table):
        raise NotFoundError(f"no such table {schema}.{table}")
    live = read_table(conn, schema, table)
    if live is None or live.column(column) is None:
        raise NotFoundError(f"no such column {column} in {schema}.{table}")
    if baseline is None:
        return Refusal(schema, table, column, f"no baseline for {schema}.{table}: take a snapshot or add a "
                                              "contract first, so we know the column is drift")
    diff = diff_schemas(baseline, live)
    found = [p for p in plan_revert(diff, read_indexes(conn, schema, table),
                                    baseline, server_info(conn)) if p.column == column]
    if not found:
        return Refusal(schema, table, column, f"`{column}` matches the baseline of {schema}.{table}: "
                                              "nothing to revert")
    return found[0]


@dataclass
class PrecheckResult:
    ok: bool
    reasons: list[str]
    column_exists: bool
    row_estimate: int | None
    blocking_transactions: list[dict[str, Any]] = field(default_factory=list)
    sql: str = ""


@dataclass
class ExecutionResult:
    ok: bool
    executed: bool
    reason: str
    sql: str
    duration_s: float | None = None
    precheck: PrecheckResult | None = None


# Every open transaction but ours: an idle one shows no query yet may hold the table's metadata lock,
# which the ALTER must wait for while new queries queue behind it (the classic pile-up).
_ER_SPECIFIC_ACCESS_DENIED = 1227   # "you need (at least one of) the PROCESS privilege(s)"
# InnoDB serves INNODB_TRX from a cache refreshed at most every 0.1 s: a transaction opened in the last
# 0.1 s may not show. The ALTER's lock_wait_timeout bounds what such a one can make it wait.
_TRX_SQL = (
    "SELECT t.trx_mysql_thread_id AS thread_id, t.trx_state AS state, "
    "TIMESTAMPDIFF(SECOND, t.trx_started, NOW()) AS age_s, p.USER AS user, p.HOST AS host, "
    "COALESCE(t.trx_query, p.INFO) AS query, t.trx_tables_locked AS tables_locked "
    "FROM information_schema.INNODB_TRX t LEFT JOIN information_schema.PROCESSLIST p "
    "ON p.ID = t.trx_mysql_thread_id WHERE t.trx_mysql_thread_id <> CONNECTION_ID()"
)


def precheck(conn: Conn, plan: RevertPlan, max_trx_age_s: float = 30) -> PrecheckResult:
    """Checks run at approval time and again right before execution; ok only if all pass."""
    live = read_table(conn, plan.schema, plan.table)
    exists = live is not None and live.column(plan.column) is not None
    reasons = [] if exists else [f"`{plan.column}` no longer exists in {plan.schema}.{plan.table}"]
    if exists:
        uses = read_indexes(conn, plan.schema, plan.table).uses(plan.column)
        reasons += [f"`{plan.column}` is now used by {u}" for u in uses]
    with conn.cursor(pymysql.cursors.DictCursor) as cur:
        cur.execute("SELECT TABLE_ROWS AS table_rows FROM information_schema.TABLES "
                    "WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s", (plan.schema, plan.table))
        row = cur.fetchone()
        trx, unseen = _open_transactions(cur, plan)
    reasons += [unseen] if unseen else []
    # Older than N s counts whatever its query: an idle transaction shows none, yet may hold the lock.
    blocking = [t for t in trx if t["age_s"] >= max_trx_age_s]
    reasons += [f"transaction of thread {t['thread_id']} ({t['user']}) open {t['age_s']} s"
                f"{', on this table' if t['names_table'] else ''}: the ALTER would wait for it"
                for t in blocking]
    rows = row["table_rows"] if row else None
    return PrecheckResult(not reasons, reasons, exists, int(rows) if rows is not None else None,
                          blocking, plan.sql)


def _open_transactions(cur: Any, plan: RevertPlan) -> tuple[list[dict[str, Any]], str | None]:
    """Other sessions' open transactions, or why they cannot be seen. Unseen is a refusal, not a pass:
    the guard exists because one idle transaction can make the ALTER pile up every query behind it."""
    try:
        cur.execute(_TRX_SQL)
    except pymysql.err.OperationalError as exc:
        if exc.args and exc.args[0] == _ER_SPECIFIC_ACCESS_DENIED:
            return [], ("the bot's MySQL user cannot see other sessions' transactions (it lacks the PROCESS "
                        "privilege), so it cannot tell whether the ALTER would wait behind one: "
                        "`GRANT PROCESS ON *.* TO` that user, then retry")
        raise
    return [_trx_row(r, plan) for r in cur.fetchall()], None


def _trx_row(row: dict[str, Any], plan: RevertPlan) -> dict[str, Any]:
    query = str(row.get("query") or "")
    names = plan.table.lower() in query.lower()
    return {"thread_id": int(row["thread_id"]), "state": row["state"], "age_s": int(row["age_s"] or 0),
            "user": row["user"], "host": row["host"], "query": query[:200], "names_table": names}


def execute_revert(url_or_conn: str | Conn, plan: RevertPlan, expected_hash: str,
                   lock_wait_timeout: int = 5, max_trx_age_s: float = 30) -> ExecutionResult:
    """Run an approved plan, unless anything about it or the world changed since approval."""
    conn = connect(url_or_conn, query_timeout=DDL_TIMEOUT_SECONDS) if isinstance(url_or_conn, str) else url_or_conn
    try:
        return _execute(conn, plan, expected_hash, lock_wait_timeout, max_trx_age_s)
    finally:
        if isinstance(url_or_conn, str):
            conn.close()


def _execute(conn: Conn, plan: RevertPlan, expected_hash: str, lock_wait: int,
             max_age: float) -> ExecutionResult:
    def refused(reason: str, check: PrecheckResult | None = None) -> ExecutionResult:
        return ExecutionResult(False, False, reason, plan.sql, precheck=check)

    try:
        server = server_info(conn)
        sql = build_drop_sql(plan.schema, plan.table, plan.column, server)
    except UserInputError as exc:
        return refused(str(exc))
    if sql != plan.sql or action_hash(sql, server.identity) != expected_hash:
        return refused("refused: the SQL or the server differs from what was approved; "
                       "plan and approve again")
    check = precheck(conn, plan, max_age)
    if not check.ok:
        return refused("refused by the pre-check: " + "; ".join(check.reasons), check)
    started = time.monotonic()
    try:
        with conn.cursor() as cur:
            cur.execute(f"SET SESSION lock_wait_timeout = {int(lock_wait)}")
            cur.execute(sql)
    except pymysql.err.MySQLError as exc:
        code, text = (*exc.args, "", "")[:2]
        return ExecutionResult(False, True, f"the ALTER failed: error {code}: {text}", sql, precheck=check)
    live = read_table(conn, plan.schema, plan.table)
    gone = live is not None and live.column(plan.column) is None
    reason = "column dropped" if gone else "the ALTER returned but the column is still there"
    return ExecutionResult(gone, True, reason, sql, time.monotonic() - started, check)
