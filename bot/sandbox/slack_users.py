"""What people do in the emulated Slack: commands, clicks, messages, reactions, shortcuts.

Each action changes the workspace first (a message is stored before its event is sent, as in Slack)
and returns the bot's HTTP answer. `retry_num`/`retry_reason` add X-Slack-Retry-* headers.
"""

from __future__ import annotations

import json
import time
from typing import Any

import httpx

from bot.sandbox.slack_blocks import find_button
from bot.sandbox.slack_client import SlackSender
from bot.sandbox.slack_responses import ResponseTarget
from bot.sandbox.slack_state import SlackState


def _public(msg: dict[str, Any]) -> dict[str, Any]:
    # Interactive payloads carry the message as clients see it: without message metadata.
    return {k: v for k, v in msg.items() if k != "metadata"}


class UserActions:
    """Mixin of SlackEmulator: the client side. Needs `state` and `sender`."""

    state: SlackState
    sender: SlackSender

    def _user_obj(self, user: str) -> dict[str, Any]:
        self.state.ensure_user(user)
        name = self.state.display_name(user)
        return {"id": user, "username": name, "name": name, "team_id": self.state.team_id}

    def _team(self) -> dict[str, Any]:
        return {"id": self.state.team_id, "domain": "sandbox"}

    def _message_or_fail(self, channel: str, ts: str) -> dict[str, Any]:
        msg = self.state.get(channel, ts)
        if msg is None:
            raise AssertionError(f"no message {ts} in channel {channel}")
        return msg

    def slash_command(self, user: str, text: str, channel: str = "C0INCIDENT", command: str = "/dataflow",
                      retry_num: int | None = None, retry_reason: str = "http_timeout") -> httpx.Response:
        """POST the command; an immediate JSON/text answer is shown like Slack does (ephemeral by default)."""
        info, who = self.state.channel(channel), self._user_obj(user)
        rid_url = self.sender.response_url(ResponseTarget(user=user, channel=channel))
        fields = {"token": "verification_token", "team_id": self.state.team_id, "team_domain": "sandbox",
                  "channel_id": channel, "channel_name": info["name"], "user_id": user,
                  "user_name": who["name"], "command": command, "text": text, "api_app_id": "A0SANDBOX",
                  "is_enterprise_install": "false", "response_url": rid_url,
                  "trigger_id": self.sender.trigger_id()}
        response = self.sender.send_form("slash_command", fields, retry_num=retry_num,
                                         retry_reason=retry_reason)
        self._show_command_answer(response, rid_url)
        return response

    def _show_command_answer(self, response: httpx.Response, rid_url: str) -> None:
        if response.status_code != 200 or not response.content.strip():
            return
        if response.headers.get("content-type", "").startswith("application/json"):
            answer = response.json()
        else:
            answer = {"text": response.text}
        if isinstance(answer, dict) and (answer.get("text") or answer.get("blocks")):
            self.sender.responses.apply(rid_url.rsplit("/", 1)[1], answer, via="ack")

    def click(self, user: str, channel: str, message_ts: str, action_id: str,
              retry_num: int | None = None, retry_reason: str = "http_timeout") -> httpx.Response:
        """Click the button `action_id` of a stored message: a block_actions payload (protocols.md 5.4)."""
        msg = self._message_or_fail(channel, message_ts)
        block, button = find_button(msg, action_id)
        container = {"type": "message", "message_ts": message_ts, "channel_id": channel,
                     "is_ephemeral": False}
        if msg.get("thread_ts"):
            container["thread_ts"] = msg["thread_ts"]
        target = ResponseTarget(user=user, channel=channel, message_ts=message_ts, source="block_actions")
        action = {"action_id": action_id, "block_id": block.get("block_id", ""), "text": button.get("text"),
                  "type": "button", "action_ts": f"{time.time():.6f}"}
        if "value" in button:
            action["value"] = button["value"]
        payload: dict[str, Any] = {
            "type": "block_actions", "user": self._user_obj(user), "api_app_id": "A0SANDBOX",
            "token": "verification_token", "container": container, "trigger_id": self.sender.trigger_id(),
            "team": self._team(), "enterprise": None, "is_enterprise_install": False,
            "channel": {"id": channel, "name": self.state.channel(channel)["name"]},
            "message": _public(msg), "state": {"values": {}},
            "response_url": self.sender.response_url(target), "actions": [action],
        }
        return self.sender.send_payload(payload, retry_num=retry_num, retry_reason=retry_reason)

    def message_shortcut(self, user: str, channel: str, message_ts: str, callback_id: str,
                         retry_num: int | None = None, retry_reason: str = "http_timeout") -> httpx.Response:
        msg = self._message_or_fail(channel, message_ts)
        target = ResponseTarget(user=user, channel=channel, source="message_action")
        payload = {
            "type": "message_action", "token": "verification_token", "callback_id": callback_id,
            "trigger_id": self.sender.trigger_id(), "response_url": self.sender.response_url(target),
            "team": self._team(), "channel": {"id": channel, "name": self.state.channel(channel)["name"]},
            "user": self._user_obj(user), "message": _public(msg), "message_ts": message_ts,
            "action_ts": f"{time.time():.6f}",
        }
        return self.sender.send_payload(payload, retry_num=retry_num, retry_reason=retry_reason)

    def post_user_message(self, user: str, channel: str, text: str, thread_ts: str | None = None,
                          retry_num: int | None = None, retry_reason: str = "http_timeout") -> str:
        """Store a human message and send its `message` event (+ `app_mention` if it mentions the bot)."""
        self.state.ensure_user(user)
        msg = self.state.post(channel, user, text, thread_ts=thread_ts)
        self.sender.send_event(self.sender.message_event(msg, channel), retry_num, retry_reason)
        if f"<@{self.state.bot_user_id}>" in text:
            mention = self.sender.message_event(msg, channel, kind="app_mention")
            self.sender.send_event(mention, retry_num, retry_reason)
        return str(msg["ts"])

    def mention(self, user: str, channel: str, text: str, thread_ts: str | None = None,
                retry_num: int | None = None, retry_reason: str = "http_timeout") -> str:
        return self.post_user_message(user, channel, f"<@{self.state.bot_user_id}> {text}", thread_ts,
                                      retry_num=retry_num, retry_reason=retry_reason)

    def add_reaction(self, user: str, channel: str, ts: str, name: str,
                     retry_num: int | None = None, retry_reason: str = "http_timeout") -> httpx.Response:
        self.state.ensure_user(user)
        msg = self._message_or_fail(channel, ts)
        self.state.add_reaction(channel, ts, user, name)
        event = {"type": "reaction_added", "user": user, "reaction": name,
                 "item": {"type": "message", "channel": channel, "ts": ts},
                 "item_user": msg["user"], "event_ts": f"{time.time():.6f}"}
        return self.sender.send_event(event, retry_num=retry_num, retry_reason=retry_reason)

    def send_event(self, event: dict[str, Any], retry_num: int | None = None,
                   retry_reason: str = "http_timeout", event_id: str | None = None) -> httpx.Response:
        """Any event, wrapped in an event_callback envelope; pass `event_id` to send the same one twice."""
        return self.sender.send_event(event, retry_num, retry_reason, event_id)

    def redeliver(self, event_id: str, retry_num: int = 1,
                  retry_reason: str = "http_timeout") -> httpx.Response:
        """Slack's retry of an event already delivered: same body and event_id, retry headers added."""
        return self.sender.redeliver(event_id, retry_num, retry_reason)

    def url_verification(self, challenge: str = "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"
                         ) -> httpx.Response:
        body = {"token": "verification_token", "challenge": challenge, "type": "url_verification"}
        return self.sender.send("url_verification", json.dumps(body).encode(), "application/json")

    def send_raw(self, body: bytes, content_type: str, signature: str | None = None,
                 timestamp: int | None = None, sign: bool = True) -> httpx.Response:
        """Forged, stale or unsigned requests: sign=False omits the signature header."""
        headers = self.sender.headers(body, content_type, timestamp=timestamp, signature=signature, sign=sign)
        return self.sender.send("raw", body, content_type, headers=headers)
