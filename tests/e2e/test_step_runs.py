"""Step runs through Slack (issue #13): one state machine that never sticks, never reports twice, never
leaks, and says what is going on. Real bot processes, the Slack emulator, real MariaDB and Redis."""

from __future__ import annotations

import json
import os
import signal
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
from tests.e2e.slow_slack import SlowAnswers
from tests.e2e.test_alert_intake import roots
from tests.e2e.test_runbook import (
    ALICE,
    BOB,
    _audit,
    _json,
    button_message,
    ephemeral_for,
    start_incident,
    text_in_thread,
    thread,
)
from tests.harness import CHANNEL, WEBHOOK_TOKEN, BotProcess

PERIOD = 0.5   # RECONCILE_INTERVAL_SECONDS in these tests
FAST = {"RECONCILE_INTERVAL_SECONDS": str(PERIOD), "STEP_HEARTBEAT_TTL_SECONDS": "2",
        "APPROVED_START_DEADLINE_SECONDS": "1", "SLACK_POST_LOCK_SECONDS": "4"}
VERDICTS = {"done", "failed", "void", "interrupted", "denied", "expired"}
DROPPED = "column dropped"


@pytest.fixture
def drilled(drift_table: DriftTable, connect_sim: ConnectSimulator) -> DriftTable:
    """As in test_runbook.py: drift applied; the connector's task fails again while it is there."""
    drift_table.alter("ALTER TABLE orders ADD COLUMN unexpected_field VARCHAR(64) NULL")
    connect_sim.health_check = lambda name: SCHEMA_TRACE if "unexpected_field" in drift_table.columns() else None
    return drift_table


def verdicts(redis_client: Any) -> list[str]:
    return [e["event"] for e in _audit(redis_client) if e["event"] in VERDICTS]


def in_thread(slack: SlackEmulator, needle: str) -> int:
    return sum(needle in m.get("text", "") for m in thread(slack)[1])


def request_rollback(slack: SlackEmulator) -> dict[str, Any]:
    slack.slash_command(ALICE, "run rollback-schema")
    return button_message(slack, "approve_step")


def blocks_of(slack: SlackEmulator, ts: str) -> str:
    return _json((slack.message(CHANNEL, ts) or {}).get("blocks"))


class MetadataLock:
    """A young open transaction on the table: the pre-check passes, the ALTER waits until release()."""

    def __init__(self, table: DriftTable) -> None:
        self.conn = pymysql.connect(host="127.0.0.1", user="root", password="", database=table.db)
        with self.conn.cursor() as cur:
            cur.execute("START TRANSACTION")
            cur.execute("SELECT COUNT(*) FROM orders")

    def release(self) -> None:
        self.conn.rollback()
        self.conn.close()


def restart_after_death(start_bot: Callable[..., BotProcess], slack: SlackEmulator, drilled: DriftTable,
                        connect_sim: ConnectSimulator) -> BotProcess:
    second = start_bot(**drilled.env, CONNECT_URL=connect_sim.url, APPROVERS=f"{ALICE},{BOB}", **FAST)
    slack.request_url = second.url + "/slack/events"
    return second


# -- defects of the "Why" ----------------------------------------------------------------------
def test_a_failed_edit_after_approval_does_not_leave_the_step_approved_forever(
        start_bot: Callable[..., BotProcess], slack: SlackEmulator, drilled: DriftTable,
        connect_sim: ConnectSimulator, redis_client: Any) -> None:
    start_incident(start_bot, slack, drilled, connect_sim, **FAST)
    request = request_rollback(slack)
    slack.inject("chat.update", status=200, error="internal_error", times=1)   # the "approved" edit fails
    slack.click(BOB, CHANNEL, request["ts"], "approve_step")
    text_in_thread(slack, DROPPED)
    assert "unexpected_field" not in drilled.columns()
    slack.wait_for(lambda: "Done (approved by <@U0BOB>)" in blocks_of(slack, request["ts"]),
                   what="the message edited again by the reconciler")
    assert verdicts(redis_client) == ["done"]


def test_an_approver_clicking_while_the_request_post_returns(start_bot: Callable[..., BotProcess],
                                                           slack: SlackEmulator, drilled: DriftTable,
                                                           connect_sim: ConnectSimulator, redis_client: Any) -> None:
    def slow(method: str, body: bytes) -> bool:
        return method == "chat.postMessage" and b"Approval needed" in body

    with SlowAnswers(slack.api_url, 3.0, slow) as proxy:
        start_incident(start_bot, slack, drilled, connect_sim, SLACK_API_URL=proxy.api_url, **FAST)
        request = request_rollback(slack)          # visible to people; the bot still waits for its answer
        slack.click(BOB, CHANNEL, request["ts"], "approve_step")
        text_in_thread(slack, DROPPED)
        slack.wait_for(lambda: "Done (approved by <@U0BOB>)" in blocks_of(slack, request["ts"]), timeout=15)
    message = slack.message(CHANNEL, request["ts"]) or {}
    assert "approve_step" not in _json(message.get("blocks")) and message["text"].startswith("Done")
    approval_id = _audit(redis_client)[0]["approval_id"]
    assert redis_client.hget(f"dfo:approval:{approval_id}", "decided_by") == BOB
    assert [e["event"] for e in _audit(redis_client)] == ["requested", "approved", "executing", "done"]


def test_three_parallel_clicks_on_a_step_button_make_one_request(
        start_bot: Callable[..., BotProcess], slack: SlackEmulator, drilled: DriftTable,
        connect_sim: ConnectSimulator, redis_client: Any) -> None:
    start_incident(start_bot, slack, drilled, connect_sim)
    slack.slash_command(ALICE, "runbook schema-drift")
    checklist = button_message(slack, "run_step:rollback-schema")
    clicks = [threading.Thread(target=slack.click, args=(ALICE, CHANNEL, checklist["ts"], "run_step:rollback-schema"))
              for _ in range(3)]
    for c in clicks:
        c.start()
    for c in clicks:
        c.join()
    slack.wait_for(lambda: len(slack.ephemerals(ALICE)) >= 3, what="an answer to each click")
    time.sleep(0.5)
    requests = [m for m in thread(slack)[1] if "approve_step" in _json(m.get("blocks"))]
    assert len(requests) == 1
    assert [e["event"] for e in _audit(redis_client)] == ["requested"]
    assert "already has an open approval request" in ephemeral_for(slack, ALICE, "already has an open")
    link = ephemeral_for(slack, ALICE, "already has an open")
    assert "the request" in link


def test_the_pending_request_mentions_approvers_is_reminded_once_then_expires_without_a_click(
        start_bot: Callable[..., BotProcess], slack: SlackEmulator, drilled: DriftTable,
        connect_sim: ConnectSimulator, redis_client: Any) -> None:
    slack.add_usergroup("S0ONCALL", "db-oncall", [BOB])
    start_incident(start_bot, slack, drilled, connect_sim, APPROVERS=f"{ALICE},{BOB},S0ONCALL",
                   APPROVAL_TTL_SECONDS="4", APPROVAL_REMINDER_SECONDS="1", **FAST)
    request = request_rollback(slack)
    assert request["text"].startswith("Approval needed")
    for mention in ("<@U0BOB>", "<!subteam^S0ONCALL>"):
        assert mention in request["text"]        # notified, as the text is what Slack notifies with
    assert "Approvers: <@U0ALICE>" not in request["text"]   # the requester cannot approve
    text_in_thread(slack, "Still waiting for a decision")
    slack.wait_for(lambda: "Expired" in blocks_of(slack, request["ts"]), timeout=10, what="expired, no click")
    assert "approve_step" not in blocks_of(slack, request["ts"])
    assert (slack.message(CHANNEL, request["ts"]) or {})["text"].startswith("Expired")
    assert in_thread(slack, "Still waiting for a decision") == 1
    assert [e["event"] for e in _audit(redis_client)] == ["requested", "expired"]


def test_drill_steps_are_not_offered_in_an_open_incident_without_confirmation(
        start_bot: Callable[..., BotProcess], slack: SlackEmulator, drilled: DriftTable,
        connect_sim: ConnectSimulator, redis_client: Any) -> None:
    start_incident(start_bot, slack, drilled, connect_sim)
    slack.slash_command(ALICE, "runbook schema-drift")
    checklist = button_message(slack, "run_step:rollback-schema")
    assert "run_step:drill-create" not in _json(checklist["blocks"])
    slack.slash_command(ALICE, "run drill-create")
    assert "change the table" in ephemeral_for(slack, ALICE, "chaos drill")
    assert _audit(redis_client) == []
    slack.slash_command(ALICE, "run drill-revert confirm")
    request = button_message(slack, "approve_step")
    assert "DROP COLUMN" in _json(request["blocks"])


def test_the_postmortem_attributes_results_by_approval(start_bot: Callable[..., BotProcess], slack: SlackEmulator,
                                                     drilled: DriftTable, connect_sim: ConnectSimulator) -> None:
    bot = start_incident(start_bot, slack, drilled, connect_sim)
    denied = request_rollback(slack)
    slack.click(BOB, CHANNEL, denied["ts"], "deny_step")
    slack.wait_for(lambda: "Denied by" in blocks_of(slack, denied["ts"]))
    slack.slash_command(ALICE, "run rollback-schema")
    approved = slack.wait_for(lambda: (r := button_message(slack, "approve_step")) and r["ts"] != denied["ts"] and r)
    slack.click(BOB, CHANNEL, approved["ts"], "approve_step")
    text_in_thread(slack, DROPPED)
    md = httpx.get(bot.url + "/incidents/INC-1/postmortem.md",
                   headers={"Authorization": f"Bearer {WEBHOOK_TOKEN}"}).text
    blocks = md.split("- **Step `rollback-schema`**")[1:]
    assert len(blocks) == 2
    assert "Denied by" in blocks[0] and "Result" not in blocks[0]
    assert "Approved by" in blocks[1] and "Result: **succeeded**" in blocks[1]


def test_a_connect_url_with_credentials_never_shows(start_bot: Callable[..., BotProcess], slack: SlackEmulator,
                                                  connect_sim: ConnectSimulator) -> None:
    connect_sim.set_task_state("mysql-oltp-orders", 0, "RUNNING")
    connect_sim.pause("mysql-oltp-orders")
    url = connect_sim.url.replace("http://", "http://dfo-admin:s3cr3t-pw@")
    bot = start_bot(CONNECT_URL=url, APPROVERS=BOB)
    post(bot.url, notification(alert("ConnectorTaskFailed", connector="mysql-oltp-orders")))
    slack.wait_for(lambda: roots(slack))
    slack.slash_command(ALICE, "run resume-connector")
    request = button_message(slack, "approve_step")
    assert connect_sim.url.split("//")[1] + "/connectors/mysql-oltp-orders/resume" in _json(request["blocks"])
    slack.click(BOB, CHANNEL, request["ts"], "approve_step")
    text_in_thread(slack, "RUNNING again", timeout=30)
    md = httpx.get(bot.url + "/incidents/INC-1/postmortem.md",
                   headers={"Authorization": f"Bearer {WEBHOOK_TOKEN}"}).text
    sent = json.dumps([c.args for c in slack.calls()])
    for where, text in (("Slack", sent), ("the logs", bot.logs()), ("the postmortem", md)):
        assert "s3cr3t-pw" not in text and "dfo-admin" not in text, where


# -- a process killed at each transition: one verdict in the thread and the audit, within the period --------
def test_killed_after_approve_the_step_is_started_by_another_replica(
        start_bot: Callable[..., BotProcess], slack: SlackEmulator, drilled: DriftTable,
        connect_sim: ConnectSimulator, redis_client: Any) -> None:
    first = start_incident(start_bot, slack, drilled, connect_sim, **FAST)
    request = request_rollback(slack)
    slack.set_latency(4.0, "chat.update")          # the "approved" edit hangs: the step has not started
    slack.click(BOB, CHANNEL, request["ts"], "approve_step")
    slack.wait_for(lambda: any(e["event"] == "approved" for e in _audit(redis_client)), what="the approval")
    first.kill()
    slack.clear_faults()
    assert "unexpected_field" in drilled.columns()
    restart_after_death(start_bot, slack, drilled, connect_sim)
    text_in_thread(slack, DROPPED, timeout=1 + 2 + 4 * PERIOD + 10)
    time.sleep(2 * PERIOD)
    assert in_thread(slack, DROPPED) == 1 and verdicts(redis_client) == ["done"]


def test_killed_during_execute_it_is_reported_interrupted_once_even_if_slack_fails(
        start_bot: Callable[..., BotProcess], slack: SlackEmulator, drilled: DriftTable,
        connect_sim: ConnectSimulator, redis_client: Any) -> None:
    first = start_incident(start_bot, slack, drilled, connect_sim, **FAST)
    request = request_rollback(slack)
    lock = MetadataLock(drilled)
    slack.click(BOB, CHANNEL, request["ts"], "approve_step")
    slack.wait_for(lambda: any(e["event"] == "executing" for e in _audit(redis_client)), what="the execution")
    first.kill()
    lock.release()
    slack.inject("chat.update", status=200, error="internal_error", times=2)   # the reconciler's edits fail
    restart_after_death(start_bot, slack, drilled, connect_sim)
    line = text_in_thread(slack, "was interrupted", timeout=2 + 6 * PERIOD + 10)
    assert "may or may not have run" in line
    slack.wait_for(lambda: "Interrupted" in blocks_of(slack, request["ts"]), what="the message edited at last")
    time.sleep(2 * PERIOD)
    assert in_thread(slack, "was interrupted") == 1 and verdicts(redis_client) == ["interrupted"]


def test_killed_after_execute_before_the_report_the_verdict_is_posted_once(
        start_bot: Callable[..., BotProcess], slack: SlackEmulator, drilled: DriftTable,
        connect_sim: ConnectSimulator, redis_client: Any) -> None:
    first = start_incident(start_bot, slack, drilled, connect_sim, **FAST)
    request = request_rollback(slack)
    lock = MetadataLock(drilled)
    slack.click(BOB, CHANNEL, request["ts"], "approve_step")
    slack.wait_for(lambda: any(e["event"] == "executing" for e in _audit(redis_client)), what="the execution")
    slack.inject("chat.postMessage", status=200, error="internal_error", times=1000)   # no report can go out
    lock.release()
    slack.wait_for(lambda: verdicts(redis_client) == ["done"], what="the step done")
    first.kill()
    slack.clear_faults()
    assert in_thread(slack, DROPPED) == 0
    restart_after_death(start_bot, slack, drilled, connect_sim)
    text_in_thread(slack, DROPPED, timeout=4 * PERIOD + 10)
    time.sleep(2 * PERIOD)
    assert in_thread(slack, DROPPED) == 1 and verdicts(redis_client) == ["done"]
    assert "Done (approved by <@U0BOB>)" in blocks_of(slack, request["ts"])


def test_a_result_after_the_run_was_reported_interrupted_is_a_late_result(
        start_bot: Callable[..., BotProcess], slack: SlackEmulator, drilled: DriftTable,
        connect_sim: ConnectSimulator, redis_client: Any) -> None:
    first = start_incident(start_bot, slack, drilled, connect_sim, **FAST)
    second = start_bot(**drilled.env, CONNECT_URL=connect_sim.url, APPROVERS=f"{ALICE},{BOB}", **FAST)
    request = request_rollback(slack)
    lock = MetadataLock(drilled)
    slack.click(BOB, CHANNEL, request["ts"], "approve_step")
    slack.wait_for(lambda: any(e["event"] == "executing" for e in _audit(redis_client)), what="the execution")
    assert first.proc is not None and second.proc is not None
    os.kill(first.proc.pid, signal.SIGSTOP)        # frozen: its heartbeat stops, the other replica reports it
    try:
        text_in_thread(slack, "was interrupted", timeout=2 + 6 * PERIOD + 10)
    finally:
        os.kill(first.proc.pid, signal.SIGCONT)
    lock.release()
    line = text_in_thread(slack, "Late result", timeout=15)
    assert "reported interrupted" in line and "succeeded" in line
    assert in_thread(slack, "was interrupted") == 1 and in_thread(slack, DROPPED) == 1   # the late line only
    events = [e["event"] for e in _audit(redis_client)]
    assert verdicts(redis_client) == ["interrupted"] and events[-1] == "late-result"
