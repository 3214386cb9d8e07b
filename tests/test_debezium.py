"""The Debezium trace classifier against realistic traces (tests/fixtures/debezium/*.txt)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.debezium import MAX_KEY_LINES, MAX_LINE, classify_trace

FIXTURES = Path(__file__).parent / "fixtures" / "debezium"

# fixture file -> (kind, table, suggested step)
EXPECTED = {
    "schema_unknown": ("schema_unknown", "oltp.orders", "schema-diff"),
    "schema_unknown_log_3x": ("schema_unknown", "oltp.orders", "schema-diff"),
    "ddl_parse_failure": ("ddl_parse_failure", "oltp.orders", "schema-diff"),
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
