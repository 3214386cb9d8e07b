"""Would restarting a FAILED connector only fail again? After a DDL statement: from its resume position
(Connect's offsets), its config, the table and the binlog ahead of that position. After its schema history
went missing: from its snapshot mode.

Observed on the real stack (MariaDB 10.11, Debezium 3.0.7) after `ALTER TABLE ... ADD SYSTEM VERSIONING`:
the committed offset stays *before* the statement, so every restart re-reads it and fails the same way,
also after DROP SYSTEM VERSIONING; with schema.history.internal.skip.unparseable.ddl=true the statement is
skipped, but rows written while the table was versioned fail the task on the row size; only a position
past both (a new snapshot: stop, delete offsets, resume) gets it RUNNING.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pymysql

from bot.clients.connect import ConnectClient
from bot.clients.mysql import connect
from bot.debezium import BinlogEvent, ReplayRisk, TraceDiagnosis, replay_risk

BINLOG_PAGE = 500
BINLOG_BUDGET = 20000  # events read ahead of a connector's position, at most
WRONG_OFFSET = 1220    # SHOW BINLOG EVENTS FROM a position that is not an event's start


def ddl_restart_blockers(client: ConnectClient, mysql_url: str, name: str, diagnosis: TraceDiagnosis,
                         statement: str | None) -> list[str]:
    """Why restarting connector `name`, FAILED on a DDL statement, would fail again (empty: it would not)."""
    skips = client.info(name).config.skips_unparseable_ddl
    if diagnosis.kind == "history_ddl_unparseable":   # replayed at every start: the binlog does not matter
        return restart_blockers(diagnosis, skips, versioned=False, risk=None, position=None)
    position = client.binlog_position(name)
    table = diagnosis.table
    conn = connect(mysql_url)
    try:
        versioned = _system_versioned(conn, table) if table else False
        risk = _replay_risk(conn, position, statement, table, versioned) if statement else None
    finally:
        conn.close()
    return restart_blockers(diagnosis, skips, versioned, risk, position)


def history_restart_blockers(client: ConnectClient, name: str) -> list[str]:
    """Why restarting connector `name`, FAILED on a missing schema history, would fail again."""
    config = client.info(name).config
    return history_blockers(config.rebuilds_missing_history, config.snapshot_mode)


def history_blockers(rebuilds: bool, snapshot_mode: str | None) -> list[str]:
    """Observed on the real stack (Debezium 3.0.7): a task with stored offsets and no schema history fails
    every start with "The db history topic is missing" unless its snapshot mode rebuilds the history."""
    if rebuilds:
        return []
    return [f"its schema history is missing and `snapshot.mode` is `{snapshot_mode or 'initial'}`: every start "
            "checks for the history and fails the same way until it rebuilds it (`snapshot.mode=recovery`) "
            "or the connector's offsets are gone (a new snapshot)."]


def restart_blockers(diagnosis: TraceDiagnosis, skips: bool, versioned: bool, risk: ReplayRisk | None,
                     position: tuple[str, int] | None) -> list[str]:
    """Why a restart after a DDL parse failure would fail again (empty: it would not). `risk` None means
    the binlog ahead of the connector could not be read: the statement is then taken as still ahead."""
    if diagnosis.kind == "history_ddl_unparseable":
        return [] if skips else ["the statement is stored in its schema history, which every start replays, and "
                                 "`schema.history.internal.skip.unparseable.ddl` is not `true`."]
    table = diagnosis.table or "the table"
    reasons = []
    if versioned:
        reasons.append(f"`{table}` is still SYSTEM VERSIONED: its rows carry hidden columns Debezium's "
                       "schema does not have.")
    if (risk is None or risk.statement_ahead) and not skips:
        at = risk.statement_at if risk else None
        where = f" (at `{at.log_file}:{at.pos}`, the connector resumes from `{position[0]}:{position[1]}`)" \
            if at and position else ""
        reasons.append(f"the statement it cannot parse is still ahead of the connector's binlog position{where}, "
                       "and `schema.history.internal.skip.unparseable.ddl` is not `true`: the restart reads "
                       "it again.")
    if risk is not None and risk.versioned_row_events:
        reasons.append(f"{risk.versioned_row_events} row event(s) of `{table}` written while it was SYSTEM "
                       "VERSIONED are ahead of the connector's position: they fail it on the row size.")
    return reasons


def _system_versioned(conn: pymysql.Connection[Any], table: str) -> bool:
    db, _, name = table.partition(".")
    with conn.cursor() as cur:
        cur.execute("SELECT TABLE_TYPE FROM information_schema.TABLES WHERE TABLE_SCHEMA=%s AND TABLE_NAME=%s",
                    (db, name))
        row = cur.fetchone()
    return bool(row) and str(row[0]).upper() == "SYSTEM VERSIONED"


def _replay_risk(conn: pymysql.Connection[Any], position: tuple[str, int] | None, statement: str,
                 table: str | None, versioned_now: bool) -> ReplayRisk | None:
    """None when the position or the binlog is unknown: the caller assumes the statement is ahead (Debezium
    keeps its position before a statement it failed on)."""
    if position is None:
        return None
    try:
        events = events_from(conn, *position)
    except pymysql.MySQLError:
        return None
    return replay_risk(events, statement, table, versioned_now) if events is not None else None


@dataclass
class BinlogBudget:
    """Events still allowed to be read, over all files; `exhausted` once a read was cut short."""

    left: int
    exhausted: bool = False


def events_from(conn: pymysql.Connection[Any], log_file: str, pos: int,
                max_events: int = BINLOG_BUDGET) -> list[BinlogEvent] | None:
    """SHOW BINLOG EVENTS from the position to the end (this file, then the newer ones); None when more
    than max_events lie ahead, since what lies beyond them is unknown."""
    budget = BinlogBudget(max_events)
    with conn.cursor() as cur:
        cur.execute("SHOW BINARY LOGS")
        files = [str(r[0]) for r in cur.fetchall()]
        later = files[files.index(log_file):] if log_file in files else files
        events: list[BinlogEvent] = []
        for name in later:
            events += _file_events(cur, name, pos if name == log_file else 4, budget)
    return None if budget.exhausted else events


def _file_events(cur: Any, log_file: str, start: int, budget: BinlogBudget) -> list[BinlogEvent]:
    """Pages of one file from `start`. Debezium's offset is an event's start; when it is not (error 1220,
    "Wrong offset"), the file is read from its beginning and filtered."""
    try:
        return _pages(cur, log_file, start, start, budget)
    except pymysql.MySQLError as exc:
        if not exc.args or exc.args[0] != WRONG_OFFSET:
            raise
    return _pages(cur, log_file, 4, start, budget)


def _pages(cur: Any, log_file: str, pos: int, start: int, budget: BinlogBudget) -> list[BinlogEvent]:
    events: list[BinlogEvent] = []
    while True:
        if budget.left <= 0:
            budget.exhausted = True
            return events
        limit = min(BINLOG_PAGE, budget.left)
        cur.execute(f"SHOW BINLOG EVENTS IN %s FROM {int(pos)} LIMIT {int(limit)}", (log_file,))
        rows = cur.fetchall()
        budget.left -= len(rows)
        events += [BinlogEvent(log_file, int(r[1]), str(r[2]), str(r[5])) for r in rows if int(r[1]) >= start]
        if len(rows) < limit:
            return events
        pos = int(rows[-1][4])
