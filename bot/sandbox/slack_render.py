"""A thread as a person reads it in Slack, in plain text (the demo prints this)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from bot.sandbox.slack_blocks import block_lines
from bot.sandbox.slack_state import SlackState, ts_micros


def _clock(ts: str) -> str:
    return datetime.fromtimestamp(ts_micros(ts) / 1_000_000, tz=UTC).strftime("%H:%M:%S")


TextFilter = Callable[[str], str]


def _as_is(text: str) -> str:
    return text


def message_lines(state: SlackState, msg: dict[str, Any], shown: TextFilter = _as_is) -> list[str]:
    """Header line, then the body: blocks when present (the text is only their fallback), files, reactions.

    `shown` renders the body as a whole (mrkdwn to plain text), before it is indented.
    """
    author = state.display_name(msg["user"]) + (" (bot)" if msg.get("bot_id") else "")
    edited = " (edited)" if msg.get("edited") else ""
    lines = [f"[{_clock(msg['ts'])}] {author}{edited}"]
    body: list[str] = []
    for block in msg.get("blocks") or []:
        body += block_lines(block)
    if not body and msg.get("text"):
        body = str(msg["text"]).splitlines()
    body += [f"[file: {f.get('title') or f.get('name')}]" for f in msg.get("files") or []]
    reactions = " ".join(f":{r['name']}: {r['count']}" for r in msg.get("reactions") or [])
    if reactions:
        body.append(reactions)
    return lines + [f"    {line}" for line in shown("\n".join(body)).splitlines()]


def render_thread(state: SlackState, channel: str, ts: str, shown: TextFilter = _as_is) -> str:
    """The parent, then each reply indented under it with '|'."""
    parent, *replies = state.thread(channel, ts)
    channel_name = state.channel(channel)["name"]
    lines = [f"#{channel_name}", *message_lines(state, parent, shown)]
    if replies:
        lines.append(f"  {len(replies)} repl{'y' if len(replies) == 1 else 'ies'}")
    for reply in replies:
        lines += [f"  | {line}" for line in message_lines(state, reply, shown)]
    return "\n".join(lines)
