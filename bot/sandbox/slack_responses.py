"""response_url: the URLs handed out with commands/actions, and what a POST to one does in the workspace."""

from __future__ import annotations

import itertools
import secrets
import threading
from dataclasses import dataclass, field
from typing import Any

from bot.sandbox.slack_state import SlackState

MAX_POSTS = 5  # Slack allows 5 posts per response_url (in 30 minutes).


@dataclass
class ResponseTarget:
    """Where a response_url came from: who triggered it, where, and which message carried the button."""

    user: str
    channel: str
    message_ts: str | None = None
    source: str = "slash_command"
    posts: list[dict[str, Any]] = field(default_factory=list)


class ResponseUrls:
    def __init__(self, state: SlackState) -> None:
        self._state = state
        self._targets: dict[str, ResponseTarget] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def register(self, target: ResponseTarget) -> str:
        """A fresh id for the URL path /response/<id>; unguessable like Slack's."""
        with self._lock:
            rid = f"{next(self._ids)}-{secrets.token_hex(6)}"
            self._targets[rid] = target
            return rid

    def clear(self) -> None:
        with self._lock:
            self._targets.clear()

    def posts(self) -> list[dict[str, Any]]:
        with self._lock:
            return [post for target in self._targets.values() for post in target.posts]

    def apply(self, rid: str, payload: dict[str, Any], via: str = "response_url") -> tuple[int, dict[str, Any]]:
        """Record and apply one POST (or a command's immediate answer: via="ack"); (HTTP status, body)."""
        with self._lock:
            target = self._targets.get(rid)
            if target is None:
                return 404, {"ok": False, "error": "expired_url"}
            if len(target.posts) >= MAX_POSTS:
                return 404, {"ok": False, "error": "used_url"}
            target.posts.append({"target": target.source, "user": target.user, "via": via, **payload})
        return self._apply(target, payload, via)

    def _apply(self, target: ResponseTarget, payload: dict[str, Any], via: str) -> tuple[int, dict[str, Any]]:
        state, text, blocks = self._state, payload.get("text") or "", payload.get("blocks")
        thread_ts = payload.get("thread_ts")
        if payload.get("delete_original") and target.message_ts:
            state.delete(target.channel, target.message_ts)
            return 200, {"ok": True}
        if not text and not blocks:
            return 400, {"ok": False, "error": "no_text"}
        if payload.get("replace_original") and target.message_ts:
            # replace_original replaces the whole message: no blocks given means none remain.
            state.update(target.channel, target.message_ts, text=text, blocks=blocks or [])
        elif payload.get("response_type") == "in_channel":
            state.post(target.channel, state.bot_user_id, text, blocks=blocks, thread_ts=thread_ts)
        else:
            state.add_ephemeral({"channel": target.channel, "user": target.user, "text": text,
                                 "blocks": blocks, "thread_ts": thread_ts, "source": via})
        return 200, {"ok": True}
