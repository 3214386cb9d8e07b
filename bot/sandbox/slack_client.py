"""The other direction: what Slack sends to the bot. Signed POSTs to its request URL (protocols.md 5.1),
or, with `socket_mode` on, unsigned envelopes over its Socket Mode connection (5.8).
"""

from __future__ import annotations

import itertools
import json
import secrets
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
from slack_sdk.signature import SignatureVerifier

from bot.sandbox.slack_responses import ResponseTarget, ResponseUrls
from bot.sandbox.slack_socket import Ack, SocketModeServer
from bot.sandbox.slack_state import SlackState

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"


@dataclass(frozen=True)
class Delivery:
    """One request sent to the bot: kept so an event can be redelivered the way Slack retries."""

    kind: str
    body: bytes
    content_type: str
    event_id: str | None
    status: int
    envelope_type: str | None = None  # set when it went over Socket Mode; body is then the payload JSON


class SlackSender:
    """Signs and POSTs requests to the bot; the emulator facade exposes one per workspace."""

    def __init__(self, state: SlackState, responses: ResponseUrls, signing_secret: str,
                 base_url: str, socket: SocketModeServer | None = None) -> None:
        self.state, self.responses = state, responses
        self.signing_secret, self.base_url = signing_secret, base_url
        self.request_url: str | None = None
        self.socket, self.socket_mode = socket, False
        self.ack_timeout = 10.0  # Slack waits 3 s; a loaded test machine needs more
        self.http = httpx.Client(timeout=httpx.Timeout(30.0, connect=5.0))
        self._ids = itertools.count(1)
        self.lock = threading.Lock()
        self.deliveries: list[Delivery] = []

    def clear(self) -> None:
        with self.lock:
            self.deliveries.clear()

    def unique(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):06d}{secrets.token_hex(4).upper()}"

    def trigger_id(self) -> str:
        return f"{next(self._ids)}.{int(time.time())}.{secrets.token_hex(8)}"

    def response_url(self, target: ResponseTarget) -> str:
        return f"{self.base_url}/response/{self.responses.register(target)}"

    # -- transport -------------------------------------------------------------------------------
    def headers(self, body: bytes, content_type: str, timestamp: int | None = None,
                signature: str | None = None, sign: bool = True) -> dict[str, str]:
        ts = str(int(time.time()) if timestamp is None else timestamp)
        headers = {"Content-Type": content_type, "X-Slack-Request-Timestamp": ts}
        if sign:
            computed = SignatureVerifier(self.signing_secret).generate_signature(timestamp=ts, body=body)
            headers["X-Slack-Signature"] = signature or str(computed)
        return headers

    def send(self, kind: str, body: bytes, content_type: str, *, event_id: str | None = None,
             retry_num: int | None = None, retry_reason: str = "http_timeout",
             headers: dict[str, str] | None = None) -> httpx.Response:
        if not self.request_url:
            raise RuntimeError("SlackEmulator.request_url is not set: where is the bot's /slack/events?")
        all_headers = headers or self.headers(body, content_type)
        if retry_num is not None:
            all_headers.update({"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": retry_reason})
        response = self.http.post(self.request_url, content=body, headers=all_headers)
        with self.lock:
            self.deliveries.append(Delivery(kind, body, content_type, event_id, response.status_code))
        return response

    def send_form(self, kind: str, fields: dict[str, str], **retry: Any) -> httpx.Response:
        """A slash command: form fields over HTTP, the same fields as a JSON payload over the socket."""
        if self.socket_mode:
            return self.over_socket(kind, "slash_commands", fields, **retry)
        return self.send(kind, urlencode(fields).encode(), FORM, **retry)

    def send_payload(self, payload: dict[str, Any], **retry: Any) -> httpx.Response:
        """Interactivity: one form field `payload` holding the JSON (over the socket: the payload itself)."""
        if self.socket_mode:
            return self.over_socket(str(payload["type"]), "interactive", payload, **retry)
        return self.send_form(str(payload["type"]), {"payload": json.dumps(payload)}, **retry)

    def over_socket(self, kind: str, envelope_type: str, payload: dict[str, Any], *,
                    event_id: str | None = None, retry_num: int | None = None,
                    retry_reason: str = "http_timeout") -> httpx.Response:
        """Send an envelope and wait for its ack, answered like HTTP: 200 with the ack's payload as
        JSON (empty for a bare ack), or 504 when no ack came within `ack_timeout`."""
        if self.socket is None:
            raise RuntimeError("this SlackSender has no Socket Mode server")
        envelope: dict[str, Any] = {
            "envelope_id": str(uuid.uuid4()), "type": envelope_type, "payload": payload,
            "accepts_response_payload": envelope_type == "slash_commands"
            or payload.get("type") in ("view_submission", "block_suggestion"),
        }
        if envelope_type == "events_api":  # only events are retried, and say so
            envelope.update(retry_attempt=retry_num or 0, retry_reason=retry_reason if retry_num else "")
        response = _ack_response(self.socket.deliver(envelope, self.ack_timeout), self.ack_timeout)
        with self.lock:
            self.deliveries.append(Delivery(kind, json.dumps(payload).encode(), JSON, event_id,
                                            response.status_code, envelope_type))
        return response

    # -- events ----------------------------------------------------------------------------------
    def envelope(self, event: dict[str, Any], event_id: str) -> dict[str, Any]:
        state = self.state
        return {
            "token": "verification_token", "team_id": state.team_id, "api_app_id": "A0SANDBOX",
            "event": event, "type": "event_callback", "event_id": event_id, "event_time": int(time.time()),
            "authorizations": [{"enterprise_id": None, "team_id": state.team_id, "user_id": state.bot_user_id,
                                "is_bot": True, "is_enterprise_install": False}],
            "authed_users": [state.bot_user_id], "is_ext_shared_channel": False,
            "event_context": f"4-{secrets.token_hex(12)}",
        }

    def send_event(self, event: dict[str, Any], retry_num: int | None = None,
                   retry_reason: str = "http_timeout", event_id: str | None = None) -> httpx.Response:
        event_id = event_id or self.unique("Ev")
        if self.socket_mode:
            return self.over_socket(str(event.get("type")), "events_api", self.envelope(event, event_id),
                                    event_id=event_id, retry_num=retry_num, retry_reason=retry_reason)
        body = json.dumps(self.envelope(event, event_id)).encode()
        return self.send(str(event.get("type")), body, JSON, event_id=event_id,
                         retry_num=retry_num, retry_reason=retry_reason)

    def redeliver(self, event_id: str, retry_num: int, retry_reason: str) -> httpx.Response:
        """Send an earlier event again, byte for byte, as Slack's retry of it (freshly signed)."""
        with self.lock:
            original = next((d for d in self.deliveries if d.event_id == event_id), None)
        if original is None:
            raise ValueError(f"no event {event_id} was delivered")
        if original.envelope_type:
            return self.over_socket(original.kind, original.envelope_type, json.loads(original.body),
                                    event_id=event_id, retry_num=retry_num, retry_reason=retry_reason)
        return self.send(original.kind, original.body, original.content_type, event_id=event_id,
                         retry_num=retry_num, retry_reason=retry_reason)

    def message_event(self, msg: dict[str, Any], channel: str, kind: str = "message") -> dict[str, Any]:
        event = {"type": kind, "user": msg["user"], "text": msg["text"], "ts": msg["ts"], "channel": channel,
                 "event_ts": msg["ts"], "team": self.state.team_id, "client_msg_id": msg.get("client_msg_id")}
        if kind == "message":
            event["channel_type"] = "channel"
        for key in ("thread_ts", "parent_user_id"):
            if key in msg:
                event[key] = msg[key]
        return event


def _ack_response(ack: Ack | None, timeout: float) -> httpx.Response:
    # Callers (and tests) read an HTTP-like answer whichever way the request went.
    if ack is None:
        return httpx.Response(504, text=f"no ack within {timeout} s")
    if ack.payload is None:
        return httpx.Response(200)
    return httpx.Response(200, json=ack.payload)
