"""The drill through Slack's real protocol: runbook buttons, four-eyes approvals, execution, audit."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import pymysql
import pytest

from bot.sandbox.connect_sim import ConnectSimulator
from bot.sandbox.slack_emulator import SlackEmulator
from tests.e2e.alerting import alert, notification, post
from tests.e2e.conftest import SCHEMA_TRACE, DriftTable
from tests.e2e.test_alert_intake import roots, wait_thread
from tests.harness import CHANNEL, BotProcess

ALICE, BOB, EVE = "U0ALICE", "U0BOB", "U0EVE"


def thread(slack: SlackEmulator) -> tuple[str, list[dict[str, Any]]]:
    root = roots(slack)[0]["ts"]
    return root, slack.replies(CHANNEL, root)


def button_message(slack: SlackEmulator, action_id: str, nth: int = -1) -> dict[str, Any]:
    """The thread message (newest by default) holding a button with this action_id."""
    def find() -> list[dict[str, Any]]:
        return [m for m in thread(slack)[1] if f'"action_id": "{action_id}"' in _json(m.get("blocks"))]
    try:
        return slack.wait_for(find, what=f"a message with button {action_id}")[nth]
    except AssertionError as exc:   # say what the bot answered instead
        raise AssertionError(f"{exc}\nephemerals: {[e['text'] for e in slack.ephemerals()]}") from None


def _json(value: Any) -> str:
    import json

    return json.dumps(value)


def text_in_thread(slack: SlackEmulator, needle: str, timeout: float = 15) -> str:
    return slack.wait_for(lambda: next((m["text"] for m in thread(slack)[1] if needle in m.get("text", "")), None),
                          timeout=timeout, what=f"{needle!r} in the thread")


def ephemeral_for(slack: SlackEmulator, user: str, needle: str) -> str:
    return slack.wait_for(lambda: next((e["text"] for e in slack.ephemerals(user) if needle in e["text"]), None),
                          what=f"an ephemeral for {user} with {needle!r}")


@pytest.fixture
def drilled(drift_table: DriftTable, connect_sim: ConnectSimulator) -> DriftTable:
    """Drift applied; the connector's task fails again on restart for as long as the drift is there."""
    drift_table.alter("ALTER TABLE orders ADD COLUMN unexpected_field VARCHAR(64) NULL")
    connect_sim.health_check = lambda name: SCHEMA_TRACE if "unexpected_field" in drift_table.columns() else None
    return drift_table


def start_incident(start_bot: Callable[..., BotProcess], slack: SlackEmulator, drilled: DriftTable,
                   connect_sim: ConnectSimulator, **env: str) -> BotProcess:
    env.setdefault("APPROVERS", f"{ALICE},{BOB}")
    bot = start_bot(**drilled.env, CONNECT_URL=connect_sim.url, **env)
    assert post(bot.url, notification(alert("SchemaDriftDetected", table=drilled.table))).status_code == 200
    wait_thread(slack, "Kafka Connect", "*Schema*")
    return bot


def approval_for(slack: SlackEmulator, requester: str, step_button: str) -> dict[str, Any]:
    checklist = button_message(slack, step_button)
    slack.click(requester, CHANNEL, checklist["ts"], step_button)
    return button_message(slack, "approve_step")


def test_the_whole_drill_with_four_eyes(start_bot: Callable[..., BotProcess], slack: SlackEmulator,
                                        drilled: DriftTable, connect_sim: ConnectSimulator,
                                        redis_client: Any) -> None:
    start_incident(start_bot, slack, drilled, connect_sim)
    assert slack.slash_command(ALICE, "runbook schema-drift").status_code == 200
    request = approval_for(slack, ALICE, "run_step:rollback-schema")
    assert "DROP COLUMN `unexpected_field`" in _json(request["blocks"])
    slack.click(ALICE, CHANNEL, request["ts"], "approve_step")
    assert "cannot approve" in ephemeral_for(slack, ALICE, "You asked for this step")
    slack.click(EVE, CHANNEL, request["ts"], "approve_step")
    assert "APPROVERS" in ephemeral_for(slack, EVE, "not an approver")
    assert "unexpected_field" in drilled.columns()                     # nothing ran yet
    slack.click(BOB, CHANNEL, request["ts"], "approve_step")
    text_in_thread(slack, "column dropped")
    assert "unexpected_field" not in drilled.columns()
    decided = slack.wait_for(lambda: (m := slack.message(CHANNEL, request["ts"])) and "Approved by" in _json(m["blocks"]) and m)
    assert "approve_step" not in _json(decided["blocks"])               # the buttons are gone
    restart = approval_for(slack, ALICE, "run_step:restart-connector")
    assert "includeTasks=true&amp;onlyFailed=true" in _json(restart["blocks"])   # & escaped for mrkdwn
    slack.click(BOB, CHANNEL, restart["ts"], "approve_step")
    text_in_thread(slack, "is RUNNING again", timeout=30)
    assert connect_sim.status("mysql-oltp-orders")["tasks"][0]["state"] == "RUNNING"
    events = [(e["event"], e["user"], e["step"]) for e in _audit(redis_client)]
    assert events == [
        ("requested", ALICE, "rollback-schema"), ("refused", ALICE, "rollback-schema"),
        ("refused", EVE, "rollback-schema"), ("approved", BOB, "rollback-schema"),
        ("executing", BOB, "rollback-schema"), ("done", BOB, "rollback-schema"),
        ("requested", ALICE, "restart-connector"), ("approved", BOB, "restart-connector"),
        ("executing", BOB, "restart-connector"), ("done", BOB, "restart-connector"),
    ]


def _audit(redis_client: Any) -> list[dict[str, str]]:
    return [fields for _id, fields in redis_client.xrange("dfo:audit")]


def test_restart_is_refused_while_the_table_still_drifts(start_bot: Callable[..., BotProcess], slack: SlackEmulator,
                                                         drilled: DriftTable, connect_sim: ConnectSimulator) -> None:
    start_incident(start_bot, slack, drilled, connect_sim)
    slack.slash_command(ALICE, "run restart-connector")
    text = ephemeral_for(slack, ALICE, "refused by its pre-check")
    assert "unexpected_field" in text


def test_an_expired_approval_is_refused(start_bot: Callable[..., BotProcess], slack: SlackEmulator,
                                        drilled: DriftTable, connect_sim: ConnectSimulator) -> None:
    start_incident(start_bot, slack, drilled, connect_sim, APPROVAL_TTL_SECONDS="1")
    slack.slash_command(ALICE, "run rollback-schema")
    request = button_message(slack, "approve_step")
    time.sleep(1.2)   # the TTL is the behaviour under test: let it pass
    slack.click(BOB, CHANNEL, request["ts"], "approve_step")
    assert "expired" in ephemeral_for(slack, BOB, "expired")
    slack.wait_for(lambda: "Expired at" in _json((slack.message(CHANNEL, request["ts"]) or {}).get("blocks")))
    assert "unexpected_field" in drilled.columns()


def test_the_same_approve_click_on_two_bot_processes_executes_once(
        start_bot: Callable[..., BotProcess], slack: SlackEmulator, drilled: DriftTable,
        connect_sim: ConnectSimulator, redis_client: Any) -> None:
    start_incident(start_bot, slack, drilled, connect_sim)
    second = start_bot(**drilled.env, CONNECT_URL=connect_sim.url, APPROVERS=f"{ALICE},{BOB}")
    slack.slash_command(ALICE, "run rollback-schema")
    request = button_message(slack, "approve_step")
    slack.click(BOB, CHANNEL, request["ts"], "approve_step")
    delivered = slack.deliveries()[-1]
    replay = threading.Thread(target=lambda: httpx.post(
        second.url + "/slack/events", content=delivered.body,
        headers=slack.sender.headers(delivered.body, delivered.content_type)))
    replay.start()
    replay.join()
    text_in_thread(slack, "column dropped")
    time.sleep(1.0)   # let a wrongly duplicated execution land before counting
    executions = [e for e in _audit(redis_client) if e["event"] == "executing"]
    assert len(executions) == 1
    assert sum("column dropped" in m.get("text", "") for m in thread(slack)[1]) == 1


def test_an_approval_is_void_when_the_column_vanished(start_bot: Callable[..., BotProcess], slack: SlackEmulator,
                                                      drilled: DriftTable, connect_sim: ConnectSimulator,
                                                      redis_client: Any) -> None:
    start_incident(start_bot, slack, drilled, connect_sim)
    slack.slash_command(ALICE, "run rollback-schema")
    request = button_message(slack, "approve_step")
    drilled.alter("ALTER TABLE orders DROP COLUMN unexpected_field")    # someone fixed it by hand
    slack.click(BOB, CHANNEL, request["ts"], "approve_step")
    line = text_in_thread(slack, "is void")
    assert "unexpected_field" in line
    assert [e["event"] for e in _audit(redis_client)] == ["requested", "approved", "void"]


def test_help_answers_while_twenty_slow_steps_run(start_bot: Callable[..., BotProcess], slack: SlackEmulator,
                                                   connect_sim: ConnectSimulator) -> None:
    bot = start_bot(CONNECT_URL=connect_sim.url, JOB_THREADS="32")
    assert post(bot.url, notification(alert("SchemaDriftDetected", table="oltp.orders"))).status_code == 200
    slack.wait_for(lambda: roots(slack), what="the root")
    connect_sim.set_latency(4.0)
    for _ in range(20):
        assert slack.slash_command(ALICE, "run connector-status").status_code == 200
    body = slack.slash_command(BOB, "help").json()
    assert "/dataflow run" in body["text"]
    # Four steps wait on the slow Connect (its bulkhead); the others are told at once it is busy.
    done = [m for m in thread(slack)[1] if "*Connector status*" in m.get("text", "")
            and "not asked" not in m.get("text", "")]
    assert done == []     # help was answered while the steps that asked Connect were still waiting on it


def test_a_user_group_approver_is_resolved_at_click_time_and_a_denial_runs_nothing(
        start_bot: Callable[..., BotProcess], slack: SlackEmulator, drilled: DriftTable,
        connect_sim: ConnectSimulator, redis_client: Any) -> None:
    slack.add_usergroup("S0ONCALL", "db-oncall", [])
    start_incident(start_bot, slack, drilled, connect_sim, APPROVERS="S0ONCALL")
    slack.slash_command(ALICE, "run rollback-schema")
    request = button_message(slack, "approve_step")
    slack.click(BOB, CHANNEL, request["ts"], "approve_step")
    stale_click = slack.deliveries()[-1]
    ephemeral_for(slack, BOB, "not an approver")                       # not in the group yet
    slack.add_usergroup("S0ONCALL", "db-oncall", [BOB])                 # joins the rota: no restart needed
    slack.click(BOB, CHANNEL, request["ts"], "deny_step")
    slack.wait_for(lambda: "Denied by <@U0BOB>" in _json((slack.message(CHANNEL, request["ts"]) or {}).get("blocks")))
    assert "unexpected_field" in drilled.columns()
    assert [e["event"] for e in _audit(redis_client)] == ["requested", "refused", "denied"]
    # The same Approve click again (from a client still showing the old buttons, so signed anew; a second
    # ahead, so that it is not the first delivery's replay): it changes nothing, and the audit says so.
    httpx.post(str(slack.request_url), content=stale_click.body,
               headers=slack.sender.headers(stale_click.body, stale_click.content_type,
                                            timestamp=int(time.time()) + 1))
    assert "already denied" in ephemeral_for(slack, BOB, "Nothing to do")
    assert "unexpected_field" in drilled.columns()
    stale = _audit(redis_client)[-1]
    assert (stale["event"], stale["user"]) == ("stale-click-refused", BOB)


def test_accepting_the_drift_makes_a_new_baseline_version(start_bot: Callable[..., BotProcess],
                                                         slack: SlackEmulator, drift_table: DriftTable,
                                                         connect_sim: ConnectSimulator, redis_client: Any) -> None:
    env = {**drift_table.env, "SCHEMA_CONTRACTS_DIR": "/nonexistent"}     # a snapshot baseline, not the contract
    bot = start_bot(**env, CONNECT_URL=connect_sim.url, APPROVERS=BOB)
    slack.slash_command(ALICE, f"schema {drift_table.table} baseline")
    slack.wait_for(lambda: redis_client.exists(f"dfo:baseline:{drift_table.table}"), what="the first snapshot")
    drift_table.alter("ALTER TABLE orders ADD COLUMN loyalty_tier VARCHAR(16) NULL")
    post(bot.url, notification(alert("SchemaDriftDetected", table=drift_table.table)))
    slack.wait_for(lambda: roots(slack))
    slack.slash_command(ALICE, "run accept-drift")
    request = button_message(slack, "approve_step")
    assert "loyalty_tier" in _json(request["blocks"])
    slack.click(BOB, CHANNEL, request["ts"], "approve_step")
    text_in_thread(slack, "matches its baseline")                        # the post-check: no drift left
    history = redis_client.lrange(f"dfo:baseline-history:{drift_table.table}", 0, -1)
    assert len(history) == 2 and "loyalty_tier" in history[-1] and "U0ALICE" in history[-1]


def test_resuming_a_paused_connector(start_bot: Callable[..., BotProcess], slack: SlackEmulator,
                                     connect_sim: ConnectSimulator) -> None:
    connect_sim.set_task_state("mysql-oltp-orders", 0, "RUNNING")
    connect_sim.pause("mysql-oltp-orders")
    bot = start_bot(CONNECT_URL=connect_sim.url, APPROVERS=BOB)
    post(bot.url, notification(alert("ConnectorTaskFailed", connector="mysql-oltp-orders")))
    slack.wait_for(lambda: roots(slack))
    slack.slash_command(ALICE, "run resume-connector")
    request = button_message(slack, "approve_step")
    assert "/connectors/mysql-oltp-orders/resume" in _json(request["blocks"])
    slack.click(BOB, CHANNEL, request["ts"], "approve_step")
    text_in_thread(slack, "resume-connector")
    assert connect_sim.status("mysql-oltp-orders")["connector"]["state"] == "RUNNING"


def test_a_step_whose_bot_died_mid_execution_is_reported_interrupted(
        start_bot: Callable[..., BotProcess], slack: SlackEmulator, drilled: DriftTable,
        connect_sim: ConnectSimulator, redis_client: Any) -> None:
    first = start_incident(start_bot, slack, drilled, connect_sim)
    slack.slash_command(ALICE, "run rollback-schema")
    request = button_message(slack, "approve_step")
    reader = pymysql.connect(host="127.0.0.1", user="root", password="", database=drilled.db)
    with reader.cursor() as cur:      # a young open transaction: the pre-check passes, the ALTER waits on its lock
        cur.execute("START TRANSACTION")
        cur.execute("SELECT COUNT(*) FROM orders")
    slack.click(BOB, CHANNEL, request["ts"], "approve_step")
    slack.wait_for(lambda: any(e["event"] == "executing" for e in _audit(redis_client)), what="the execution")
    first.kill()
    reader.rollback()
    reader.close()
    approval_id = next(e["approval_id"] for e in _audit(redis_client) if e["event"] == "executing")
    redis_client.delete(f"dfo:approval-alive:{approval_id}")     # its TTL running out, without the wait
    second = start_bot(**drilled.env, CONNECT_URL=connect_sim.url, APPROVERS=f"{ALICE},{BOB}")
    slack.request_url = second.url + "/slack/events"
    line = text_in_thread(slack, "was interrupted")
    assert "may or may not have run" in line
    assert [e["event"] for e in _audit(redis_client)][-1] == "interrupted"
    slack.wait_for(lambda: "Interrupted" in _json((slack.message(CHANNEL, request["ts"]) or {}).get("blocks")))


def test_a_byte_identical_replayed_click_acts_once_and_is_audited(
        start_bot: Callable[..., BotProcess], slack: SlackEmulator, drilled: DriftTable,
        connect_sim: ConnectSimulator, redis_client: Any) -> None:
    start_incident(start_bot, slack, drilled, connect_sim)
    slack.slash_command(ALICE, "runbook schema-drift")
    checklist = button_message(slack, "run_step:schema-diff")
    slack.click(ALICE, CHANNEL, checklist["ts"], "run_step:schema-diff")
    click = slack.deliveries()[-1]
    text_in_thread(slack, "Columns and diff")
    posts_before = len(slack.calls("chat.postMessage"))
    # The same click signed at another second (so new to the gate), then delivered again byte for byte.
    headers = slack.sender.headers(click.body, click.content_type, timestamp=int(time.time()) - 10)
    first, second = (httpx.post(str(slack.request_url), content=click.body, headers=headers) for _ in range(2))
    assert first.status_code == second.status_code == 200 and second.content == b""
    slack.wait_for(lambda: len(slack.calls("chat.postMessage")) > posts_before, what="the first delivery's result")
    time.sleep(1.0)                                  # room for a second result that must not come
    assert len(slack.calls("chat.postMessage")) == posts_before + 1
    replays = [a for a in _audit(redis_client) if a["event"] == "replay-refused"]
    assert len(replays) == 1 and replays[0]["user"] == ALICE
