"""Posting into incident threads exactly once, across retries, workers and replicas."""

from __future__ import annotations

import time
from collections.abc import Callable
from itertools import islice
from typing import Any, TypeVar

from slack_sdk.errors import SlackApiError

from bot.blocks.incident import incident_metadata, root_blocks_for, root_text
from bot.deps import Deps
from bot.incidents.channels import ChannelUnavailable, candidates, channel_gone, known_gone, mark_gone
from bot.incidents.root_edits import request_root_edit
from bot.models import Incident, TimelineEvent

HISTORY_LOOKBACK_SECONDS = 600.0
MAX_PAGES = 20
# What Slack answers about a message or thread that no longer exists: someone deleted the root, and Slack
# has no undo. Retrying cannot help; the incident carries on under a new root.
GONE = frozenset({"message_not_found", "thread_not_found"})
REPLACED_NOTE = (":information_source: The previous root message of this incident was deleted in Slack; "
                 "this thread continues it.")


T = TypeVar("T")
# A root deleted and then its channel archived: each handled once, then the failure is real.
RELOCATIONS = 3


def gone(exc: SlackApiError) -> bool:
    return exc.response.get("error") in GONE


def moved_note(leaving: str) -> str:
    return (f":information_source: This incident's channel <#{leaving}> was archived or deleted; this thread "
            "continues it here.")


class ThreadPoster:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps
        self.store = deps.store
        self.slack = deps.slack

    def ensure_root(self, inc: Incident) -> str:
        """The incident's root message: posted once, its ts stored on the incident."""
        if inc.root_ts:
            return inc.root_ts
        if self._elsewhere_first(inc.channel):
            return self.move_incident(inc, inc.channel)
        try:
            ts = self.post_once(inc, "root", None, root_text(inc), root_blocks_for(inc, self.deps.settings))
        except SlackApiError as exc:
            if not channel_gone(exc):
                raise
            return self.move_incident(inc, inc.channel)
        with self.store.lock(f"corr:{inc.correlation_key}"):
            current = self.store.incident(inc.id) or inc
            current.root_ts = ts
            self.store.save_incident(current)
        inc.root_ts = ts
        return ts

    def update_root(self, inc: Incident) -> None:
        """Ask for the root to show the incident's current state; the root editor makes the edit, coalesced
        with others (bot/incidents/root_edits.py)."""
        if inc.root_ts:
            request_root_edit(self.store, inc.id, self.deps.settings.root_edit_interval_seconds)

    def refresh_root(self, inc: Incident) -> None:
        """Edit the root now (the root editor's call)."""
        if not inc.root_ts:
            return
        try:
            self.slack.chat_update(channel=inc.channel, ts=inc.root_ts, text=root_text(inc),
                                   blocks=self._root_blocks(inc), metadata=incident_metadata(inc.id, "root"))
        except SlackApiError as exc:
            if not self.relocate(inc, exc):   # the new root shows the current state already
                raise

    def reply(self, inc: Incident, kind: str, text: str, blocks: list[dict[str, Any]] | None = None,
              parts: list[tuple[str, str]] | None = None) -> str:
        """A thread reply, once per kind. `parts`: (kind, text) of the replies this one message carries, each
        recorded on the timeline as its own post (else the message is recorded under `kind`)."""
        return self._relocating(inc, lambda: self.post_once(inc, kind, self.ensure_root(inc), text, blocks, parts))

    def _relocating(self, inc: Incident, send: Callable[[], T]) -> T:
        """`send` again after the root or its channel turned out gone (relocate); each kind of loss is
        handled once, then a failure is real."""
        for _ in range(RELOCATIONS):
            try:
                return send()
            except SlackApiError as exc:
                if not self.relocate(inc, exc):
                    raise
        return send()

    def relocate(self, inc: Incident, exc: SlackApiError) -> bool:
        """After a post or edit failed: when the root or its channel is gone, give the incident a new root
        (in a channel that takes posts) and say True; False for any other failure."""
        if gone(exc) and inc.root_ts:
            self.replace_root(inc, inc.root_ts)
            return True
        if channel_gone(exc):
            self.move_incident(inc, inc.channel)
            return True
        return False

    def move_incident(self, inc: Incident, leaving: str) -> str:
        """The incident's channel is archived or deleted: its root goes to the next channel that takes posts,
        saying why, once; ChannelUnavailable (the alert is held) when there is none."""
        mark_gone(self.store.r, leaving)
        current = self.store.incident(inc.id) or inc
        if current.channel != leaving and current.root_ts:   # another worker moved it already
            inc.channel, inc.root_ts, inc.moved_from = current.channel, current.root_ts, current.moved_from
            return current.root_ts
        for target in candidates(self.deps.settings, leaving):
            if known_gone(self.store.r, target):
                continue
            try:
                ts = self.post_once_for(inc.id, target, inc.opened_at, f"root-in:{target}", None, root_text(inc),
                                        [_note(moved_note(leaving)), *root_blocks_for(inc, self.deps.settings)])
            except SlackApiError as exc:
                if not channel_gone(exc):
                    raise
                mark_gone(self.store.r, target)
                continue
            return self._moved(inc, leaving, target, ts)
        raise ChannelUnavailable([leaving, *candidates(self.deps.settings, leaving)])

    def _elsewhere_first(self, channel: str) -> bool:
        """A channel found gone minutes ago is not tried again while another one takes posts; when it is the
        only channel, it is tried (someone may have unarchived it)."""
        r = self.store.r
        return known_gone(r, channel) and any(not known_gone(r, c) for c in candidates(self.deps.settings, channel))

    def _moved(self, inc: Incident, leaving: str, target: str, ts: str) -> str:
        with self.store.lock(f"corr:{inc.correlation_key}"):
            current = self.store.incident(inc.id) or inc
            if current.channel == leaving:
                current.channel, current.root_ts, current.moved_from = target, ts, leaving
                self.store.save_incident(current)
        inc.channel, inc.root_ts, inc.moved_from = current.channel, current.root_ts, current.moved_from
        self.store.add_event(inc.id, TimelineEvent(
            ts=time.time(), kind="note", actor="bot", source_id=f"moved:{leaving}",
            text=f"The incident's channel <#{leaving}> was archived or deleted; the incident moved to <#{target}>"))
        return inc.root_ts or ts

    def replace_root(self, inc: Incident, gone_ts: str) -> str:
        """The root was deleted: post a new one that says so, once, and make it the incident's root, so
        that every line after goes there. Whoever comes second finds it already replaced."""
        current = self.store.incident(inc.id) or inc
        if current.root_ts and current.root_ts != gone_ts:
            inc.root_ts = current.root_ts
            return current.root_ts
        ts = self.post_once(inc, f"root-after:{gone_ts}", None, root_text(inc),
                            [_note(REPLACED_NOTE), *self._root_blocks(inc)])
        with self.store.lock(f"corr:{inc.correlation_key}"):
            current = self.store.incident(inc.id) or inc
            if current.root_ts == gone_ts:
                current.root_ts = ts
                self.store.save_incident(current)
        inc.root_ts = current.root_ts
        self.store.add_event(inc.id, TimelineEvent(
            ts=time.time(), kind="note", actor="bot", source_id=f"root-replaced:{gone_ts}",
            text="The root message was deleted in Slack; a new root continues the incident"))
        return inc.root_ts or ts

    def _root_blocks(self, inc: Incident) -> list[dict[str, Any]]:
        blocks = root_blocks_for(inc, self.deps.settings)
        if inc.moved_from:
            return [_note(moved_note(inc.moved_from)), *blocks]
        replaced = self.store.post_ts(inc.id, "root") not in (None, inc.root_ts)
        return [_note(REPLACED_NOTE), *blocks] if replaced else blocks

    def post_once(self, inc: Incident, kind: str, thread_ts: str | None, text: str,
                  blocks: list[dict[str, Any]] | None, parts: list[tuple[str, str]] | None = None) -> str:
        """Claim, look for an earlier attempt's message, post, record: never twice for one kind."""
        found = self.post_once_for(inc.id, inc.channel, inc.opened_at, kind, thread_ts, text, blocks)
        if kind != "root":
            for part_kind, part_text in parts or [(kind, text)]:
                self.store.add_event(inc.id, TimelineEvent(ts=float(found), kind="bot_post", actor="bot",
                                                           text=part_text, source_id=f"post:{part_kind}",
                                                           data={"kind": part_kind}))
        return found

    def post_once_for(self, owner: str, channel: str, since: float, kind: str, thread_ts: str | None, text: str,
                      blocks: list[dict[str, Any]] | None) -> str:
        """post_once for any owner of messages (an incident, a storm summary); `since`: when the owner began,
        where a look-up for an earlier attempt's top-level message starts."""
        if ts := self.store.post_ts(owner, kind):
            return ts
        # Longer than a Slack call with its retries; a worker that died holding it delays this post that long.
        hold = self.deps.settings.slack_post_lock_seconds
        with self.store.lock(f"post:{owner}:{kind}", ttl_s=hold, wait_s=hold):
            if ts := self.store.post_ts(owner, kind):
                return ts
            found = self._find_posted(owner, channel, since, kind, thread_ts) \
                if self.store.attempted(owner, kind) else None
            if found is None:
                self.store.mark_attempt(owner, kind)
                resp = self.slack.chat_postMessage(channel=channel, thread_ts=thread_ts, text=text,
                                                   blocks=blocks, metadata=incident_metadata(owner, kind))
                found = str(resp["ts"])
            self.store.record_post(owner, kind, found)
        return found

    def upload_once(self, inc: Incident, kind: str, filename: str, content: str | bytes,
                    alt_text: str | None = None) -> None:
        """A file in the incident's thread, once: an attempt that died after Slack completed the upload
        is found again in the thread (by file name) instead of uploading a second copy. `content`: text,
        or bytes (an image); `alt_text` describes an image for screen readers (it travels in
        files.getUploadURLExternal, a Web API call, so the client's central redaction covers it)."""
        self._relocating(inc, lambda: self._upload_once(inc, kind, filename, content, alt_text))

    def _upload_once(self, inc: Incident, kind: str, filename: str, content: str | bytes,
                     alt_text: str | None) -> None:
        if self.store.post_ts(inc.id, kind) or not inc.root_ts:
            return
        with self.store.lock(f"post:{inc.id}:{kind}", ttl_s=self.deps.settings.slack_post_lock_seconds,
                             wait_s=self.deps.settings.slack_post_lock_seconds):
            if self.store.post_ts(inc.id, kind):
                return
            found = self._find_file(inc, filename) if self.store.attempted(inc.id, kind) else None
            if found is None:
                self.store.mark_attempt(inc.id, kind)
                self.slack.files_upload_v2(channel=inc.channel, thread_ts=inc.root_ts, filename=filename,
                                           title=filename, content=content,
                                           alt_txt=alt_text)
                found = inc.root_ts
            self.store.record_post(inc.id, kind, found)

    def _find_file(self, inc: Incident, filename: str) -> str | None:
        for message in self._paged("conversations_replies", channel=inc.channel, ts=inc.root_ts):
            if any(f.get("name") == filename for f in message.get("files") or []):
                return str(message["ts"])
        return None

    def _find_posted(self, owner: str, channel: str, since: float, kind: str, thread_ts: str | None) -> str | None:
        """An earlier attempt died between posting and recording: find its message by metadata."""
        if thread_ts:
            messages = self._paged("conversations_replies", channel=channel, ts=thread_ts)
        else:
            oldest = f"{since - HISTORY_LOOKBACK_SECONDS:.6f}"
            messages = self._paged("conversations_history", channel=channel, oldest=oldest)
        for message in messages:
            payload = (message.get("metadata") or {}).get("event_payload") or {}
            if payload.get("incident_id") == owner and payload.get("kind") == kind:
                return str(message["ts"])
        return None

    def _paged(self, method: str, **kwargs: Any) -> list[dict[str, Any]]:
        # A SlackResponse iterates over its pages, following response_metadata.next_cursor.
        first = getattr(self.slack, method)(include_all_metadata=True, limit=200, **kwargs)
        return [m for page in islice(first, MAX_PAGES) for m in page.get("messages") or []]


def _note(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}
