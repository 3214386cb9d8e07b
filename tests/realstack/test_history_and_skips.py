"""The reference's differences 10 and 8 against the REAL pipeline (scripts/stack): only Slack is emulated.

10. "RUNNING again" can mean a change event was skipped: exactly one row Debezium cannot decode (a column
    added and dropped again out of the binlog, one INSERT in between) fails the task; a plain restart,
    made by hand as an engineer outside the bot would, resumes past that row. The topic proves the row was
    skipped; validate-data and the postmortem must not call that clean.
8.  Schema history missing: a test-owned connector with a file schema history; its offsets flushed, the
    file deleted, a start fails with the real trace; the bot's restart is refused until the advised
    recovery (snapshot.mode=recovery) rebuilt it.

Each test puts the stack back in a finalizer. Run with `--realstack` (see tests/realstack/conftest.py).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.clients.mysql import connect
from bot.sandbox.real_stack import ALICE, BOB, RealStack
from tests.realstack.control import delete_topics, ensure_streaming, poll, stack_dir, topic_row_ids
from tests.realstack.test_failures import (
    FAIL_TIMEOUT_S,
    STEP_TIMEOUT_S,
    ask,
    click_newest,
    connect_url,
    debezium_password,
    everything_sent_to_slack,
    failed_trace,
    incident_root,
    post_alert,
    restore_connector,  # noqa: F401  (a fixture)
    task_fails_within,
    uploaded,
    wait_reply,
)

pytestmark = pytest.mark.realstack

SKIP_COLUMN = "skip_probe"   # the column Debezium never hears of
STAYS_RUNNING_S = 10.0       # a restarted task that meets a bad row again fails within ~3 s


def unlogged_sql(real: RealStack, statement: str) -> None:
    """One statement kept out of the binlog (sql_log_bin is per session): Debezium never sees it."""
    conn = connect(real.admin_url)
    try:
        with conn.cursor() as cur:
            cur.execute("SET SESSION sql_log_bin = 0")
            cur.execute(statement)
        conn.commit()
    finally:
        conn.close()


def last_order_id(real: RealStack) -> int:
    return int(str(real.sql(f"SELECT MAX(id) FROM {real.table}")[0][0]))


# -- 10. RUNNING again after skipping a change event ---------------------------------------------------------
@pytest.fixture
def no_skip_column(real: RealStack) -> Iterator[None]:
    yield
    if SKIP_COLUMN in real.columns():
        unlogged_sql(real, f"ALTER TABLE {real.table} DROP COLUMN {SKIP_COLUMN}")


def write_one_row_debezium_cannot_decode(real: RealStack) -> int:
    """The recipe that reproduced the reference's observation: exactly one row written while the table has
    a column Debezium's schema model lacks; the column dropped again, still out of the binlog. Returns the
    row's id."""
    unlogged_sql(real, f"ALTER TABLE {real.table} ADD COLUMN {SKIP_COLUMN} INT NULL")
    real.sql(f"INSERT INTO {real.table} (customer_id, amount, {SKIP_COLUMN}) VALUES (1010, 10.10, 10)")
    bad_id = last_order_id(real)
    unlogged_sql(real, f"ALTER TABLE {real.table} DROP COLUMN {SKIP_COLUMN}")
    return bad_id


@pytest.mark.usefixtures("restore_connector", "no_skip_column")
@pytest.mark.covers_step("schema-drift", "validate-data")
def test_running_again_after_a_row_mismatch_skipped_the_row_and_is_never_called_clean(real: RealStack) -> None:
    real.stop_traffic()   # exactly one bad row: each restart skips one, the next one fails it again
    ensure_streaming(real)
    bad_id = write_one_row_debezium_cannot_decode(real)
    trace = str(poll(lambda: failed_trace(real), FAIL_TIMEOUT_S, "the connector task FAILED"))
    assert "Error processing row in orders, internal schema size 7, but row size 8" in trace

    post_alert(real, "ConnectorTaskFailed", {"connector": real.connector, "table": real.table},
               {"summary": "Connector task failed"})
    ts, inc = incident_root(real, "ConnectorTaskFailed")
    reply = wait_reply(real, ts, "*Kafka Connect*")
    assert "task 0: *FAILED*" in reply and "Rows of orders no longer match Debezium's schema model" in reply
    assert "internal schema size 7, but row size 8" in reply and "resumes *past* the row" in reply

    # An engineer restarts it by hand, outside the bot: RUNNING, and it stays so.
    resp = httpx.post(connect_url(real) + "/restart", params={"includeTasks": "true", "onlyFailed": "true"},
                      timeout=30)
    assert resp.status_code == 202, resp.text
    poll(lambda: _running(real), FAIL_TIMEOUT_S, "the connector RUNNING after the restart")
    assert not task_fails_within(real, STAYS_RUNNING_S), failed_trace(real)

    # The topic: the next row arrives, the bad one never did. Skipped.
    real.insert_order()
    good_id = last_order_id(real)
    ids = poll(lambda: (found := topic_row_ids(real.env["KAFKA_BOOTSTRAP_SERVERS"], real.topic)) and good_id in found
               and found, FAIL_TIMEOUT_S, f"row {good_id} on {real.topic}")
    assert bad_id not in ids, f"row {bad_id} reached the topic: it was not skipped"

    real.slack.slash_command(ALICE, f"run validate-data {inc}")
    verdict = wait_reply(real, ts, "*Data validation*", timeout=STEP_TIMEOUT_S)
    assert f"`{real.connector}` is RUNNING again after failing on a change event" in verdict
    assert "RUNNING again may mean that event was skipped" in verdict and "before calling this clean" in verdict

    real.slack.slash_command(ALICE, f"postmortem {inc}")
    markdown = uploaded(real, f"postmortem-{inc}")
    assert f"- [ ] Connector `{real.connector}` RUNNING" in markdown, markdown
    assert "may have been skipped" in markdown and "restarted by someone outside the bot" in markdown
    assert f"- [x] Connector `{real.connector}` RUNNING" not in markdown


def _running(real: RealStack) -> bool:
    status: dict[str, Any] = httpx.get(connect_url(real) + "/status", timeout=10).json()
    states = [status["connector"]["state"], *(t["state"] for t in status.get("tasks", []))]
    return len(states) > 1 and all(s == "RUNNING" for s in states)


# -- 8. the schema history is missing --------------------------------------------------------------------------
HISTORY_TABLE = "oltp.history_probe"


@dataclass(frozen=True)
class Probe:
    """A test-owned Debezium connector with a file schema history, capturing a test-owned table."""

    name: str
    prefix: str
    history: Path
    url: str

    def status(self) -> dict[str, Any]:
        body: dict[str, Any] = httpx.get(self.url + "/status", timeout=10).json()
        return body

    def failed_trace(self) -> str | None:
        return next((t.get("trace") or "" for t in self.status().get("tasks", []) if t["state"] == "FAILED"), None)

    def running(self) -> bool:
        status = self.status()
        states = [status["connector"]["state"], *(t["state"] for t in status.get("tasks", []))]
        return len(states) > 1 and all(s == "RUNNING" for s in states)

    def snapshot_offsets(self) -> dict[str, Any] | None:
        """Its committed offset once the snapshot is done (an offset saying `snapshot` is mid-snapshot:
        a start would then snapshot again, not look for the history)."""
        offsets = httpx.get(self.url + "/offsets", timeout=10).json().get("offsets") or []
        done = [o["offset"] for o in offsets if not o["offset"].get("snapshot")]
        return done[0] if done else None

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        resp = httpx.request(method, self.url + path, timeout=60, **kwargs)
        assert resp.status_code < 300, f"{method} {path}: {resp.status_code} {resp.text}"
        return resp


def admin_sql(env: dict[str, str], statement: str) -> None:
    conn = connect(env["MYSQL_ADMIN_URL"])
    try:
        with conn.cursor() as cur:
            cur.execute(statement)
        conn.commit()
    finally:
        conn.close()


def probe_config(env: dict[str, str], probe: Probe) -> dict[str, str]:
    """The stack's own connector's database settings; its own name, topics, server id, table, history."""
    base: dict[str, str] = httpx.get(f"{env['CONNECT_URL']}/connectors/{env['CONNECTOR_NAME']}/config",
                                     timeout=10).json()
    keep = ("connector.class", "database.hostname", "database.port", "database.user", "database.password",
            "decimal.handling.mode", "topic.creation.default.replication.factor", "topic.creation.default.partitions")
    return {**{k: base[k] for k in keep if k in base}, "tasks.max": "1", "name": probe.name,
            "topic.prefix": probe.prefix, "database.server.id": str(190000 + secrets.randbelow(9000)),
            "database.include.list": HISTORY_TABLE.split(".")[0], "table.include.list": HISTORY_TABLE,
            "snapshot.mode": "initial",
            "schema.history.internal": "io.debezium.storage.file.history.FileSchemaHistory",
            "schema.history.internal.file.filename": str(probe.history)}


@pytest.fixture
def history_probe(stack_env: dict[str, str]) -> Iterator[Probe]:
    """Created RUNNING with its snapshot offsets committed, before the bot starts (the bot's discovery
    caches the connectors it found); after the test: stopped, its offsets deleted (standalone Connect keeps
    them after a DELETE), deleted, its topics, table and history file removed."""
    token = secrets.token_hex(3)
    name = f"history-probe-{token}"
    probe = Probe(name, f"historyprobe{token}", stack_dir() / "tmp" / f"{name}.history",
                  f"{stack_env['CONNECT_URL']}/connectors/{name}")
    admin_sql(stack_env, f"CREATE TABLE IF NOT EXISTS {HISTORY_TABLE} (id INT AUTO_INCREMENT PRIMARY KEY, "
                         "note VARCHAR(32))")
    admin_sql(stack_env, f"INSERT INTO {HISTORY_TABLE} (note) VALUES ('before')")
    try:
        probe.request("PUT", "/config", json=probe_config(stack_env, probe))
        poll(probe.running, FAIL_TIMEOUT_S, f"{name} RUNNING")
        poll(probe.snapshot_offsets, FAIL_TIMEOUT_S, f"{name}'s offsets committed after its snapshot")
        yield probe
    finally:
        _remove_probe(stack_env, probe)


def _remove_probe(env: dict[str, str], probe: Probe) -> None:
    if httpx.get(probe.url, timeout=10).status_code == 200:
        probe.request("PUT", "/stop")
        poll(lambda: probe.status()["connector"]["state"] == "STOPPED", 30, f"{probe.name} STOPPED")
        probe.request("DELETE", "/offsets")
        probe.request("DELETE", "")
    delete_topics(env["KAFKA_BOOTSTRAP_SERVERS"], [probe.prefix, f"{probe.prefix}.{HISTORY_TABLE}"])
    admin_sql(env, f"DROP TABLE IF EXISTS {HISTORY_TABLE}")
    probe.history.unlink(missing_ok=True)


@pytest.mark.covers_step("connector-failed", "restart-connector")
def test_a_missing_schema_history_is_diagnosed_and_restart_refused_until_it_is_rebuilt(
        history_probe: Probe, real: RealStack) -> None:   # the probe first: the bot then discovers it
    probe = history_probe
    probe.request("PUT", "/stop")
    poll(lambda: probe.status()["connector"]["state"] == "STOPPED", 30, f"{probe.name} STOPPED")
    assert probe.history.exists()
    probe.history.unlink()           # the history is gone; the offsets are not
    probe.request("PUT", "/resume")
    trace = str(poll(probe.failed_trace, FAIL_TIMEOUT_S, f"{probe.name}'s task FAILED"))
    assert ("The db history topic is missing. You may attempt to recover it by reconfiguring the connector "
            "to recovery.") in trace

    planted = "S3cr3t-" + secrets.token_hex(8)
    post_alert(real, "ConnectorTaskFailed", {"connector": probe.name, "table": HISTORY_TABLE},
               {"summary": f"Task failed; debug: database.password={planted}", "description": f"token={planted}"})
    ts, inc = incident_root(real, "ConnectorTaskFailed")
    reply = wait_reply(real, ts, "*Kafka Connect*")
    assert f"`{probe.name}`" in reply, reply
    assert "task 0: *FAILED*" in reply and "The schema history topic is missing or incomplete" in reply
    assert "The db history topic is missing" in reply and "a plain restart fails the same way" in reply
    assert "The db history topic is missing" in uploaded(real, f"connect-trace-{probe.name}")

    refusal = ask(real, ALICE, f"run restart-connector {inc}", "refused by its pre-check")
    assert "schema history is missing" in refusal and "`snapshot.mode` is `initial`" in refusal
    assert probe.failed_trace() is not None, "the refused restart did not run"

    # The advised recovery: rebuild the history from the tables.
    probe.request("PUT", "/config", json={**httpx.get(probe.url + "/config", timeout=10).json(),
                                          "snapshot.mode": "recovery"})
    poll(probe.running, FAIL_TIMEOUT_S, f"{probe.name} RUNNING in recovery mode")
    assert probe.history.exists(), "the recovery rebuilt the history file"

    ask(real, ALICE, f"run restart-connector {inc}", "Approval requested for `restart-connector`")
    click_newest(real, ts, BOB, "approve_step")
    wait_reply(real, ts, "is RUNNING again", timeout=STEP_TIMEOUT_S)
    assert probe.running()

    sent = everything_sent_to_slack(real)
    assert "database.password=********" in sent, "the annotation reached Slack, redacted"
    assert planted not in sent, "the planted secret reached Slack"
    assert debezium_password() not in sent
