"""Slack's real protocol end to end: signed requests to the real bot process, answers in the emulator."""

from __future__ import annotations

import json
import time

import httpx

from bot.sandbox.slack_emulator import SlackEmulator
from tests.harness import BOT_TOKEN, SIGNING_SECRET, WEBHOOK_TOKEN, BotProcess


def test_signed_help_is_answered_from_the_registry(bot: BotProcess, slack: SlackEmulator) -> None:
    from bot.commands import REGISTRY

    resp = slack.slash_command("U0ALICE", "help")
    assert resp.status_code == 200
    body = resp.json()
    assert body["response_type"] == "ephemeral"
    for name in REGISTRY:
        assert f"/dataflow {name}" in body["text"]


def test_unknown_subcommand_gets_a_clear_ephemeral_answer(bot: BotProcess, slack: SlackEmulator) -> None:
    body = slack.slash_command("U0ALICE", "frobnicate now").json()
    assert body["response_type"] == "ephemeral"
    assert "Unknown subcommand `frobnicate`" in body["text"]
    assert "/dataflow help" in body["text"]


def test_mention_help_in_a_thread_answers_the_same(bot: BotProcess, slack: SlackEmulator) -> None:
    from bot.commands.help import help_text

    root = slack.post_user_message("U0ALICE", "C0INCIDENT", "something broke")
    slack.mention("U0BOB", "C0INCIDENT", "help", thread_ts=root)
    eph = slack.wait_for(lambda: slack.ephemerals("U0BOB"), what="an ephemeral help for Bob")
    assert eph[0]["text"] == help_text()
    assert eph[0].get("thread_ts") == root


def _forged(bot: BotProcess, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(bot.url + "/slack/events", content=body,
                      headers={"Content-Type": "application/x-www-form-urlencoded", **headers})


def test_unsigned_wrongly_signed_and_stale_requests_get_401_and_change_nothing(
        bot: BotProcess, slack: SlackEmulator) -> None:
    from slack_sdk.signature import SignatureVerifier

    body = b"command=%2Fdataflow&text=help&user_id=U0EVE&channel_id=C0INCIDENT&response_url=x&trigger_id=t"
    now = str(int(time.time()))
    stale = str(int(time.time()) - 301)
    good_for_stale = SignatureVerifier(SIGNING_SECRET).generate_signature(timestamp=stale, body=body.decode())
    wrong = SignatureVerifier("not-the-secret").generate_signature(timestamp=now, body=body.decode())
    before = len(slack.calls())
    for headers in ({}, {"X-Slack-Request-Timestamp": now, "X-Slack-Signature": wrong},
                    {"X-Slack-Request-Timestamp": stale, "X-Slack-Signature": good_for_stale}):
        resp = _forged(bot, body, headers)
        assert resp.status_code == 401, headers
    event = json.dumps({"type": "event_callback", "event_id": "EvFORGED", "event": {
        "type": "app_mention", "user": "U0EVE", "channel": "C0INCIDENT", "text": "<@U0BOT> help", "ts": "1.0"}})
    resp = httpx.post(bot.url + "/slack/events", content=event, headers={"Content-Type": "application/json"})
    assert resp.status_code == 401
    time.sleep(0.5)  # give a wrongly accepted request the time to act, then check it did not
    assert len(slack.calls()) == before
    assert slack.ephemerals("U0EVE") == []


def test_event_retry_does_not_run_the_listener_twice(bot: BotProcess, slack: SlackEmulator) -> None:
    slack.mention("U0BOB", "C0INCIDENT", "help")
    slack.wait_for(lambda: slack.ephemerals("U0BOB"))
    event_id = slack.deliveries()[-1].event_id
    assert event_id
    resp = slack.sender.redeliver(event_id, 1, "http_timeout")
    assert resp.status_code == 200
    time.sleep(0.5)
    assert len(slack.ephemerals("U0BOB")) == 1


def test_no_secret_reaches_the_logs(bot: BotProcess, slack: SlackEmulator) -> None:
    slack.slash_command("U0ALICE", "help")
    slack.slash_command("U0ALICE", "nope")
    httpx.post(bot.url + "/alerts", content=b"{}", headers={"Authorization": "Bearer wrong-token"})
    httpx.get(bot.url + "/healthz")
    bot.stop()
    logs = bot.logs()
    assert "serving" in logs
    for secret in (BOT_TOKEN, SIGNING_SECRET, WEBHOOK_TOKEN, "hooks.slack.com"):
        assert secret not in logs
