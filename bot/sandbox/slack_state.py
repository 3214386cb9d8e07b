"""In-memory Slack workspace: channels, users, messages and threads. Thread-safe (one lock).

Everything handed out is a deep copy, so callers can never mutate the workspace by accident.
"""

from __future__ import annotations

import copy
import threading
import time
import uuid
from decimal import Decimal, InvalidOperation
from typing import Any

from bot.sandbox.slack_args import SlackError

Message = dict[str, Any]


def ts_micros(ts: str) -> int:
    """"1741083400.000200" -> 1741083400000200; also accepts "0" or "1741083400" (oldest/latest)."""
    try:
        return int(Decimal(ts) * 1_000_000)
    except (InvalidOperation, ValueError):
        raise SlackError("invalid_arguments", f"bad timestamp {ts!r}") from None


class TsClock:
    """Slack-style message timestamps from the wall clock: unique and strictly increasing."""

    def __init__(self) -> None:
        self._last = 0
        self._lock = threading.Lock()

    def next(self) -> str:
        with self._lock:
            self._last = max(time.time_ns() // 1000, self._last + 1)
            return f"{self._last // 1_000_000}.{self._last % 1_000_000:06d}"


def is_top_level(msg: Message) -> bool:
    """What conversations.history shows: roots, plain messages and replies broadcast to the channel."""
    return msg.get("thread_ts") in (None, msg["ts"]) or msg.get("subtype") == "thread_broadcast"


class SlackState:
    """The workspace. Methods raise SlackError with Slack's codes; the API layer turns them into JSON."""

    def __init__(self, team_id: str, bot_user_id: str, bot_id: str) -> None:
        self.team_id, self.bot_user_id, self.bot_id = team_id, bot_user_id, bot_id
        self.lock = threading.RLock()
        self.clock = TsClock()
        self.channels: dict[str, dict[str, Any]] = {}
        self.users: dict[str, dict[str, Any]] = {}
        self.usergroups: dict[str, dict[str, Any]] = {}
        self._messages: dict[str, dict[str, Message]] = {}
        self.ephemerals: list[dict[str, Any]] = []
        # Paging of conversations.history/replies; 15/15 emulates Slack's 2025 Tier-1 rule.
        self.default_limit = 1000
        self.max_limit = 1000

    def reset(self) -> None:
        """Back to an empty workspace (no channels, users or messages); the facade re-seeds it."""
        with self.lock:
            for table in (self.channels, self.users, self.usergroups, self._messages):
                table.clear()
            self.ephemerals.clear()
            self.default_limit = self.max_limit = 1000

    # -- directory -------------------------------------------------------------------------------
    def add_channel(self, channel_id: str, name: str) -> None:
        with self.lock:
            self.channels[channel_id] = {"id": channel_id, "name": name, "is_channel": True}
            self._messages.setdefault(channel_id, {})

    def set_archived(self, channel_id: str, archived: bool) -> None:
        """conversations.archive/unarchive: an archived channel keeps its history and takes no posts or edits."""
        with self.lock:
            self.channel(channel_id)
            self.channels[channel_id]["is_archived"] = archived

    def _writable(self, channel_id: str) -> None:
        if self.channel(channel_id).get("is_archived"):
            raise SlackError("is_archived", f"channel {channel_id} is archived")

    def add_user(self, user_id: str, name: str, real_name: str = "", is_bot: bool = False) -> None:
        real = real_name or name
        user: dict[str, Any] = {
            "id": user_id, "team_id": self.team_id, "name": name, "real_name": real, "deleted": False,
            "is_bot": is_bot, "is_app_user": False, "tz": "Asia/Ho_Chi_Minh",
            "profile": {"display_name": name, "real_name": real, "team": self.team_id},
        }
        if is_bot:
            user["profile"]["bot_id"] = self.bot_id
        with self.lock:
            self.users[user_id] = user

    def ensure_user(self, user_id: str) -> None:
        """Users who act in Slack exist by definition; invent one for an id the test never added."""
        with self.lock:
            if user_id not in self.users:
                self.add_user(user_id, user_id.lower())

    def add_usergroup(self, group_id: str, handle: str, user_ids: list[str]) -> None:
        with self.lock:
            self.usergroups[group_id] = {"id": group_id, "handle": handle, "users": list(user_ids)}

    def channel(self, channel_id: str | None) -> dict[str, Any]:
        with self.lock:
            if channel_id not in self.channels:
                raise SlackError("channel_not_found", f"no channel {channel_id!r}")
            return dict(self.channels[channel_id])

    def user(self, user_id: str | None) -> dict[str, Any]:
        with self.lock:
            if user_id not in self.users:
                raise SlackError("user_not_found", f"no user {user_id!r}")
            return copy.deepcopy(self.users[user_id])

    def display_name(self, user_id: str) -> str:
        with self.lock:
            return str(self.users.get(user_id, {}).get("name", user_id))

    # -- messages --------------------------------------------------------------------------------
    def post(self, channel: str, user: str, text: str, **fields: Any) -> Message:
        """Store a new message. fields: blocks, metadata, thread_ts, reply_broadcast, files."""
        with self.lock:
            self._writable(channel)
            msg: Message = {"type": "message", "user": user, "text": text, "ts": self.clock.next(),
                            "team": self.team_id}
            if user == self.bot_user_id:
                msg.update(bot_id=self.bot_id, app_id="A0SANDBOX")
            else:
                msg["client_msg_id"] = str(uuid.uuid4())
            for key in ("blocks", "metadata", "files"):
                if fields.get(key):
                    msg[key] = fields[key]
            if fields.get("thread_ts"):
                self._attach_to_thread(channel, msg, fields["thread_ts"], bool(fields.get("reply_broadcast")))
            self._messages[channel][msg["ts"]] = msg
            if "thread_ts" in msg:
                self._refresh_parent(channel, msg["thread_ts"])
            return copy.deepcopy(msg)

    def _attach_to_thread(self, channel: str, msg: Message, thread_ts: str, broadcast: bool) -> None:
        parent = self._messages[channel].get(thread_ts)
        if parent is None:
            raise SlackError("thread_not_found", f"no message {thread_ts} in {channel}")
        # A reply to a reply lands in the same thread, as in the Slack client.
        root = self._messages[channel][parent.get("thread_ts", thread_ts)]
        msg.update(thread_ts=root["ts"], parent_user_id=root["user"])
        if broadcast:
            msg["subtype"] = "thread_broadcast"

    def _refresh_parent(self, channel: str, parent_ts: str) -> None:
        """Recompute the parent's thread fields from its replies (after a post or a delete)."""
        parent = self._messages[channel].get(parent_ts)
        if parent is None:
            return
        replies = [m for m in self._messages[channel].values() if m.get("thread_ts") == parent_ts
                   and m["ts"] != parent_ts]
        users = list(dict.fromkeys(m["user"] for m in replies))
        parent.update(thread_ts=parent_ts, reply_count=len(replies), reply_users=users,
                      reply_users_count=len(users), latest_reply=replies[-1]["ts"] if replies else parent_ts)

    def update(self, channel: str, ts: str, **changes: Any) -> Message:
        """Edit a stored message in place; only the keys given (text, blocks, metadata) change.

        `blocks=[]` removes the blocks, as in Slack's chat.update.
        """
        with self.lock:
            self._writable(channel)
            msg = self._find(channel, ts)
            for key, value in changes.items():
                if value == [] and key == "blocks":
                    msg.pop("blocks", None)
                elif value is not None:
                    msg[key] = value
            msg["edited"] = {"user": msg["user"], "ts": self.clock.next()}
            return copy.deepcopy(msg)

    def delete(self, channel: str, ts: str) -> None:
        with self.lock:
            msg = self._find(channel, ts)
            del self._messages[channel][ts]
            if msg.get("thread_ts") not in (None, ts):
                self._refresh_parent(channel, msg["thread_ts"])

    def _find(self, channel: str, ts: str | None) -> Message:
        self.channel(channel)
        msg = self._messages[channel].get(ts or "")
        if msg is None:
            raise SlackError("message_not_found", f"no message {ts} in {channel}")
        return msg

    def get(self, channel: str, ts: str) -> Message | None:
        with self.lock:
            msg = self._messages.get(channel, {}).get(ts)
            return copy.deepcopy(msg) if msg else None

    def top_level(self, channel: str) -> list[Message]:
        """Channel history, oldest first."""
        with self.lock:
            self.channel(channel)
            return copy.deepcopy([m for m in self._messages[channel].values() if is_top_level(m)])

    def thread(self, channel: str, ts: str) -> list[Message]:
        """[parent, replies...] oldest first; `ts` may also be one of the replies."""
        with self.lock:
            self.channel(channel)
            msg = self._messages[channel].get(ts)
            if msg is None:
                raise SlackError("thread_not_found", f"no message {ts} in {channel}")
            root = msg.get("thread_ts", ts)
            return copy.deepcopy([m for m in self._messages[channel].values()
                                  if m["ts"] == root or m.get("thread_ts") == root])

    def add_reaction(self, channel: str, ts: str, user: str, name: str) -> None:
        with self.lock:
            msg = self._find(channel, ts)
            reactions: list[dict[str, Any]] = msg.setdefault("reactions", [])
            entry = next((r for r in reactions if r["name"] == name), None)
            if entry is None:
                entry = {"name": name, "users": [], "count": 0}
                reactions.append(entry)
            if user in entry["users"]:
                raise SlackError("already_reacted")
            entry["users"].append(user)
            entry["count"] = len(entry["users"])

    def add_ephemeral(self, ephemeral: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            stored = {"message_ts": self.clock.next(), **ephemeral}
            self.ephemerals.append(stored)
            return copy.deepcopy(stored)
