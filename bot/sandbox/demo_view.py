"""What changed in the sandbox's Slack after one action of the interactive demo, as a person reads it.

Pure functions over the emulator's messages: a snapshot before the action, the news after it (new and
edited thread messages, new private answers), each rendered with the same mrkdwn renderer as the thread.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from bot.sandbox.slack_blocks import block_lines, buttons

PROGRESS = ":hourglass_flowing_sand: Working on"   # bot/commands/dispatch.py's ack of a slow subcommand
Render = Callable[[dict[str, Any]], list[str]]   # one message -> its lines (header and body)
Plain = Callable[[str], str]                      # mrkdwn -> plain text


@dataclass(frozen=True)
class Seen:
    """The thread's messages by ts with a fingerprint of what they show, and how many private answers."""

    thread: dict[str, str]
    ephemerals: int


def fingerprint(msg: dict[str, Any]) -> str:
    shown = {k: msg.get(k) for k in ("text", "blocks", "files", "reactions")}
    return json.dumps(shown, sort_keys=True, default=str)


def snapshot(thread: Sequence[dict[str, Any]], ephemerals: Sequence[dict[str, Any]]) -> Seen:
    return Seen({m["ts"]: fingerprint(m) for m in thread}, len(ephemerals))


def ephemeral_lines(ephemeral: dict[str, Any], plain: Plain) -> list[str]:
    """A private answer: its blocks when it has them (the text is their fallback), else its text."""
    body: list[str] = []
    for block in ephemeral.get("blocks") or []:
        body += block_lines(block)
    text = "\n".join(body) if body else str(ephemeral.get("text") or "")
    return plain(text).splitlines() or [""]


def news(before: Seen, thread: Sequence[dict[str, Any]], ephemerals: Sequence[dict[str, Any]], who: str,
         render: Render, plain: Plain) -> list[str]:
    """Lines for what appeared or changed since `before`; empty when nothing did."""
    lines: list[str] = []
    for msg in thread:
        old = before.thread.get(msg["ts"])
        if old == fingerprint(msg):
            continue
        lines.append("In the thread, " + ("new:" if old is None else "edited:"))
        lines += [f"  | {line}" for line in render(msg)]
    for ephemeral in ephemerals[before.ephemerals:]:
        lines.append(f"Only {who} sees:")
        lines += [f"  > {line}" for line in ephemeral_lines(ephemeral, plain)]
    return lines


def only_progress(before: Seen, thread: Sequence[dict[str, Any]], ephemerals: Sequence[dict[str, Any]]) -> bool:
    """True while the only news is the bot's "Working on `x`…" ack: the answer itself is still to come."""
    changed = [m for m in thread if before.thread.get(m["ts"]) != fingerprint(m)]
    fresh = ephemerals[before.ephemerals:]
    return not changed and bool(fresh) and all(str(e.get("text", "")).startswith(PROGRESS) for e in fresh)


def newest_with_button(thread: Sequence[dict[str, Any]], action_id: str) -> dict[str, Any] | None:
    return next((m for m in reversed(thread) if any(b.get("action_id") == action_id
                                                    for _, b in buttons(m.get("blocks")))), None)


def button_ids(thread: Sequence[dict[str, Any]]) -> list[str]:
    """Every button's action_id in the thread now, once each, newest message last."""
    ids = [str(b.get("action_id")) for m in thread for _, b in buttons(m.get("blocks"))]
    return list(dict.fromkeys(ids))


def no_button_text(action_id: str, thread: Sequence[dict[str, Any]]) -> str:
    """Said at once when the button is gone: a decided or ended request has its buttons removed."""
    there = ", ".join(button_ids(thread)) or "none"
    return (f"No {action_id} button in the thread now: it was used, or its request ended (decided, expired or "
            f"void). Buttons there now: {there}.")
