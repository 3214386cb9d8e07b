"""`/dataflow schema` and the drift watcher of `serve`, against the real bot, MariaDB and Redis."""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pymysql
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bot.sandbox.slack_emulator import SlackEmulator
from bot.schema.model import IDENTIFIER
from bot.schema.watcher import LOCK_KEY
from tests.e2e.commands_support import ask, ask_in_thread, gauge, open_incident
from tests.e2e.conftest import DriftTable
from tests.harness import BotProcess

ADD_COLUMN = "ALTER TABLE orders ADD COLUMN unexpected_field VARCHAR(64) NULL"
HOSTILE = st.one_of(
    st.sampled_from(["", "a`b", "o'rders", "a;b", "a b", "x`; DROP TABLE orders; --", "日本", "a\nb",
                     "a" * 65, "<!channel>", "orders)", "--", "INC-1"]),
    st.text(min_size=1, max_size=40).filter(lambda s: not IDENTIFIER.fullmatch(s)),
)


@pytest.fixture
def schema_bot(start_bot: Callable[..., BotProcess], drift_table: DriftTable) -> BotProcess:
    return start_bot(**drift_table.env)


def test_schema_shows_the_drift_in_the_incident_thread(schema_bot: BotProcess, slack: SlackEmulator,
                                                      drift_table: DriftTable) -> None:
    drift_table.alter(ADD_COLUMN)
    root = open_incident(slack, schema_bot.url, table=drift_table.table)
    reply = ask_in_thread(slack, "U0ALICE", f"schema {drift_table.table}", root)
    assert f"`{drift_table.table}` against its baseline (contract file v1" in reply
    assert "+ unexpected_field" in reply
    assert "binary logging is off" in reply or "ALTER TABLE" in reply


def test_schema_errors_are_clear_and_private(schema_bot: BotProcess, slack: SlackEmulator,
                                            drift_table: DriftTable) -> None:
    unknown = ask(slack, "U0ALICE", f"schema {drift_table.db}.nope")
    assert f"no such table {drift_table.db}.nope" in unknown and f"`{drift_table.table}`" in unknown
    assert "is not `db.table`" in ask(slack, "U0ALICE", "schema orders")
    assert "Use `baseline` or `accept`" in ask(slack, "U0ALICE", f"schema {drift_table.table} drop")
    diff = ask(slack, "U0ALICE", f"schema {drift_table.table}")
    assert "No open incident" in diff and "contract file v1" in diff


def test_baseline_and_accept_never_replace_an_existing_baseline(
        schema_bot: BotProcess, slack: SlackEmulator, drift_table: DriftTable, redis_client: Any) -> None:
    table = drift_table.table
    refused = ask(slack, "U0ALICE", f"schema {table} baseline")
    assert f"`{table}` already has a baseline: contract file v1" in refused
    assert f"`/dataflow run accept-drift {table}`" in refused and "approval" in refused
    accept = ask(slack, "U0ALICE", f"schema {table} accept")
    assert f"`/dataflow run accept-drift {table}`" in accept and "Nothing was changed" in accept
    assert redis_client.keys("dfo:baseline*") == []


def test_baseline_is_taken_once_and_records_who(start_bot: Callable[..., BotProcess], slack: SlackEmulator,
                                                drift_table: DriftTable, redis_client: Any,
                                                tmp_path: Path) -> None:
    (tmp_path / "no-contracts").mkdir()
    start_bot(**{**drift_table.env, "SCHEMA_CONTRACTS_DIR": str(tmp_path / "no-contracts")})
    table = drift_table.table
    taken = ask(slack, "U0ALICE", f"schema {table} baseline")
    assert f"*Baseline* of `{table}` taken: snapshot v1 of its 7 live column(s), by <@U0ALICE>" in taken
    assert json.loads(redis_client.get(f"dfo:baseline:{table}"))["taken_by"] == "U0ALICE"
    drift_table.alter(ADD_COLUMN)
    again = ask(slack, "U0BOB", f"schema {table} baseline")
    assert "already has a baseline: snapshot v1 taken by <@U0ALICE>" in again and "accept-drift" in again
    ask(slack, "U0BOB", f"schema {table} accept")
    assert redis_client.llen(f"dfo:baseline-history:{table}") == 1
    assert "+ unexpected_field" in ask(slack, "U0BOB", f"schema {table}")
    audit = redis_client.xrange("dfo:audit")
    assert [(e["action"], e["user"]) for _, e in audit] == [("baseline_snapshot", "U0ALICE")]


def _database_state(db: str) -> tuple[Any, ...]:
    conn = pymysql.connect(host="127.0.0.1", user="root", password="", autocommit=True)
    with conn.cursor() as cur:
        cur.execute("SHOW DATABASES")
        dbs = cur.fetchall()
        cur.execute("SELECT TABLE_NAME, COLUMN_NAME, COLUMN_TYPE FROM information_schema.COLUMNS "
                    "WHERE TABLE_SCHEMA=%s ORDER BY 1, 2", (db,))
        columns = cur.fetchall()
        cur.execute(f"SELECT COUNT(*) FROM `{db}`.orders")
        rows = cur.fetchone()
    conn.close()
    return dbs, columns, rows


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=HOSTILE, where=st.sampled_from(["db", "table"]), action=st.sampled_from(["", "baseline", "accept"]))
@example(name="orders`; DROP TABLE orders; --", where="table", action="baseline")
@example(name="<!channel>", where="db", action="")
def test_hostile_table_names_are_refused_and_change_nothing(
        schema_bot: BotProcess, slack: SlackEmulator, drift_table: DriftTable, redis_client: Any,
        name: str, where: str, action: str) -> None:
    before = _database_state(drift_table.db)
    qualified = f"{drift_table.db}.{name}" if where == "table" else f"{name}.orders"
    text = ask(slack, "U0ALICE", f"schema {shlex.quote(qualified)} {action}".strip())
    assert "refused:" in text and "is not a plain identifier" in text, text
    assert "<" not in text                            # the name is echoed escaped: no @channel ping
    assert _database_state(drift_table.db) == before
    assert redis_client.keys("dfo:baseline*") == []


def test_drift_watcher_exports_the_gauge_from_one_replica_at_a_time(
        start_bot: Callable[..., BotProcess], slack: SlackEmulator, drift_table: DriftTable,
        redis_client: Any) -> None:
    env = {**drift_table.env, "DRIFT_WATCH_INTERVAL_SECONDS": "1"}
    first = start_bot(**env)
    slack.wait_for(lambda: gauge(first.url, drift_table.db, "orders") == "0.0", what="the gauge at 0")
    second = start_bot(**env)
    drift_table.alter(ADD_COLUMN)
    # The first replica's next check sees the column; by then the second has tried the lock and lost.
    slack.wait_for(lambda: gauge(first.url, drift_table.db, "orders") == "1.0", what="the gauge at 1")
    assert redis_client.get(LOCK_KEY)
    assert gauge(second.url, drift_table.db, "orders") is None
    first.stop()                                        # the lock is released (or expires): failover
    slack.wait_for(lambda: gauge(second.url, drift_table.db, "orders") == "1.0", timeout=15,
                   what="the second replica taking over")
