"""DDL forensics: which ALTER/CREATE/DROP/RENAME/TRUNCATE touched a table, from the binlog.

Statements come from `SHOW BINLOG EVENTS` (always with LIMIT, newest file first, at most `max_events`
events read). That command has no time column, so each matching event's time comes from the client
tool `mariadb-binlog`/`mysqlbinlog --read-from-remote-server --start-position --stop-position`, which
prints the event's `SET TIMESTAMP=<epoch>` (the statement's own time, UTC epoch). It talks the
replication protocol over the network, so it works for remote servers too. If no tool is on PATH or it
fails, the event's time is None ("time unknown"): never guessed from file order. A DDL whose time is
unknown is kept even when a time window is given, since it cannot be excluded honestly.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pymysql

PAGE = 1000
MAX_TIMED = 50  # one tool run per DDL found: bounded
_USE_PREFIX = re.compile(r"^\s*use\s+`((?:[^`]|``)+)`\s*;\s*", re.I)
_XID_SUFFIX = re.compile(r"\s*/\*\s*xid=\d+\s*\*/\s*$", re.I)
_NAME = r"(?:`(?:[^`]|``)+`|[A-Za-z0-9_$]+)"
_TARGET = re.compile(
    rf"^\s*(?:alter\s+(?:online\s+|ignore\s+)*table|create\s+(?:or\s+replace\s+)?(?:temporary\s+)?table|"
    rf"drop\s+(?:temporary\s+)?table|rename\s+table|truncate(?:\s+table)?)\s+(?:if\s+(?:not\s+)?exists\s+)?"
    rf"(?P<names>{_NAME}(?:\s*\.\s*{_NAME})?(?:\s*(?:,|\bto\b)\s*{_NAME}(?:\s*\.\s*{_NAME})?)*)", re.I)
_QUALIFIED = re.compile(rf"({_NAME})(?:\s*\.\s*({_NAME}))?")
_TIMESTAMP = re.compile(r"SET TIMESTAMP=(\d+(?:\.\d+)?)")


@dataclass(frozen=True)
class DdlEvent:
    statement: str
    time: datetime | None
    log_file: str
    position: int
    end_position: int
    server_id: int
    gtid: str | None


@dataclass
class ForensicsResult:
    available: bool
    reason: str = ""
    statements: list[DdlEvent] = field(default_factory=list)
    events_read: int = 0
    truncated: bool = False  # the event budget ran out before the oldest file was read


def clean_statement(info: str) -> tuple[str | None, str]:
    """(default db from `use`, statement without the `use` prefix and a trailing /* xid=N */)."""
    match = _USE_PREFIX.match(info)
    db = match.group(1).replace("``", "`") if match else None
    return db, _XID_SUFFIX.sub("", info[match.end():] if match else info).strip()


def targets_table(statement: str, default_db: str | None, schema: str, table: str) -> bool:
    """True when a table DDL names schema.table (qualified, or unqualified under `use schema`)."""
    match = _TARGET.match(statement)
    if not match:
        return False
    for qualified in _QUALIFIED.finditer(match.group("names")):
        first, second = _unquote(qualified.group(1)), qualified.group(2)
        db, name = (first, _unquote(second)) if second else (default_db, first)
        if db == schema and name == table:
            return True
    return False


def _unquote(name: str) -> str:
    return name[1:-1].replace("``", "`") if name.startswith("`") else name


def gtid_of(info: str) -> str | None:
    """MariaDB 'GTID 0-1-3' / 'BEGIN GTID 0-1-4'; MySQL "SET @@SESSION.GTID_NEXT= 'uuid:n'"."""
    maria = re.search(r"GTID\s+(\d+-\d+-\d+)", info)
    if maria:
        return maria.group(1)
    mysql = re.search(r"GTID_NEXT\s*=\s*'([^']+)'", info)
    return mysql.group(1) if mysql and mysql.group(1) != "ANONYMOUS" else None


def find_ddl(conn: pymysql.Connection[Any], schema: str, table: str, since: datetime | None = None,
             until: datetime | None = None, max_events: int = 20000) -> ForensicsResult:
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT @@log_bin")
            row = cur.fetchone()
            if not row or str(row[0]).upper() not in ("1", "ON"):
                return ForensicsResult(False, "binary logging is off on this server (log_bin=OFF)")
            cur.execute("SHOW BINARY LOGS")
            files = [str(r[0]) for r in cur.fetchall()]
            result = _walk(cur, files, schema, table, max_events)
    except pymysql.err.MySQLError as exc:
        return ForensicsResult(False, _privilege_reason(conn, exc))
    timed = [_with_time(conn, e) if i < MAX_TIMED else e for i, e in enumerate(result.statements)]
    result.statements = [e for e in timed if _in_window(e.time, since, until)]
    return result


def _walk(cur: Any, files: list[str], schema: str, table: str, budget: int) -> ForensicsResult:
    """Newest file first; within a file, pages of PAGE events from the previous end position."""
    result = ForensicsResult(True)
    for log_file in reversed(files):
        found: list[DdlEvent] = []
        gtid: str | None = None
        pos = 4
        while result.events_read < budget:
            limit = min(PAGE, budget - result.events_read)
            cur.execute(f"SHOW BINLOG EVENTS IN %s FROM {int(pos)} LIMIT {int(limit)}", (log_file,))
            rows = cur.fetchall()
            result.events_read += len(rows)
            for _, event_pos, kind, server_id, end_pos, info in rows:
                gtid = gtid_of(str(info)) if "Gtid" in str(kind) else gtid
                event = _ddl(str(kind), str(info), log_file, int(event_pos), int(end_pos), int(server_id),
                             gtid, schema, table)
                found += [event] if event else []
            if len(rows) < limit:
                break
            pos = int(rows[-1][4])
        result.statements = found + result.statements  # keep oldest -> newest overall
        if result.events_read >= budget:
            result.truncated = True
            break
    return result


def _ddl(kind: str, info: str, log_file: str, pos: int, end: int, server_id: int, gtid: str | None,
         schema: str, table: str) -> DdlEvent | None:
    if kind != "Query" or info.strip().upper() in ("BEGIN", "COMMIT"):
        return None
    db, statement = clean_statement(info)
    if not targets_table(statement, db, schema, table):
        return None
    return DdlEvent(statement, None, log_file, pos, end, server_id, gtid)


def _privilege_reason(conn: pymysql.Connection[Any], exc: pymysql.err.MySQLError) -> str:
    code = exc.args[0] if exc.args else 0
    if code in (1227, 1045, 1142, 1044):
        flavor = "mariadb" if "mariadb" in str(conn.get_server_info()).lower() else "mysql"
        needed = "BINLOG MONITOR" if flavor == "mariadb" else "REPLICATION SLAVE"
        return f"no privilege: SHOW BINLOG EVENTS needs {needed}"
    return f"binlog not readable: error {code}: {exc.args[1] if len(exc.args) > 1 else exc}"


def _in_window(time: datetime | None, since: datetime | None, until: datetime | None) -> bool:
    if time is None:
        return True
    return (since is None or time >= _utc(since)) and (until is None or time <= _utc(until))


def _utc(moment: datetime) -> datetime:
    """Naive datetimes are taken as UTC (the bot's convention), so comparing never raises."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def binlog_tool() -> str | None:
    return shutil.which("mariadb-binlog") or shutil.which("mysqlbinlog")


def _with_time(conn: pymysql.Connection[Any], event: DdlEvent) -> DdlEvent:
    tool = binlog_tool()
    if tool is None:
        return event
    password = conn.password.decode() if isinstance(conn.password, bytes) else str(conn.password or "")
    args = [tool, "--read-from-remote-server", f"--host={conn.host}", f"--port={conn.port}",
            f"--user={conn.user.decode() if isinstance(conn.user, bytes) else conn.user}",
            f"--start-position={event.position}", f"--stop-position={event.end_position}", event.log_file]
    # MYSQL_PWD rather than --password: argv is visible to every user of the machine (ps).
    env = {**os.environ, "MYSQL_PWD": password}
    try:
        out = subprocess.run(args, capture_output=True, timeout=10, env=env, check=False).stdout
    except (OSError, subprocess.TimeoutExpired):
        return event
    match = _TIMESTAMP.search(out.decode("utf-8", "replace"))
    if not match:
        return event
    when = datetime.fromtimestamp(float(match.group(1)), UTC)
    return DdlEvent(event.statement, when, event.log_file, event.position, event.end_position,
                    event.server_id, event.gtid)


def format_forensics(result: ForensicsResult) -> str:
    """One line per DDL (time, file:pos, gtid, statement), or the single reason line."""
    if not result.available:
        return f"DDL forensics unavailable: {result.reason}"
    if not result.statements:
        more = f" (searched the newest {result.events_read} events only)" if result.truncated else ""
        return f"No DDL on this table found in the binlog{more}."
    lines = []
    for e in result.statements:
        when = e.time.strftime("%Y-%m-%d %H:%M:%S UTC") if e.time else "time unknown"
        gtid = f" gtid {e.gtid}" if e.gtid else ""
        lines.append(f"{when}  {e.log_file}:{e.position}{gtid}  {e.statement[:300]}")
    if result.truncated:
        lines.append(f"(searched the newest {result.events_read} events only; older DDL may exist)")
    return "\n".join(lines)
