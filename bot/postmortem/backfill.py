"""Backfill: human thread messages the bot missed while it was down, from conversations.replies.

The fallback, not the source: Slack rate-limits conversations.replies hard (Tier 1 for some apps), so
the live `message` events are what the timeline is built from, and this runs at most once a minute per
incident (at export). deps.slack carries the rate-limit retry handler for the 429s it does get.
"""

from __future__ import annotations

import threading
from typing import Any

from slack_sdk.errors import SlackApiError

from bot.deps import Deps
from bot.incidents.timeline import PIN_REACTIONS, human_event
from bot.log import get_logger
from bot.models import Incident

log = get_logger(__name__)
PAGE_SIZE = 200
MAX_PAGES = 50   # 10,000 replies; a bound, so a huge thread cannot pin a worker for hours
BACKFILL_EVERY_SECONDS = 60
HUMAN_SUBTYPES = (None, "thread_broadcast", "file_share")


def is_human_reply(message: dict[str, Any], root_ts: str, bot_user_id: str) -> bool:
    """Same rule as live capture: people's replies, not the root, not bots (ours or others)."""
    if message.get("ts") == root_ts or message.get("bot_id") or message.get("subtype") not in HUMAN_SUBTYPES:
        return False
    return bool(message.get("user")) and message.get("user") != bot_user_id


def pinned(message: dict[str, Any]) -> bool:
    return any(r.get("name") in PIN_REACTIONS for r in message.get("reactions") or [])


def thread_messages(deps: Deps, channel: str, root_ts: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    # A SlackResponse iterates over its pages, following response_metadata.next_cursor.
    pages = deps.slack.conversations_replies(channel=channel, ts=root_ts, limit=PAGE_SIZE)
    for count, page in enumerate(pages, start=1):
        found += page.get("messages") or []
        if count == MAX_PAGES and (page.get("response_metadata") or {}).get("next_cursor"):
            log.warning("backfill stopped at the page limit", channel=channel, thread=root_ts, pages=MAX_PAGES)
            break
    return found


def backfill_thread(deps: Deps, inc: Incident) -> int:
    """Record the missed human replies (and :pushpin: marks); returns how many events were new."""
    if not inc.root_ts:
        return 0
    added = 0
    for message in thread_messages(deps, inc.channel, inc.root_ts):
        if not is_human_reply(message, inc.root_ts, deps.bot_user_id):
            continue
        key = pinned(message)
        if deps.store.add_event(inc.id, human_event(message, key=key)):
            added += 1
        elif key:
            deps.store.mark_key_event(inc.id, f"msg:{message['ts']}")
    if added:
        log.info("backfilled thread messages", incident=inc.id, added=added)
    return added


def backfill_if_due(deps: Deps, inc: Incident) -> int:
    """At most once a minute per incident; a Slack failure leaves the timeline as captured live."""
    if not deps.slack.token or not deps.store.first_time(f"backfill:{inc.id}", BACKFILL_EVERY_SECONDS):
        return 0
    try:
        return backfill_thread(deps, inc)
    except (SlackApiError, OSError) as exc:
        log.warning("backfill failed", incident=inc.id, error=deps.redactor.text(str(exc)))
        return 0


def backfill_open_incidents(deps: Deps, stop: threading.Event) -> None:
    """Background, once at start: the bot may have been down; record what people wrote meanwhile."""
    channel = deps.settings.incident_channel or ""
    for inc in deps.store.incidents(channel, limit=50):
        if stop.is_set():
            return
        if inc.status == "open" and inc.root_ts:
            backfill_if_due(deps, inc)
