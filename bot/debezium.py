"""Classify a Debezium / Kafka Connect task trace into a known failure kind (pure; reference §3.2).

Java prints the outermost exception first and each cause after it as "Caused by: ...", so the root
cause is the last one. Rules are tried on the deepest cause first: the Connect wrapper
("An exception occurred in the change event producer") says nothing about why.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from bot.redact import redact

TraceKind = Literal["schema_unknown", "ddl_parse_failure", "history_ddl_unparseable", "history_missing",
                    "binlog_purged", "authentication", "row_schema_mismatch", "other", "none"]

MAX_KEY_LINES = 8
MAX_LINE = 300

# A Java exception header: a dotted class name, then ": message" or nothing.
_HEADER = re.compile(r"^(?:Caused by: )?(?P<cls>[A-Za-z_$][\w$]*(?:\.[\w$]+)+)(?::\s?(?P<msg>.*))?$")
_FRAME = re.compile(r"^\s*(?:at |\.\.\. \d+ more|Suppressed: )")
_IDENT = r"[`\"]?[\w$]+[`\"]?(?:\.[`\"]?[\w$]+[`\"]?)?"


@dataclass(frozen=True)
class TraceDiagnosis:
    kind: TraceKind
    title: str
    key_lines: list[str] = field(default_factory=list)
    table: str | None = None
    suggested_step: str = "connect-logs"
    advice: str = ""

    @property
    def on_change_event(self) -> bool:
        """The task failed on one change event. A restart may resume past it (observed on the real stack:
        RUNNING again, the event skipped), so RUNNING again does not mean nothing was lost."""
        return self.kind in ("row_schema_mismatch", "schema_unknown", "ddl_parse_failure")

    @property
    def history_missing(self) -> bool:
        """Every start fails on it until the history is rebuilt or the offsets are gone."""
        return self.kind == "history_missing"

    @property
    def statement_unparseable(self) -> bool:
        """Debezium's DDL parser rejected a statement, in the binlog or in its schema history."""
        return self.kind in ("ddl_parse_failure", "history_ddl_unparseable")


@dataclass(frozen=True)
class _Rule:
    kind: TraceKind
    pattern: re.Pattern[str]
    table: re.Pattern[str] | None
    title: str  # may use {table}
    step: str
    advice: str


_DDL_PARSE = _Rule(
    "ddl_parse_failure",
    re.compile(r"DDL statement couldn't be parsed|io\.debezium\.text\.ParsingException", re.I),
    re.compile(rf"\b(?:ALTER|CREATE|DROP|TRUNCATE|RENAME)\s+TABLE\s+(?:IF\s+(?:NOT\s+)?EXISTS\s+)?"
               rf"(?P<table>{_IDENT})", re.I),
    "Debezium could not parse a DDL statement on {table}", "schema-diff",
    "Debezium keeps its binlog position before the statement it cannot parse, so a plain restart reads it "
    "again and fails the same way, even after the table is changed back. Revert the DDL (e.g. DROP SYSTEM "
    "VERSIONING), then move the connector past it: a new snapshot (PUT /stop, DELETE /offsets, PUT /resume), "
    "or schema.history.internal.skip.unparseable.ddl=true when no rows were written in between (then keep "
    "it on: the statement is stored in the schema history and every later start replays it).")

_RULES: tuple[_Rule, ...] = (
    _Rule("binlog_purged",
          re.compile(r"no longer available on the server|trying to read binlog starting at .* but this "
                     r"(?:is )?no longer|Could not find first log file name in binary log"
                     r"|purged binary logs containing GTIDs", re.I | re.S),
          None, "The binlog position the connector needs has been purged from MySQL", "connect-logs",
          "Take a new snapshot (snapshot.mode=when_needed or a new connector) and keep binlogs longer than "
          "the longest connector outage."),
    _Rule("authentication",
          re.compile(r"Access denied for user|Access denied; you need|Error code: 1045\b"
                     r"|Public Key Retrieval is not allowed", re.I),
          None, "MySQL refused the connector's login or privileges", "connect-logs",
          "Check the connector's database user, its password (set through a config provider, never "
          "pasted in chat) and its REPLICATION SLAVE, REPLICATION CLIENT and SELECT grants."),
    _Rule("history_missing",
          re.compile(r"history topic (?:or its content )?is (?:fully or partially )?missing", re.I),
          None, "The schema history topic is missing or incomplete", "connect-logs",
          "The connector has offsets but its schema history is gone, and every start checks for it: a plain "
          "restart fails the same way. Rebuild the history from the tables with snapshot.mode=recovery "
          "(schema_only_recovery before Debezium 2.x; set it back afterwards), or take a new snapshot (PUT "
          "/stop, DELETE /offsets, PUT /resume); then keep the history for good (infinite retention, a "
          "durable broker or file)."),
    _Rule("row_schema_mismatch",
          re.compile(r"Error processing row in .*internal schema size", re.I),
          re.compile(rf"Error processing row in (?P<table>{_IDENT})", re.I),
          "Rows of {table} no longer match Debezium's schema model", "schema-diff",
          "The table's columns changed without Debezium seeing the DDL (run with sql_log_bin=0, on another "
          "server, or versioned rows): diff them against the baseline and revert or accept the drift. A plain "
          "restart resumes *past* the row it failed on, so RUNNING again means that change was skipped (it "
          "never reaches the topic), and it fails again on the next such row, also after the column was "
          "dropped again (both seen on the real stack). A new snapshot (PUT /stop, DELETE /offsets, "
          "PUT /resume) re-reads the table instead: no row is lost; deletes in between still are."),
    _Rule("schema_unknown",
          re.compile(r"whose schema isn't known to this connector", re.I),
          re.compile(rf"for table (?P<table>{_IDENT}) whose schema", re.I),
          "Debezium met a change event for {table} whose schema it does not know", "schema-diff",
          "Diff the table's live columns against the baseline, then revert the drift or accept it "
          "before restarting the connector."),
    _DDL_PARSE,
)

# The same ParsingException thrown while the task *starts* and replays its schema history (frames
# AbstractSchemaHistory.recover / KafkaSchemaHistory.recoverRecords), not while it streams the binlog.
# Observed on the real stack: a statement stored in the history while skip.unparseable.ddl was true fails
# every later start once the option is off; the binlog position does not matter then.
_HISTORY_RECOVERY = re.compile(r"^\s*at io\.debezium\.\S*SchemaHistory\.recover\w*\(", re.M)
_HISTORY_DDL = _Rule(
    "history_ddl_unparseable", _DDL_PARSE.pattern, _DDL_PARSE.table,
    "Debezium's schema history holds a DDL statement on {table} its parser rejects", "connect-logs",
    "Every start replays the history and fails on that statement, whatever the table looks like now; it "
    "was stored while schema.history.internal.skip.unparseable.ddl was true. Set that option back to true, "
    "or rebuild the history (a new schema.history.internal.kafka.topic and snapshot.mode=recovery).")

_NONE = TraceDiagnosis("none", "No failure trace", [], None, "connect-logs",
                       "The connector reported no error.")


def _is_header(line: str) -> bool:
    stripped = line.strip()
    return not _FRAME.match(line) and (stripped.startswith("Caused by:") or bool(_HEADER.match(stripped)))


def _causes(lines: list[str]) -> list[str]:
    """Each exception's class and message (with its continuation lines), outermost first."""
    causes: list[str] = []
    for line in lines:
        if _FRAME.match(line) or not line.strip():
            continue
        if _is_header(line):
            causes.append(line.strip().removeprefix("Caused by: "))
        elif causes:
            causes[-1] += "\n" + line.strip()  # e.g. the ANTLR message under a ParsingException
    return causes


def key_lines(trace: str) -> list[str]:
    """The exception line and each "Caused by:" line, de-duplicated, without frames, capped."""
    seen: list[str] = []
    for line in trace.splitlines():
        if not _is_header(line):
            continue
        text = redact(line.strip())[:MAX_LINE]
        if text not in seen:
            seen.append(text)
    if not seen:  # a log excerpt rather than a stack trace: its first line is the message
        first = next((line.strip() for line in trace.splitlines() if line.strip()), "")
        seen = [redact(first)[:MAX_LINE]] if first else []
    return seen[:MAX_KEY_LINES]


def _table(rule: _Rule, text: str) -> str | None:
    match = rule.table.search(text) if rule.table else None
    return match.group("table").replace("`", "").replace('"', "") if match else None


def _match(text: str) -> tuple[_Rule, str | None] | None:
    for rule in _RULES:
        if rule.pattern.search(text):
            return rule, _table(rule, text)
    return None


def _find(trace: str) -> tuple[_Rule, str | None] | None:
    # Deepest cause first; then the whole text, for log-line formats with no exception header.
    for cause in reversed(_causes(trace.splitlines())):
        found = _match(cause)
        if found:
            return found
    return _match(trace)


def _other_title(causes: list[str]) -> str:
    if not causes:
        return "The connector failed with an unrecognised error"
    root = causes[-1].splitlines()[0]
    header = _HEADER.match(root)
    if header:
        simple = header.group("cls").rsplit(".", 1)[-1]
        root = f"{simple}: {header.group('msg')}" if header.group("msg") else simple
    return redact(f"Connector failed: {root}")[:MAX_LINE]


def classify_trace(trace: str | None) -> TraceDiagnosis:
    """What went wrong, on which table, and which runbook step to take next."""
    if trace is None or not trace.strip():
        return _NONE
    lines = key_lines(trace)
    found = _find(trace)
    if found is None:
        return TraceDiagnosis("other", _other_title(_causes(trace.splitlines())), lines, None,
                              "connect-logs", "No known Debezium failure matched: read the connector "
                              "logs around the time of the failure.")
    rule, table = found
    if rule.kind == "ddl_parse_failure" and _HISTORY_RECOVERY.search(trace):
        rule = _HISTORY_DDL
    title = rule.title.format(table=table or "a table")
    return TraceDiagnosis(rule.kind, title, lines, table, rule.step, rule.advice)


# -- after a DDL parse failure: what a restart would read again ------------------------------------------
# Debezium quotes the statement: "... Please open a Jira issue with the statement 'ALTER TABLE ...'".
_STATEMENT = re.compile(r"DDL statement couldn't be parsed.*?with the statement '(?P<statement>.*)'\s*$", re.I | re.M)
_VERSIONING = re.compile(r"\b(?P<verb>ADD|DROP)\s+SYSTEM\s+VERSIONING\b", re.I)
_TABLE_MAP = re.compile(r"\((?P<table>[^()]+)\)\s*$")  # "table_id: 27 (oltp.orders)"


def unparseable_statement(trace: str | None) -> str | None:
    """The DDL statement a ParsingException quotes, or None."""
    match = _STATEMENT.search(trace or "")
    return match.group("statement").strip() if match else None


@dataclass(frozen=True)
class BinlogEvent:
    """One row of SHOW BINLOG EVENTS: what the bot needs of it."""

    log_file: str
    pos: int
    kind: str   # Query, Table_map, Write_rows_v1, ...
    info: str


@dataclass(frozen=True)
class ReplayRisk:
    """What lies ahead of a connector's position in the binlog, i.e. what a restart reads again."""

    statement_at: BinlogEvent | None   # the unparseable statement, when it is ahead
    versioned_row_events: int          # row events of the table written while it was SYSTEM VERSIONED

    @property
    def statement_ahead(self) -> bool:
        return self.statement_at is not None


def _same_statement(info: str, statement: str) -> bool:
    # SHOW BINLOG EVENTS may prefix "use `db`; "; compare without it and without spacing differences.
    squeeze = " ".join(info.split()).rstrip(";")
    return squeeze.endswith(" ".join(statement.split()).rstrip(";"))


def _names_table(text: str, table: str) -> bool:
    db, _, name = table.partition(".")
    bare = text.replace("`", "").replace('"', "")
    return table in bare or (bool(name) and re.search(rf"\b{re.escape(name)}\b", bare) is not None and db in bare)


def replay_risk(events: Iterable[BinlogEvent], statement: str, table: str | None,
                versioned_now: bool = False) -> ReplayRisk:
    """Scan the events from the connector's position on (oldest first). On MariaDB a SYSTEM VERSIONED
    table's row events carry the hidden ROW_START/ROW_END columns: Debezium, which skipped or never parsed
    the ALTER, fails on each of them ("internal schema size 7, but row size 9"), so they block a restart
    just as the statement itself does (observed on the real stack). Whether the table was versioned when a
    row was written is worked out backwards from `versioned_now`, the table as it is: before an ADD it was
    not, before a DROP it was."""
    ahead = list(events)
    found = next((e for e in ahead if e.kind == "Query" and _same_statement(e.info, statement)), None)
    versioned, rows = versioned_now, 0
    for event in reversed(ahead):
        change = _VERSIONING.search(event.info) if event.kind == "Query" else None
        if change and table and _names_table(event.info, table):
            versioned = change.group("verb").upper() == "DROP"
        elif event.kind == "Table_map" and versioned and table and _maps_table(event.info, table):
            rows += 1
    return ReplayRisk(found, rows)


def _maps_table(info: str, table: str) -> bool:
    mapped = _TABLE_MAP.search(info)
    return mapped is not None and mapped.group("table").replace("`", "") == table
