"""Posting into incident threads exactly once, across retries, workers and replicas."""

from __future__ import annotations

from itertools import islice
from typing import Any

from bot.blocks.incident import incident_metadata, root_blocks, root_text
from bot.deps import Deps
from bot.models import Incident, TimelineEvent

HISTORY_LOOKBACK_SECONDS = 600.0
MAX_PAGES = 20


class ThreadPoster:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps
        self.store = deps.store
        self.slack = deps.slack

    def ensure_root(self, inc: Incident) -> str:
        """The incident's root message: posted once, its ts stored on the incident."""
        if inc.root_ts:
            return inc.root_ts
        ts = self.post_once(inc, "root", None, root_text(inc), root_blocks(inc, self.deps.settings.display_tz))
        with self.store.lock(f"corr:{inc.correlation_key}"):
            current = self.store.incident(inc.id) or inc
            current.root_ts = ts
            self.store.save_incident(current)
        inc.root_ts = ts
        return ts

    def update_root(self, inc: Incident) -> None:
        if inc.root_ts:
            self.slack.chat_update(channel=inc.channel, ts=inc.root_ts, text=root_text(inc),
                                   blocks=root_blocks(inc, self.deps.settings.display_tz),
                                   metadata=incident_metadata(inc.id, "root"))

    def reply(self, inc: Incident, kind: str, text: str, blocks: list[dict[str, Any]] | None = None) -> str:
        return self.post_once(inc, kind, self.ensure_root(inc), text, blocks)

    def post_once(self, inc: Incident, kind: str, thread_ts: str | None, text: str,
                  blocks: list[dict[str, Any]] | None) -> str:
        """Claim, look for an earlier attempt's message, post, record: never twice for one kind."""
        if ts := self.store.post_ts(inc.id, kind):
            return ts
        # Longer than a Slack call with its retries; a worker that died holding it delays this post that long.
        hold = self.deps.settings.slack_post_lock_seconds
        with self.store.lock(f"post:{inc.id}:{kind}", ttl_s=hold, wait_s=hold):
            if ts := self.store.post_ts(inc.id, kind):
                return ts
            found = self._find_posted(inc, kind, thread_ts) if self.store.attempted(inc.id, kind) else None
            if found is None:
                self.store.mark_attempt(inc.id, kind)
                resp = self.slack.chat_postMessage(channel=inc.channel, thread_ts=thread_ts, text=text,
                                                   blocks=blocks, metadata=incident_metadata(inc.id, kind))
                found = str(resp["ts"])
            self.store.record_post(inc.id, kind, found)
        if kind != "root":
            self.store.add_event(inc.id, TimelineEvent(ts=float(found), kind="bot_post", actor="bot", text=text,
                                                       source_id=f"post:{kind}", data={"kind": kind}))
        return found

    def _find_posted(self, inc: Incident, kind: str, thread_ts: str | None) -> str | None:
        """An earlier attempt died between posting and recording: find its message by metadata."""
        if thread_ts:
            messages = self._paged("conversations_replies", channel=inc.channel, ts=thread_ts)
        else:
            oldest = f"{inc.opened_at - HISTORY_LOOKBACK_SECONDS:.6f}"
            messages = self._paged("conversations_history", channel=inc.channel, oldest=oldest)
        for message in messages:
            payload = (message.get("metadata") or {}).get("event_payload") or {}
            if payload.get("incident_id") == inc.id and payload.get("kind") == kind:
                return str(message["ts"])
        return None

    def _paged(self, method: str, **kwargs: Any) -> list[dict[str, Any]]:
        # A SlackResponse iterates over its pages, following response_metadata.next_cursor.
        first = getattr(self.slack, method)(include_all_metadata=True, limit=200, **kwargs)
        return [m for page in islice(first, MAX_PAGES) for m in page.get("messages") or []]
