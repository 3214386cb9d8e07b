"""Socket Mode in the emulator, driven by slack_sdk's own Socket Mode client (the one Bolt uses)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.socket_mode.builtin import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from bot.sandbox.slack_emulator import SlackEmulator

CH = "C0INCIDENT"


class App:
    """A Socket Mode app: records envelopes, acks commands with a text, stays silent if told to."""

    def __init__(self, emu: SlackEmulator) -> None:
        self.received: list[SocketModeRequest] = []
        self.silent = False
        self.client = SocketModeClient(app_token=emu.app_token, web_client=WebClient(base_url=emu.api_url))
        self.client.socket_mode_request_listeners.append(self.on_request)  # type: ignore[arg-type]

    def on_request(self, client: SocketModeClient, req: SocketModeRequest) -> None:
        self.received.append(req)
        if self.silent:
            return
        payload = {"response_type": "ephemeral", "text": f"got {req.payload['text']}"} \
            if req.type == "slash_commands" else None
        client.send_socket_mode_response(SocketModeResponse(envelope_id=req.envelope_id, payload=payload))


@pytest.fixture(scope="module")
def running() -> Iterator[tuple[SlackEmulator, App]]:
    """One emulator and one connected app for the module: slack_sdk's client takes ~1 s to close."""
    with SlackEmulator(signing_secret="unused") as emulator:
        emulator.socket_mode = True
        app = App(emulator)
        app.client.connect()
        yield emulator, app
        app.client.auto_reconnect_enabled = False
        emulator.socket.drop_connections()  # else close() waits for its blocked read to time out
        app.client.close()


@pytest.fixture
def emu(running: tuple[SlackEmulator, App]) -> SlackEmulator:
    emulator, app = running
    emulator.reset()
    emulator.sender.ack_timeout = 10
    app.received.clear()
    app.silent = False
    return emulator


@pytest.fixture
def app(running: tuple[SlackEmulator, App], emu: SlackEmulator) -> App:
    return running[1]


@pytest.fixture
def bare() -> Iterator[SlackEmulator]:
    """An emulator in Socket Mode that no app is connected to."""
    with SlackEmulator(signing_secret="unused") as emulator:
        emulator.socket_mode = True
        yield emulator


def test_connections_open_wants_the_app_level_token(bare: SlackEmulator) -> None:
    emu = bare
    web = WebClient(base_url=emu.api_url)
    for token, error in ((emu.bot_token, "not_allowed_token_type"), ("xapp-1-other", "invalid_auth")):
        with pytest.raises(SlackApiError) as exc:
            web.apps_connections_open(app_token=token)
        assert exc.value.response["error"] == error
    url = web.apps_connections_open(app_token=emu.app_token)["url"]
    assert url.startswith(f"ws://127.0.0.1:{emu.socket.port}/link/?ticket=")


def test_slash_command_goes_over_the_socket_and_the_ack_payload_is_the_answer(
        emu: SlackEmulator, app: App) -> None:
    resp = emu.slash_command("U0ALICE", "status INC-1")
    assert resp.status_code == 200
    assert resp.json() == {"response_type": "ephemeral", "text": "got status INC-1"}
    [req] = app.received
    assert req.type == "slash_commands" and req.accepts_response_payload
    assert req.payload["command"] == "/dataflow" and req.payload["user_id"] == "U0ALICE"
    assert [e["text"] for e in emu.ephemerals("U0ALICE")] == ["got status INC-1"]
    assert emu.deliveries()[0].envelope_type == "slash_commands"


def test_events_carry_retry_fields_and_redelivery_keeps_the_event_id(emu: SlackEmulator, app: App) -> None:
    emu.mention("U0BOB", CH, "help")
    emu.wait_for(lambda: len(app.received) == 2, what="message + app_mention")
    mention = app.received[1]
    assert mention.type == "events_api" and mention.payload["event"]["type"] == "app_mention"
    assert (mention.retry_attempt, mention.retry_reason) == (0, "")
    assert emu.redeliver(mention.payload["event_id"], 1, "timeout").status_code == 200
    retry = app.received[2]
    assert retry.payload["event_id"] == mention.payload["event_id"]
    assert (retry.retry_attempt, retry.retry_reason) == (1, "timeout")


def test_clicks_are_interactive_envelopes(emu: SlackEmulator, app: App) -> None:
    button = {"type": "button", "text": {"type": "plain_text", "text": "Go"}, "action_id": "go"}
    ts = emu.state.post(CH, "U0BOT", "pick", blocks=[{"type": "actions", "block_id": "b",
                                                      "elements": [button]}])["ts"]
    assert emu.click("U0ALICE", CH, ts, "go").status_code == 200
    [req] = app.received
    assert req.type == "interactive" and req.payload["actions"][0]["action_id"] == "go"


def test_no_ack_answers_504(emu: SlackEmulator, app: App) -> None:
    app.silent, emu.sender.ack_timeout = True, 0.3
    assert emu.slash_command("U0ALICE", "help").status_code == 504


def test_disconnect_makes_the_app_reconnect_with_a_new_url(emu: SlackEmulator, app: App) -> None:
    before = emu.socket.accepted
    emu.socket.disconnect()
    # slack_sdk opens the new connection, then closes the old one
    emu.wait_for(lambda: emu.socket.accepted == before + 1 and emu.socket_connections() == 1,
                 what="a reconnection")
    assert len(emu.calls("apps.connections.open")) == 1  # reset() forgot the first call
    assert emu.slash_command("U0ALICE", "after").json()["text"] == "got after"


def test_without_a_connection_sending_fails_clearly(bare: SlackEmulator) -> None:
    emu = bare
    emu.sender.ack_timeout = 0.1
    with pytest.raises(RuntimeError, match="no Socket Mode connection"):
        emu.slash_command("U0ALICE", "help")


# -- the wire, seen from another WebSocket client ---------------------------------------------------
def test_hello_first_pings_answered_and_tickets_used_once(bare: SlackEmulator) -> None:
    emu = bare
    url = WebClient(base_url=emu.api_url).apps_connections_open(app_token=emu.app_token)["url"]
    with connect(url, open_timeout=5) as ws:
        hello: dict[str, Any] = json.loads(ws.recv(timeout=5))
        assert hello["type"] == "hello" and hello["connection_info"] == {"app_id": "A0SANDBOX"}
        assert ws.ping(b"still there?").wait(5)            # the pong came back
        with pytest.raises(InvalidStatus) as refused:
            connect(url, open_timeout=5)
        assert refused.value.response.status_code == 401
    with pytest.raises(InvalidStatus) as elsewhere:
        connect(url.replace("/link/", "/other/"), open_timeout=5)
    assert elsewhere.value.response.status_code == 404
