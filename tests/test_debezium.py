"""The Debezium trace classifier against realistic traces (tests/fixtures/debezium/*.txt)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.clients.connect_models import CaptureConfig
from bot.debezium import (
    MAX_KEY_LINES,
    MAX_LINE,
    BinlogEvent,
    classify_trace,
    replay_risk,
    unparseable_statement,
)
from bot.runbooks.restart_safety import history_blockers, restart_blockers

FIXTURES = Path(__file__).parent / "fixtures" / "debezium"

# fixture file -> (kind, table, suggested step)
EXPECTED = {
    "schema_unknown": ("schema_unknown", "oltp.orders", "schema-diff"),
    "schema_unknown_log_3x": ("schema_unknown", "oltp.orders", "schema-diff"),
    "ddl_parse_failure": ("ddl_parse_failure", "oltp.orders", "schema-diff"),
    # Real traces of the local stack (MariaDB 10.11, Debezium 3.0.7): ADD SYSTEM VERSIONING while streaming;
    # the same statement replayed from the schema history at start; a versioned row after the DDL was skipped.
    "ddl_parse_failure_system_versioning": ("ddl_parse_failure", "oltp.orders", "schema-diff"),
    "history_ddl_unparseable": ("history_ddl_unparseable", "oltp.orders", "connect-logs"),
    "row_schema_mismatch_versioned": ("row_schema_mismatch", "orders", "schema-diff"),
    "history_missing": ("history_missing", None, "connect-logs"),
    "history_missing_1x": ("history_missing", None, "connect-logs"),
    "binlog_purged": ("binlog_purged", None, "connect-logs"),
    "binlog_purged_server_error": ("binlog_purged", None, "connect-logs"),
    "authentication": ("authentication", None, "connect-logs"),
    "row_schema_mismatch": ("row_schema_mismatch", "orders", "schema-diff"),
    "other": ("other", None, "connect-logs"),
}


def load(name: str) -> str:
    return (FIXTURES / f"{name}.txt").read_text()


def test_every_fixture_has_an_expectation() -> None:
    assert {p.stem for p in FIXTURES.glob("*.txt")} == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_classified(name: str) -> None:
    kind, table, step = EXPECTED[name]
    diagnosis = classify_trace(load(name))
    assert (diagnosis.kind, diagnosis.table, diagnosis.suggested_step) == (kind, table, step)
    assert diagnosis.title and "\n" not in diagnosis.title
    assert diagnosis.advice.endswith(".")


@pytest.mark.parametrize("trace", [None, "", "  \n"])
def test_no_trace_is_none(trace: str | None) -> None:
    diagnosis = classify_trace(trace)
    assert diagnosis.kind == "none"
    assert diagnosis.key_lines == []


def test_key_lines_are_exception_and_causes_without_frames() -> None:
    diagnosis = classify_trace(load("schema_unknown"))
    assert diagnosis.key_lines == [
        "org.apache.kafka.connect.errors.ConnectException: An exception occurred in the change event "
        "producer. This connector will be stopped.",
        "Caused by: io.debezium.DebeziumException: Error processing binlog event",
        "Caused by: io.debezium.DebeziumException: Encountered change event for table oltp.orders whose "
        "schema isn't known to this connector",
    ]


def test_key_lines_deduplicated_and_capped() -> None:
    causes = "".join(f"Caused by: java.lang.IllegalStateException: layer {i % 20}\n\tat x.Y.z(Y.java:1)\n"
                     for i in range(40))
    diagnosis = classify_trace("java.lang.RuntimeException: top\n" + causes)
    assert len(diagnosis.key_lines) == MAX_KEY_LINES
    assert len(set(diagnosis.key_lines)) == MAX_KEY_LINES
    assert not any(line.startswith("\tat") or line.startswith("at ") for line in diagnosis.key_lines)


def test_deepest_cause_wins() -> None:
    # The outer message mentions a purged binlog; the root cause is an authentication failure.
    trace = ("org.apache.kafka.connect.errors.ConnectException: binlog is no longer available on the server\n"
             "Caused by: java.sql.SQLException: Access denied for user 'debezium'@'%' (using password: YES)")
    assert classify_trace(trace).kind == "authentication"


def test_ddl_parse_failure_keeps_no_frames_but_reads_the_antlr_line() -> None:
    diagnosis = classify_trace(load("ddl_parse_failure"))
    assert diagnosis.title == "Debezium could not parse a DDL statement on oltp.orders"
    assert all("ParsingErrorListener" not in line for line in diagnosis.key_lines)


def test_phrasings_across_versions() -> None:
    older_history = ("io.debezium.DebeziumException: The db history topic is missing. You may attempt to "
                     "recover it by reconfiguring the connector to SCHEMA_ONLY_RECOVERY")
    purged_typo = ("io.debezium.DebeziumException: The connector is trying to read binlog starting at "
                   "SourceInfo [currentBinlogFilename=mysql-bin.000054], but this no longer avallable")
    privileges = ("io.debezium.DebeziumException: Access denied; you need (at least one of) the "
                  "REPLICATION SLAVE privilege(s) for this operation")
    assert classify_trace(older_history).kind == "history_missing"
    assert classify_trace(purged_typo).kind == "binlog_purged"
    assert classify_trace(privileges).kind == "authentication"


def test_other_title_names_the_root_cause() -> None:
    diagnosis = classify_trace(load("other"))
    assert diagnosis.title.startswith("Connector failed: RecordTooLargeException: The message is 1574902")


def test_secrets_in_traces_are_redacted() -> None:
    trace = ("org.apache.kafka.connect.errors.ConnectException: cannot open jdbc:mysql://debezium:s3cr3tPw@mysql:3306/\n"
             "Caused by: java.lang.IllegalStateException: config database.password=s3cr3tPw rejected\n")
    diagnosis = classify_trace(trace)
    assert diagnosis.kind == "other"
    assert "s3cr3tPw" not in " ".join(diagnosis.key_lines) + diagnosis.title


def test_log_excerpt_without_exception_keeps_its_first_line() -> None:
    diagnosis = classify_trace(load("schema_unknown_log_3x"))
    assert len(diagnosis.key_lines) == 1
    assert "Encountered change event" in diagnosis.key_lines[0]
    assert len(diagnosis.key_lines[0]) <= MAX_LINE


# -- after a DDL parse failure ------------------------------------------------------------------------------
ADD = "ALTER TABLE oltp.orders ADD SYSTEM VERSIONING"


def binlog(*rows: tuple[int, str, str]) -> list[BinlogEvent]:
    return [BinlogEvent("mysql-bin.000001", pos, kind, info) for pos, kind, info in rows]


# SHOW BINLOG EVENTS on the real stack from the connector's committed offset (4284) after the failure.
AHEAD = binlog((4284, "Gtid", "GTID 0-1-18"), (4326, "Query", ADD), (4455, "Gtid", "BEGIN GTID 0-1-19"),
               (4497, "Annotate_rows", "INSERT INTO oltp.orders (customer_id, amount) VALUES (1001, 9.99)"),
               (4585, "Table_map", "table_id: 27 (oltp.orders)"), (4653, "Write_rows_v1", "table_id: 27 flags: STMT_END_F"),
               (4745, "Xid", "COMMIT /* xid=78 */"), (4776, "Gtid", "GTID 0-1-20"),
               (4818, "Query", "ALTER TABLE oltp.orders DROP SYSTEM VERSIONING"),
               (4978, "Table_map", "table_id: 28 (oltp.orders)"), (5066, "Write_rows_v1", "table_id: 28"))


def test_the_statement_is_read_out_of_both_parse_failures() -> None:
    assert unparseable_statement(load("ddl_parse_failure_system_versioning")) == ADD
    assert unparseable_statement(load("history_ddl_unparseable")) == ADD
    assert unparseable_statement(load("authentication")) is None
    assert unparseable_statement(None) is None


def test_both_parse_failures_say_the_statement_was_unparseable_and_what_a_restart_does() -> None:
    streaming, history = classify_trace(load("ddl_parse_failure_system_versioning")), classify_trace(
        load("history_ddl_unparseable"))
    assert streaming.statement_unparseable and history.statement_unparseable
    assert "a plain restart reads it again" in streaming.advice and "DELETE /offsets" in streaming.advice
    assert "Every start replays the history" in history.advice
    assert not classify_trace(load("row_schema_mismatch_versioned")).statement_unparseable


def test_statement_and_the_rows_written_while_versioned_are_ahead_of_the_position() -> None:
    risk = replay_risk(AHEAD, ADD, "oltp.orders")
    assert risk.statement_ahead and risk.statement_at is not None and risk.statement_at.pos == 4326
    assert risk.versioned_row_events == 1     # the row at 4585; the one after the DROP is not counted


def test_use_prefix_and_spacing_do_not_hide_the_statement() -> None:
    events = binlog((10, "Query", "use `oltp`; ALTER TABLE  oltp.orders ADD SYSTEM VERSIONING"))
    assert replay_risk(events, ADD, "oltp.orders").statement_ahead


def test_a_position_past_the_statement_still_counts_the_versioned_rows() -> None:
    # With skip.unparseable.ddl the connector stepped over the ALTER and failed on the next row (4653).
    past = [e for e in AHEAD if e.pos >= 4455]
    risk = replay_risk(past, ADD, "oltp.orders")
    assert not risk.statement_ahead and risk.versioned_row_events == 1


def test_rows_written_while_the_table_is_still_versioned_count() -> None:
    still = [e for e in AHEAD if e.pos < 4776]   # no DROP yet: the table is versioned now
    assert replay_risk(still, ADD, "oltp.orders", versioned_now=True).versioned_row_events == 1
    assert replay_risk([e for e in AHEAD if e.pos > 4818], ADD, "oltp.orders", versioned_now=True
                       ).versioned_row_events == 1


def test_rows_of_other_tables_and_positions_after_the_drop_are_no_risk() -> None:
    assert replay_risk([e for e in AHEAD if e.pos > 4818], ADD, "oltp.orders").versioned_row_events == 0
    other = binlog((1, "Query", ADD), (2, "Table_map", "table_id: 9 (oltp.customers)"))
    assert replay_risk(other, ADD, "oltp.orders").versioned_row_events == 0
    assert replay_risk([], ADD, "oltp.orders") == replay_risk([], ADD, "oltp.orders")


# -- the restart pre-check's reasons (bot/runbooks/restart_safety.py) ----------------------------------------------
def reasons(trace: str, skips: bool = False, versioned: bool = False, ahead: list[BinlogEvent] | None = None,
            versioned_now: bool = False) -> list[str]:
    risk = None if ahead is None else replay_risk(ahead, ADD, "oltp.orders", versioned_now)
    return restart_blockers(classify_trace(load(trace)), skips, versioned, risk, ("mysql-bin.000001", 4284))


def test_restart_refused_while_the_table_is_versioned_and_the_statement_ahead() -> None:
    found = reasons("ddl_parse_failure_system_versioning", versioned=True, ahead=AHEAD[:9], versioned_now=True)
    assert len(found) == 3
    assert "still SYSTEM VERSIONED" in found[0]
    assert "`mysql-bin.000001:4326`, the connector resumes from `mysql-bin.000001:4284`" in found[1]
    assert "1 row event(s)" in found[2]


def test_dropping_the_versioning_alone_does_not_clear_the_restart() -> None:
    found = reasons("ddl_parse_failure_system_versioning", ahead=AHEAD)
    assert [r.split(" ")[1] for r in found] == ["statement", "row"]


def test_skipping_the_statement_still_leaves_the_versioned_rows() -> None:
    found = reasons("ddl_parse_failure_system_versioning", skips=True, ahead=AHEAD)
    assert len(found) == 1 and "row event(s)" in found[0]


def test_restart_allowed_once_the_position_is_past_the_statement_and_its_rows() -> None:
    assert reasons("ddl_parse_failure_system_versioning", ahead=[e for e in AHEAD if e.pos > 4818]) == []


def test_an_unreadable_binlog_counts_as_the_statement_still_ahead() -> None:
    assert "still ahead" in reasons("ddl_parse_failure_system_versioning", ahead=None)[0]
    assert reasons("ddl_parse_failure_system_versioning", skips=True, ahead=None) == []


def test_a_statement_in_the_schema_history_needs_the_skip_option_whatever_the_binlog() -> None:
    assert "schema history" in reasons("history_ddl_unparseable", ahead=[])[0]
    assert reasons("history_ddl_unparseable", skips=True) == []


def test_a_row_size_mismatch_says_a_plain_restart_fails_again_and_how_to_get_past() -> None:
    # Observed on the real stack: an ALTER with sql_log_bin=0, then an INSERT: "internal schema size 7, but
    # row size 8"; a restart went RUNNING, then FAILED on the next row; stop + delete offsets + resume did it.
    advice = classify_trace(load("row_schema_mismatch")).advice
    assert "fails again" in advice and "DELETE /offsets" in advice


def test_a_row_size_mismatch_says_a_restart_skips_the_row_it_failed_on() -> None:
    # Observed on the real stack: one such row, the column dropped again, a restart: RUNNING, and the row never
    # reached the topic (tests/realstack/test_history_and_skips.py); with two rows it failed on the second.
    diagnosis = classify_trace(load("row_schema_mismatch"))
    assert "resumes *past* the row it failed on" in diagnosis.advice and "skipped" in diagnosis.advice
    assert diagnosis.on_change_event and not diagnosis.history_missing


def test_a_missing_history_blocks_a_restart_until_the_snapshot_mode_rebuilds_it() -> None:
    diagnosis = classify_trace(load("history_missing"))
    assert diagnosis.history_missing and not diagnosis.on_change_event
    assert "a plain restart fails the same way" in diagnosis.advice and "snapshot.mode=recovery" in diagnosis.advice
    refused = history_blockers(rebuilds=False, snapshot_mode=None)
    assert len(refused) == 1 and "`snapshot.mode` is `initial`" in refused[0]
    assert "`snapshot.mode` is `never`" in history_blockers(False, "never")[0]
    assert history_blockers(rebuilds=True, snapshot_mode="recovery") == []


@pytest.mark.parametrize(("mode", "rebuilds"), [("recovery", True), (" Recovery ", True), ("when_needed", True),
                                                ("schema_only_recovery", True), ("initial", False), (None, False)])
def test_which_snapshot_modes_rebuild_a_missing_history(mode: str | None, rebuilds: bool) -> None:
    config = CaptureConfig.model_validate({"snapshot.mode": mode} if mode is not None else {})
    assert config.rebuilds_missing_history is rebuilds
