"""`/dataflow incidents | status | logs` against the real bot, the Slack emulator and the simulators."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from bot.sandbox.docker_sim import DockerEngineSimulator
from bot.sandbox.slack_emulator import SlackEmulator
from tests.e2e.alerting import alert, notification, post
from tests.e2e.commands_support import ask, ask_in_thread, command_replies, open_incident
from tests.e2e.test_alert_intake import roots, wait_thread
from tests.harness import CHANNEL, BotProcess

DRIFT = dict(table="oltp.orders")
SECRET = "hunter2-connect-secret"


def test_incidents_lists_the_newest_first_with_status_and_times(bot: BotProcess, slack: SlackEmulator) -> None:
    assert "No incidents yet" in ask(slack, "U0ALICE", "incidents")
    first = alert("SchemaDriftDetected", **DRIFT)
    post(bot.url, notification(first))
    slack.wait_for(lambda: roots(slack), what="INC-1")
    open_incident(slack, bot.url, alertname="DiskAlmostFull", instance="db-1")
    post(bot.url, notification({**first, "status": "resolved", "endsAt": "2026-11-26T07:10:00Z"}))
    slack.wait_for(lambda: (m := slack.message(CHANNEL, roots(slack)[0]["ts"])) and "[RESOLVED]" in m["text"])
    text = ask(slack, "U0ALICE", "incidents")
    inc2, inc1 = text.index("*INC-2*"), text.index("*INC-1*")
    assert inc2 < inc1
    assert "*open*" in text[inc2:inc1] and "*resolved*" in text[inc1:]
    assert text[inc1:].count(" UTC") == 2            # opened and resolved times
    assert "Unknown pipeline `now`" in ask(slack, "U0ALICE", "incidents now")


def test_status_in_the_incident_thread_is_recorded_and_redacted(
        pipeline_bot: BotProcess, slack: SlackEmulator, redis_client: Any) -> None:
    root = open_incident(slack, pipeline_bot.url, **DRIFT)
    wait_thread(slack, "Kafka Connect", "Flink")
    files_before = len(slack.wait_for(slack.files, what="the enrichment's trace file"))
    reply = ask_in_thread(slack, "U0ALICE", "status", root)
    assert "mysql-oltp-orders" in reply and "FAILED" in reply
    assert "cdc-orders-enrich" in reply and "restarts: 1" in reply
    # Listed once completeUploadExternal ran; its bytes may still be on the way: wait for them too.
    trace = slack.wait_for(lambda: next((f for f in slack.files()[files_before:] if f.get("content")), None),
                           what="the trace file with its content")
    assert trace["name"] == "connect-trace-mysql-oltp-orders.txt"
    assert "isn't known to this connector" in trace["content"].decode()
    assert SECRET not in str(slack.replies(CHANNEL, root)) + str(slack.files())
    events = redis_client.hvals("dfo:timeline:INC-1")
    assert any('"kind":"command"' in e and "status" in e and "U0ALICE" in e for e in events)


def test_status_without_an_incident_is_private_and_says_what_to_do(
        pipeline_bot: BotProcess, slack: SlackEmulator) -> None:
    everything = ask(slack, "U0ALICE", "status")
    assert "mysql-oltp-orders" in everything and "cdc-orders-enrich" in everything
    assert "No open incident" in everything and "INC-12" in everything
    assert "attached only in an incident thread" in everything
    one = ask(slack, "U0ALICE", "status mysql-oltp-orders")
    assert "mysql-oltp-orders" in one and "cdc-orders-enrich" not in one
    unknown = ask(slack, "U0ALICE", "status nope")
    assert "no connector named nope" in unknown and "Known connectors: `mysql-oltp-orders`" in unknown
    assert "not a valid connector name" in ask(slack, "U0ALICE", "status '<!channel>'")
    assert "Unknown incident INC-99" in ask(slack, "U0ALICE", "status INC-99")
    assert roots(slack) == []                         # nothing was posted in the channel


def test_a_mention_in_an_incident_thread_answers_in_that_thread(
        pipeline_bot: BotProcess, slack: SlackEmulator) -> None:
    root = open_incident(slack, pipeline_bot.url, **DRIFT)
    slack.mention("U0BOB", CHANNEL, "status mysql-oltp-orders", thread_ts=root)
    reply = slack.wait_for(lambda: command_replies(slack, root), what="the answer in the thread")[0]
    assert "mysql-oltp-orders" in reply["text"] and reply["thread_ts"] == root
    assert "Working on" in slack.ephemerals("U0BOB")[0]["text"]


@pytest.fixture
def docker() -> Iterator[DockerEngineSimulator]:
    with DockerEngineSimulator() as sim:
        sim.add_container("dataflow-connect-1", "connect")
        for i in range(20):
            sim.append_log("dataflow-connect-1", f"ERROR task {i}: schema isn't known, password=hunter2-log")
        sim.append_log("dataflow-connect-1", "INFO all good")
        yield sim


@pytest.fixture
def logs_bot(start_bot: Callable[..., BotProcess], docker: DockerEngineSimulator) -> BotProcess:
    return start_bot(DOCKER_HOST=docker.docker_host)


def test_logs_greps_a_service_privately(logs_bot: BotProcess, slack: SlackEmulator) -> None:
    text = ask(slack, "U0ALICE", "logs connect")
    assert "20 line(s) matching `schema`" in text and "task 19" in text and "all good" not in text
    assert "hunter2-log" not in text
    assert "`connect-logs-schema.txt`) is attached only in an incident thread" in text
    quoted = ask(slack, "U0ALICE", "logs connect 'all good'")
    assert "1 line(s) matching `all good`" in quoted
    unknown = ask(slack, "U0ALICE", "logs nginx")
    assert "Unknown service `nginx`" in unknown and "`flink-jobmanager`" in unknown
    assert "the limit is 100" in ask(slack, "U0ALICE", "logs connect " + "x" * 101)
    assert "no container for compose service 'kafka'" in ask(slack, "U0ALICE", "logs kafka")


def test_logs_in_the_thread_attach_the_long_output(logs_bot: BotProcess, slack: SlackEmulator) -> None:
    root = open_incident(slack, logs_bot.url, alertname="DiskAlmostFull", instance="db-1")
    files_before = len(slack.files())
    reply = ask_in_thread(slack, "U0ALICE", "logs connect ERROR", root)
    assert "20 line(s) matching `ERROR`" in reply and "the last 15" in reply
    # A file is listed from files.getUploadURLExternal on; wait for its bytes too.
    upload = slack.wait_for(lambda: [f for f in slack.files()[files_before:]
                                     if f["name"] == "connect-logs-ERROR.txt" and f["content"] is not None],
                            what="the log file")[0]
    content = upload["content"].decode()
    assert "task 0:" in content and "task 19:" in content and "hunter2-log" not in content


def test_backends_down_or_not_configured_give_a_line(start_bot: Callable[..., BotProcess],
                                                     slack: SlackEmulator) -> None:
    bot = start_bot(CONNECT_URL="http://127.0.0.1:9", DOCKER_HOST="tcp://127.0.0.1:9",
                    DRIFT_WATCH_INTERVAL_SECONDS="1")
    status = ask(slack, "U0ALICE", "status")
    assert "*Kafka Connect* at `http://127.0.0.1:9` did not answer: connection refused" in status
    assert "*Flink*: not configured (set FLINK_URL)" in status
    logs = ask(slack, "U0ALICE", "logs connect")
    assert "*Docker* at `tcp://127.0.0.1:9` did not answer" in logs
    assert "Set MYSQL_URL" in ask(slack, "U0ALICE", "schema oltp.orders")
    slack.wait_for(lambda: "MYSQL_URL is not set" in bot.logs(), what="the watcher saying why it is off")


def test_right_after_the_resolve_commands_take_that_incident_and_a_wrong_name_lists_the_right_ones(
        bot: BotProcess, slack: SlackEmulator) -> None:
    wrong = ask(slack, "U0ALICE", "runbook nosuch")             # no incident at all: the name is the problem
    assert "Unknown runbook `nosuch`" in wrong and "schema-drift" in wrong
    first = alert("SchemaDriftDetected", **DRIFT)
    post(bot.url, notification(first))
    root = slack.wait_for(lambda: roots(slack), what="INC-1")[0]["ts"]
    post(bot.url, notification({**first, "status": "resolved", "endsAt": "2026-11-26T07:10:00Z"}))
    slack.wait_for(lambda: "[RESOLVED]" in (slack.message(CHANNEL, root) or {}).get("text", ""))
    slack.slash_command("U0ALICE", "postmortem")               # typed in the channel, not in the thread
    slack.wait_for(lambda: [f for f in slack.files() if f["name"] == "postmortem-INC-1.md"], what="INC-1's draft")
