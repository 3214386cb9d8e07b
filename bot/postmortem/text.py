"""Pure text helpers for the Markdown: times exact to the second, Slack mrkdwn to Markdown, table cells."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from bot.blocks.common import fmt_duration
from bot.text.mrkdwn import Names, to_markdown

# A bare user ID in the bot's own event texts ("U0ALICE asked to run …").
_BARE_USER_ID = re.compile(r"\b([UW][A-Z0-9]{2,})\b")
_WHITESPACE_RUN = re.compile(r"[ \t]+")

BOT_NAMES = {"bot": "DataFlow bot", "alertmanager": "Alertmanager"}


def utc(ts: float) -> str:
    """Truncated, not rounded: 10:00:00.9 happened at 10:00:00."""
    return datetime.fromtimestamp(int(ts), UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


@lru_cache(maxsize=64)
def _zone(tz: str) -> ZoneInfo:
    return ZoneInfo(tz)


def local(ts: float, tz: str) -> str:
    return datetime.fromtimestamp(int(ts), _zone(tz)).strftime("%Y-%m-%d %H:%M:%S %Z")


def both(ts: float, tz: str) -> str:
    """`2026-11-26 07:00:00 UTC (2026-11-26 14:00:00 +07)`, or the UTC time alone when DISPLAY_TZ is UTC."""
    return utc(ts) if tz == "UTC" else f"{utc(ts)} ({local(ts, tz)})"


duration = fmt_duration


def parse_iso(value: str | None) -> float | None:
    """Alertmanager's RFC 3339 with nanoseconds ("…00.123456789Z") -> epoch seconds; None for zero/blank."""
    if not value or value.startswith("0001-"):
        return None
    text = value.strip().replace("Z", "+00:00")
    main, dot, rest = text.partition(".")
    if dot:
        digits = re.match(r"\d*", rest)
        frac = digits.group(0) if digits else ""
        text = f"{main}.{frac[:6].ljust(6, '0')}{rest[len(frac):]}"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def person(actor: str | None, people: dict[str, str], fallback: str | None = None) -> str:
    if not actor:
        return fallback or "—"
    if actor in BOT_NAMES:
        return BOT_NAMES[actor]
    name = people.get(actor) or fallback
    return f"{name} ({actor})" if name and name != actor else actor


def from_slack(text: str, people: dict[str, str]) -> str:
    """Slack mrkdwn to Markdown (bot/text/mrkdwn.py), mentions by the names the export already resolved."""
    rendered = to_markdown(text, Names(users=people))
    return _BARE_USER_ID.sub(lambda m: people.get(m.group(1), m.group(1)), rendered)


def indented(text: str, prefix: str) -> list[str]:
    """Lines nested under a list item (prefix "  ") or quoted ("> "): fences inside keep working."""
    return [f"{prefix}{line}".rstrip() for line in text.splitlines()]


def cell(text: str) -> str:
    """One Markdown table cell: pipes escaped, line breaks kept as <br>."""
    lines = [_WHITESPACE_RUN.sub(" ", line).strip() for line in text.strip().splitlines()]
    return "<br>".join(line for line in lines if line).replace("|", "\\|")


def first_line(text: str, limit: int = 300) -> str:
    line = next((x.strip() for x in text.splitlines() if x.strip()), "")
    return line if len(line) <= limit else line[: limit - 1] + "…"


def fence(text: str, lang: str = "") -> str:
    """A code fence longer than any backtick run inside, so the content cannot close it."""
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    ticks = "`" * max(3, longest + 1)
    return f"{ticks}{lang}\n{text}\n{ticks}"


def code(text: str) -> str:
    """Inline code that survives backticks inside (MySQL quotes names with them)."""
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    ticks = "`" * (longest + 1)
    pad = " " if longest else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"
