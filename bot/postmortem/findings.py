"""What the bot's own posts established, read back from the event log (enrichment, schema check, forensics)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from bot.models import TimelineEvent

_FENCE_BODY = re.compile(r"```(?:diff\n)?(.*?)```", re.DOTALL)
_LAG = re.compile(r"\blag\b[^\n]*?\d", re.IGNORECASE)


@dataclass(frozen=True)
class SchemaEvidence:
    """The schema check's post, taken apart: its verdict line, the diff, and what it said about the binlog."""

    verdict: str
    diff: str
    binlog: str


def enrich_posts(events: list[TimelineEvent], prefix: str = "enrich:") -> list[TimelineEvent]:
    return [e for e in events if e.kind == "bot_post" and str(e.data.get("kind", "")).startswith(prefix)]


def ddl_entries(events: list[TimelineEvent]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for e in events:
        if e.kind == "note" and isinstance(e.data.get("ddl"), list):
            found += [d for d in e.data["ddl"] if isinstance(d, dict) and d.get("statement")]
    unique = {(d.get("log_file"), d.get("position"), d["statement"]): d for d in found}
    return list(unique.values())


def schema_evidence(events: list[TimelineEvent]) -> SchemaEvidence | None:
    posts = enrich_posts(events, "enrich:schema")
    if not posts:
        return None
    text = posts[0].text
    lines = text.splitlines()
    verdict = next((x for x in lines[1:] if x.strip() and not x.startswith("```")), "")
    diff = next((m.group(1).strip("\n") for m in _FENCE_BODY.finditer(text)), "")
    binlog = next((x.split(":", 1)[1].strip() for x in lines if x.startswith("*DDL from the binlog*")), "")
    return SchemaEvidence(verdict, diff, binlog)


def connector_failed(events: list[TimelineEvent]) -> bool:
    """A connector task FAILED per the bot's Connect finding, or a restart left a skip risk."""
    connect = enrich_posts(events, "enrich:connect")
    return any("FAILED" in e.text for e in connect) or any(e.kind == "note" and e.data.get("skip_risk")
                                                            for e in events)


def labelled_line(events: list[TimelineEvent], prefix: str, label: str) -> str | None:
    """The first `*Label*: …` line of the bot's posts of one kind ("*Diagnosis*", "*Health*")."""
    for e in enrich_posts(events, prefix):
        for line in e.text.splitlines():
            if line.startswith(f"*{label}*"):
                return line.split(":", 1)[1].strip() if ":" in line else line
    return None


def binlog_unavailable(events: list[TimelineEvent]) -> str | None:
    found = schema_evidence(events)
    if found and "unavailable" in found.binlog:
        return found.binlog
    return None


def lag_figures(events: list[TimelineEvent]) -> list[str]:
    """Lag the bot saw (a data field, or a figure in its own posts); none when it never looked."""
    figures = [f"{e.data['lag']}" for e in events if "lag" in e.data]
    figures += [m.group(0) for e in events if e.kind in ("bot_post", "result") and (m := _LAG.search(e.text))]
    return figures
