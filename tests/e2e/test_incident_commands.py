"""Incident commands by slash command and by mention, against the real bot, the Slack emulator and real
Redis: each changes the incident, edits the root, says which incident it acted on, and is on the
timeline (and so in the postmortem)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx

from bot.sandbox.connect_sim import ConnectSimulator
from bot.sandbox.slack_emulator import SlackEmulator
from tests.e2e.alerting import alert, notification, post
from tests.e2e.commands_support import ask, ask_in_thread, command_replies, open_incident
from tests.e2e.test_alert_intake import roots
from tests.harness import CHANNEL, WEBHOOK_TOKEN, BotProcess

ALICE, BOB = "U0ALICE", "U0BOB"
DRIFT = dict(table="oltp.orders")


def mention_in_thread(slack: SlackEmulator, user: str, text: str, root: str) -> str:
    before = len(command_replies(slack, root))
    slack.mention(user, CHANNEL, text, thread_ts=root)
    return str(slack.wait_for(lambda: command_replies(slack, root)[before:], what=f"@bot {text}")[-1]["text"])


def root_shows(slack: SlackEmulator, root: str, *needles: str) -> str:
    def shown() -> str | None:
        message = slack.message(CHANNEL, root) or {}
        text = message.get("text", "") + json.dumps(message.get("blocks"))
        return text if all(n in text for n in needles) else None
    return slack.wait_for(shown, what=f"the root showing {needles}")


def timeline(redis_client: Any, incident: str) -> list[dict[str, Any]]:
    events = [json.loads(v) for v in redis_client.hvals(f"dfo:timeline:{incident}")]
    return sorted(events, key=lambda e: e["ts"])


def postmortem(bot: BotProcess, incident: str) -> str:
    resp = httpx.get(f"{bot.url}/incidents/{incident}/postmortem.md", timeout=20,
                     headers={"Authorization": f"Bearer {WEBHOOK_TOKEN}"})
    assert resp.status_code == 200, resp.text
    return resp.text


def test_ack_and_own_make_a_commander_by_slash_and_by_mention(
        bot: BotProcess, slack: SlackEmulator, redis_client: Any) -> None:
    root = open_incident(slack, bot.url, **DRIFT)
    root_shows(slack, root, "*Commander*: nobody yet")
    assert "<@U0ALICE> is now the incident commander of *INC-1*" in ask_in_thread(slack, ALICE, "ack", root)
    root_shows(slack, root, "*Commander*: <@U0ALICE>")
    assert "<@U0BOB> is now the incident commander of *INC-1*" in mention_in_thread(slack, BOB, "own", root)
    root_shows(slack, root, "*Commander*: <@U0BOB>")
    assert "already the incident commander" in ask_in_thread(slack, BOB, "ack INC-1", root)
    assert "takes only an incident" in ask(slack, ALICE, "own now")
    taken = [e for e in timeline(redis_client, "INC-1") if e["kind"] == "commander"]
    assert [(e["actor"], e["data"]["user"], e["key"], e["data"]["surface"]) for e in taken] == [
        (ALICE, ALICE, True, "slash"), (BOB, BOB, True, "mention")]


def test_the_commander_is_in_the_postmortem(bot: BotProcess, slack: SlackEmulator) -> None:
    root = open_incident(slack, bot.url, **DRIFT)
    mention_in_thread(slack, BOB, "own", root)
    assert "Took the incident as commander (`own`, via mention)" in postmortem(bot, "INC-1")


def test_severity_is_validated_and_changed_by_slash_and_by_mention(
        bot: BotProcess, slack: SlackEmulator, redis_client: Any) -> None:
    root = open_incident(slack, bot.url, **DRIFT)
    root_shows(slack, root, "*Severity*: critical")
    refused = ask(slack, ALICE, "severity sev0")
    assert "`sev0` is not a severity" in refused and "`critical`, `warning`, `info`" in refused
    assert "to *warning* (was critical)" in ask_in_thread(slack, ALICE, "severity warning", root)
    root_shows(slack, root, "*Severity*: warning", ":large_orange_circle:")
    assert "set the severity of *INC-1* to *info*" in mention_in_thread(slack, BOB, "severity INFO", root)
    root_shows(slack, root, "*Severity*: info")
    changes = [e for e in timeline(redis_client, "INC-1") if e["data"].get("severity")]
    assert [(e["actor"], e["data"]["severity"], e["key"]) for e in changes] == [(ALICE, "warning", True),
                                                                               (BOB, "info", True)]
    assert "Severity set to info (was warning, via mention)" in postmortem(bot, "INC-1")


def test_declare_opens_an_incident_with_its_own_thread_apart_from_alertmanager(
        bot: BotProcess, slack: SlackEmulator, redis_client: Any) -> None:
    slack.slash_command(ALICE, 'declare "orders lag behind in Flink"')
    first = slack.wait_for(lambda: roots(slack), what="the declared incident's root")[0]
    assert first["text"] == "[FIRING] INC-1 orders lag behind in Flink"
    root_shows(slack, first["ts"], "*Declared by* <@U0ALICE>", "No alert: declared by hand")
    said = slack.wait_for(lambda: command_replies(slack, first["ts"]), what="the declare line")[0]["text"]
    assert "<@U0ALICE> declared *INC-1*" in said
    # An alert opens its own incident: a declared one is keyed apart from Alertmanager's correlation.
    open_incident(slack, bot.url, **DRIFT)
    assert [r["text"].split()[1] for r in roots(slack)] == ["INC-1", "INC-2"]
    slack.mention(BOB, CHANNEL, "declare checkout is down")
    third = slack.wait_for(lambda: roots(slack)[2:], what="the root declared by mention")[0]
    assert third["text"] == "[FIRING] INC-3 checkout is down"
    assert "needs a title" in ask(slack, ALICE, "declare")
    opened = [e for e in timeline(redis_client, "INC-3") if e["kind"] == "incident_opened"]
    assert [(e["actor"], e["key"], e["data"]["surface"]) for e in opened] == [(BOB, True, "mention")]
    assert "INC-3 declared by hand: checkout is down" in postmortem(bot, "INC-3")
    assert json.loads(redis_client.get("dfo:incident:INC-1"))["correlation_key"] == "declared:INC-1"


def test_resolve_by_hand_then_alertmanager_resolves_and_a_new_firing_reopens(
        bot: BotProcess, slack: SlackEmulator, redis_client: Any) -> None:
    root = open_incident(slack, bot.url, **DRIFT)
    assert "needs a reason" in ask(slack, ALICE, "resolve")
    said = ask_in_thread(slack, ALICE, 'resolve "connector restarted, drift reverted"', root)
    assert "<@U0ALICE> resolved *INC-1* by hand: connector restarted, drift reverted" in said
    assert "1 alert(s) still fire" in said
    root_shows(slack, root, "[RESOLVED] INC-1", "by <@U0ALICE>: connector restarted, drift reverted")
    assert "already resolved" in ask(slack, BOB, "resolve again INC-1")
    # Alertmanager's own resolve is still recorded when it comes, and a later firing reopens.
    firing = alert("SchemaDriftDetected", **DRIFT)
    post(bot.url, notification({**firing, "status": "resolved", "endsAt": "2026-11-26T07:10:00Z"}))
    slack.wait_for(lambda: any("Resolved: *SchemaDriftDetected*" in r["text"] for r in slack.replies(CHANNEL, root)),
                   what="Alertmanager's resolve line")
    post(bot.url, notification({**firing, "startsAt": "2026-11-26T07:20:00Z"}))
    slack.wait_for(lambda: any("INC-1 reopened" in r["text"] for r in slack.replies(CHANNEL, root)), what="reopen")
    root_shows(slack, root, "[FIRING] INC-1")
    said = mention_in_thread(slack, BOB, "resolve fixed for good", root)
    assert "<@U0BOB> resolved *INC-1* by hand: fixed for good" in said
    closed = [e for e in timeline(redis_client, "INC-1") if e["kind"] == "incident_resolved"]
    assert [(e["actor"], e["data"]["reason"], e["key"]) for e in closed] == [
        (ALICE, "connector restarted, drift reverted", True), (BOB, "fixed for good", True)]
    assert "Resolved by hand: fixed for good" in postmortem(bot, "INC-1")


def test_summary_says_state_commander_open_approvals_and_last_actions(
        start_bot: Callable[..., BotProcess], slack: SlackEmulator, connect_sim: ConnectSimulator) -> None:
    connect_sim.set_task_state("mysql-oltp-orders", 0, "RUNNING")
    connect_sim.pause("mysql-oltp-orders")
    bot = start_bot(CONNECT_URL=connect_sim.url, APPROVERS=BOB)
    root = open_incident(slack, bot.url, "ConnectorTaskFailed", connector="mysql-oltp-orders")
    ask_in_thread(slack, ALICE, "severity warning", root)
    slack.slash_command(ALICE, "run resume-connector")
    slack.wait_for(lambda: [m for m in slack.replies(CHANNEL, root) if "approve_step" in json.dumps(m.get("blocks"))],
                   what="the approval request")
    text = ask_in_thread(slack, BOB, "summary", root)
    assert "*INC-1* ConnectorTaskFailed" in text and "State: *open*, 1 of 1 alert(s) firing" in text
    assert "Severity: *warning*" in text and "Commander: nobody yet" in text
    assert "*Open approvals*: 1" in text and "`connector-failed/resume-connector` *pending*, asked by <@U0ALICE>" in text
    assert "<@U0ALICE>: Severity set to warning (was critical, via slash)" in text
    assert "<http://prometheus:9090/graph?g0.expr=x|Prometheus graph>" in text   # the root's links, too
    assert "<http://alertmanager:9093/#/silences/new?filter=" in text
    mentioned = mention_in_thread(slack, ALICE, "summary INC-1", root)
    assert "*INC-1*" in mentioned and "Summary requested" in mentioned   # the first summary is an action too
    assert "Summary requested (via mention)" in postmortem(bot, "INC-1")


def test_incidents_filter_by_status_and_pipeline_by_slash_and_by_mention(
        bot: BotProcess, slack: SlackEmulator) -> None:
    open_incident(slack, bot.url, **DRIFT)                                  # INC-1, pipeline orders
    open_incident(slack, bot.url, alertname="DiskAlmostFull", instance="db-1")   # INC-2, no pipeline
    slack.slash_command(ALICE, "declare manual one")                     # INC-3
    slack.wait_for(lambda: roots(slack)[2:], what="INC-3")
    ask_in_thread(slack, ALICE, "resolve done", roots(slack)[2]["ts"])
    everything = ask(slack, ALICE, "incidents")
    assert all(f"*INC-{n}*" in everything for n in (1, 2, 3))
    open_only = ask(slack, ALICE, "incidents open")
    assert "*Open incidents*" in open_only and "*INC-1*" in open_only and "*INC-2*" in open_only
    assert "*INC-3*" not in open_only
    resolved = ask(slack, ALICE, "incidents resolved")
    assert "*INC-3*" in resolved and "*INC-1*" not in resolved
    orders = ask(slack, ALICE, "incidents orders open")
    assert "*Open incidents of `orders`*" in orders and "*INC-1*" in orders and "*INC-2*" not in orders
    assert "No resolved incidents of `orders`" in ask(slack, ALICE, "incidents resolved orders")
    unknown = ask(slack, ALICE, "incidents payments")
    assert "Unknown pipeline `payments`" in unknown and "Known pipelines: `orders`" in unknown
    slack.mention(BOB, CHANNEL, "incidents resolved")
    answer = slack.wait_for(lambda: [e for e in slack.ephemerals(BOB) if "Resolved incidents" in e["text"]],
                            what="the mention's answer")[0]["text"]
    assert "*INC-3*" in answer and "*INC-1*" not in answer
