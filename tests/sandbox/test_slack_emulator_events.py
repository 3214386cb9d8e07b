"""What the emulator sends to a bot: signed commands, clicks, events; and response_url posts applied."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import httpx
import pytest
from slack_sdk import WebClient

from bot.sandbox.slack_emulator import SlackEmulator
from tests.sandbox.slack_receiver import Receiver, running_receiver

CH = "C0INCIDENT"
SECRET = "events-secret"


@pytest.fixture(scope="module")
def running() -> Iterator[tuple[SlackEmulator, Receiver]]:
    with SlackEmulator(signing_secret=SECRET) as emulator, running_receiver(SECRET) as (receiver, url):
        emulator.request_url = url
        yield emulator, receiver


@pytest.fixture
def emu(running: tuple[SlackEmulator, Receiver]) -> SlackEmulator:
    running[0].reset()
    running[1].requests.clear()
    running[1].reply = None
    return running[0]


@pytest.fixture
def rx(running: tuple[SlackEmulator, Receiver], emu: SlackEmulator) -> Receiver:
    return running[1]


@pytest.fixture
def client(emu: SlackEmulator) -> WebClient:
    return WebClient(token=emu.bot_token, base_url=emu.api_url, timeout=10)


def _button_blocks() -> list[dict[str, object]]:
    button = {"type": "button", "text": {"type": "plain_text", "text": "Restart connector"},
              "action_id": "restart_connector", "value": "INC-1:mysql-inventory"}
    return [{"type": "actions", "block_id": "b1", "elements": [button]}]


def test_url_verification_is_signed(emu: SlackEmulator, rx: Receiver) -> None:
    assert emu.url_verification("abc").status_code == 200
    [req] = rx.requests
    assert req.valid and req.json() == {"token": "verification_token", "challenge": "abc",
                                        "type": "url_verification"}


def test_slash_command_fields_and_ack_shown(emu: SlackEmulator, rx: Receiver) -> None:
    rx.reply = {"text": "Working on it"}
    assert emu.slash_command("U0ALICE", "status INC-1").status_code == 200
    [req] = rx.requests
    form = req.form()
    assert req.valid and req.headers["content-type"] == "application/x-www-form-urlencoded"
    assert (form["command"], form["text"], form["user_id"], form["user_name"]) == (
        "/dataflow", "status INC-1", "U0ALICE", "alice")
    assert (form["channel_id"], form["channel_name"], form["team_id"]) == (CH, "incidents", "T0SANDBOX")
    assert form["response_url"].startswith(f"{emu.url}/response/") and form["trigger_id"]
    assert [e["text"] for e in emu.ephemerals("U0ALICE")] == ["Working on it"]


def test_response_url_posts_are_applied(emu: SlackEmulator, rx: Receiver) -> None:
    emu.slash_command("U0ALICE", "status")
    emu.slash_command("U0BOB", "status")
    first, second = (r.form()["response_url"] for r in rx.requests)
    assert first != second
    assert httpx.post(first, json={"text": "just for alice"}).json() == {"ok": True}
    assert httpx.post(second, json={"text": "for everyone", "response_type": "in_channel"}).status_code == 200
    assert [e["text"] for e in emu.ephemerals("U0ALICE")] == ["just for alice"]
    [msg] = emu.messages(CH)
    assert (msg["text"], msg["user"]) == ("for everyone", "U0BOT")
    assert [p["text"] for p in emu.response_posts()] == ["just for alice", "for everyone"]
    for _ in range(4):  # posts 2..5 to the first URL
        assert httpx.post(first, json={"text": "again"}).status_code == 200
    assert httpx.post(first, json={"text": "sixth"}).status_code == 404  # Slack allows 5 posts


def test_click_sends_block_actions_and_replace_original(emu: SlackEmulator, rx: Receiver,
                                                        client: WebClient) -> None:
    root = client.chat_postMessage(channel=CH, text="root")["ts"]
    ts = client.chat_postMessage(channel=CH, text="Restart?", blocks=_button_blocks(), thread_ts=root)["ts"]
    emu.click("U0BOB", CH, ts, "restart_connector")
    [req] = rx.requests
    payload = req.payload()
    assert req.valid and payload["type"] == "block_actions" and payload["user"]["id"] == "U0BOB"
    assert payload["container"] == {"type": "message", "message_ts": ts, "channel_id": CH,
                                    "is_ephemeral": False, "thread_ts": root}
    [action] = payload["actions"]
    assert (action["action_id"], action["block_id"], action["value"]) == ("restart_connector", "b1",
                                                                         "INC-1:mysql-inventory")
    assert payload["message"]["ts"] == ts and payload["message"]["blocks"] == _button_blocks()
    httpx.post(payload["response_url"], json={"replace_original": True, "text": "Restarted by bob"})
    replaced = emu.message(CH, ts)
    assert replaced is not None and replaced["text"] == "Restarted by bob" and "blocks" not in replaced
    with pytest.raises(ValueError, match="no button"):
        emu.click("U0BOB", CH, ts, "no_such_action")


def test_user_message_with_mention_sends_message_and_app_mention(emu: SlackEmulator, rx: Receiver,
                                                                 client: WebClient) -> None:
    root = client.chat_postMessage(channel=CH, text="root")["ts"]
    ts = emu.mention("U0ALICE", CH, "status please", thread_ts=root)
    bodies = [r.json() for r in rx.requests]
    assert all(r.valid for r in rx.requests)
    assert [b["event"]["type"] for b in bodies] == ["message", "app_mention"]
    assert bodies[0]["event_id"] != bodies[1]["event_id"] and bodies[0]["event_id"].startswith("Ev")
    for body in bodies:
        event = body["event"]
        assert (event["ts"], event["thread_ts"], event["user"], event["channel"]) == (ts, root, "U0ALICE", CH)
        assert event["text"] == "<@U0BOT> status please"
        assert body["type"] == "event_callback" and body["authorizations"][0]["user_id"] == "U0BOT"
    assert emu.replies(CH, root)[0]["user"] == "U0ALICE"
    emu.post_user_message("U0BOB", CH, "no mention here")
    assert rx.requests[-1].json()["event"]["type"] == "message" and len(rx.requests) == 3


def test_reaction_and_message_shortcut(emu: SlackEmulator, rx: Receiver, client: WebClient) -> None:
    ts = client.chat_postMessage(channel=CH, text="root", metadata={"event_type": "x", "event_payload": {}})["ts"]
    emu.add_reaction("U0ALICE", CH, ts, "white_check_mark")
    event = rx.requests[0].json()["event"]
    assert event["type"] == "reaction_added" and event["item"] == {"type": "message", "channel": CH, "ts": ts}
    assert (event["user"], event["reaction"], event["item_user"]) == ("U0ALICE", "white_check_mark", "U0BOT")
    emu.message_shortcut("U0BOB", CH, ts, "open_incident")
    payload = rx.requests[1].payload()
    assert (payload["type"], payload["callback_id"], payload["message_ts"]) == ("message_action",
                                                                                 "open_incident", ts)
    assert payload["message"]["text"] == "root" and "metadata" not in payload["message"]
    assert payload["response_url"].startswith(emu.url) and rx.requests[1].valid


def test_retry_headers_and_redelivery(emu: SlackEmulator, rx: Receiver) -> None:
    emu.post_user_message("U0ALICE", CH, "hello")
    original = rx.requests[0]
    assert "x-slack-retry-num" not in original.headers
    emu.redeliver(original.json()["event_id"], retry_num=2, retry_reason="http_error")
    retry = rx.requests[1]
    assert retry.valid and retry.body == original.body
    assert (retry.headers["x-slack-retry-num"], retry.headers["x-slack-retry-reason"]) == ("2", "http_error")
    emu.send_event({"type": "app_home_opened", "user": "U0BOB"}, retry_num=1)
    assert rx.requests[2].headers["x-slack-retry-num"] == "1"


def test_forged_stale_and_unsigned_requests_fail_verification(emu: SlackEmulator, rx: Receiver) -> None:
    body = json.dumps({"type": "event_callback", "event": {"type": "message"}}).encode()
    assert emu.send_raw(body, "application/json").status_code == 200
    assert emu.send_raw(body, "application/json", signature="v0=" + "0" * 64).status_code == 401
    assert emu.send_raw(body, "application/json", timestamp=int(time.time()) - 600).status_code == 401
    assert emu.send_raw(body, "application/json", sign=False).status_code == 401
    assert [r.valid for r in rx.requests] == [True, False, False, False]
