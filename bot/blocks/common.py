"""Helpers shared by the Block Kit builders: Slack's limits and escaping."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

SECTION_TEXT_MAX = 3000
HEADER_MAX = 150
BUTTON_TEXT_MAX = 75
MAX_BLOCKS = 50


_BARE_AMPERSAND = re.compile(r"&(?!(?:amp|lt|gt);)")


def escape(text: str) -> str:
    """Slack mrkdwn control characters & < > escaped, so user text shows as typed and pings nobody.

    Idempotent: Slack sends what a user typed with & < > already escaped (a typed `<` arrives as `&lt;`),
    and `<!channel>` only when the user wrote @channel; escaping twice would show `&lt;`.
    """
    return _BARE_AMPERSAND.sub("&amp;", text).replace("<", "&lt;").replace(">", "&gt;")


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": clip(text, SECTION_TEXT_MAX)}}


def header(text: str) -> dict[str, Any]:
    return {"type": "header", "text": {"type": "plain_text", "text": clip(text, HEADER_MAX), "emoji": True}}


def context(*texts: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": clip(t, 2000)} for t in texts[:10]]}


def button(text: str, action_id: str, value: str, style: str | None = None) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "button", "text": {"type": "plain_text", "text": clip(text, BUTTON_TEXT_MAX)},
                               "action_id": action_id, "value": value}
    if style:
        element["style"] = style
    return element


def fmt_time(epoch: float, tz: str = "UTC") -> str:
    """`2025-03-04 10:15:30 UTC` plus the display time zone when it is not UTC."""
    moment = datetime.fromtimestamp(epoch, UTC)
    text = moment.strftime("%Y-%m-%d %H:%M:%S UTC")
    if tz != "UTC":
        local = moment.astimezone(ZoneInfo(tz))
        text += f" ({local.strftime('%H:%M:%S %Z')})"
    return text


def fmt_duration(seconds: float) -> str:
    """Whole seconds, truncated, so that a duration matches the second-resolution times printed beside it."""
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m {secs:02d}s"
    return f"{minutes}m {secs:02d}s" if minutes else f"{secs}s"
