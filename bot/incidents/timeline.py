"""Timeline capture as it happens: human messages in incident threads, :pushpin: and the shortcut."""

from __future__ import annotations

from typing import Any

from bot.deps import Deps
from bot.errors import UserInputError
from bot.models import Incident, TimelineEvent

PIN_REACTIONS = {"pushpin", "round_pushpin"}


def incident_of_message(deps: Deps, channel: str, ts: str, thread_ts: str | None) -> Incident | None:
    return deps.store.incident_for_thread(channel, thread_ts or ts)


def capture_message(deps: Deps, event: dict[str, Any]) -> bool:
    """A person wrote in an incident thread: record it with its original ts and author."""
    if event.get("bot_id") or event.get("subtype") not in (None, "thread_broadcast", "file_share"):
        return False
    thread_ts = event.get("thread_ts")
    if not thread_ts:
        return False
    inc = deps.store.incident_for_thread(event.get("channel", ""), thread_ts)
    if inc is None:
        return False
    return deps.store.add_event(inc.id, human_event(event))


def human_event(message: dict[str, Any], key: bool = False) -> TimelineEvent:
    return TimelineEvent(ts=float(message["ts"]), kind="human_message", text=message.get("text", ""),
                         actor=message.get("user"), key=key, source_id=f"msg:{message['ts']}")


def mark_key(deps: Deps, channel: str, message: dict[str, Any]) -> Incident:
    """The shortcut or :pushpin: on a message of an incident thread makes it a key event."""
    inc = incident_of_message(deps, channel, message["ts"], message.get("thread_ts"))
    if inc is None:
        raise UserInputError("This message is not in an incident thread.",
                             "Use “Add to incident timeline” on a message inside an incident's thread.")
    source_id = f"msg:{message['ts']}"
    if message.get("ts") == inc.root_ts:
        source_id = "opened"
    if not deps.store.mark_key_event(inc.id, source_id):
        deps.store.add_event(inc.id, human_event(message, key=True))
    return inc


def on_reaction(deps: Deps, event: dict[str, Any]) -> Incident | None:
    if event.get("reaction") not in PIN_REACTIONS or (event.get("item") or {}).get("type") != "message":
        return None
    item = event["item"]
    found = deps.slack.conversations_replies(channel=item["channel"], ts=item["ts"], limit=1, inclusive=True)
    messages = found.get("messages") or []
    message = next((m for m in messages if m.get("ts") == item["ts"]), None)
    if message is None:
        return None
    try:
        return mark_key(deps, item["channel"], message)
    except UserInputError:
        return None   # a pin outside incident threads is none of our business
