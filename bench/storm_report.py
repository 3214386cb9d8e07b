"""What the P3 storm measures, from the emulator's call log alone (pure functions, unit-tested).

An incident is *visible* at the first Slack call the emulator answered (not a 429) that put it in the
channel: a top-level chat.postMessage or chat.update (no thread_ts) whose text or blocks name its pipeline
or its incident id. That is its own root, or its line in a storm summary if the bot posts one; thread
replies do not count, nor does a dead-letter notice (it names neither).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

from bot.sandbox.slack_faults import RecordedCall
from bot.sandbox.slack_limits import TIER_3

POSTING = ("chat.postMessage", "chat.update")
INCIDENT_ID = re.compile(r"\bINC-\d+\b")


def event_payload(call: RecordedCall) -> dict[str, Any]:
    metadata = call.args.get("metadata") or {}
    if isinstance(metadata, str):
        metadata = json.loads(metadata)
    return dict(metadata.get("event_payload") or {})


def shown_text(call: RecordedCall) -> str:
    blocks = call.args.get("blocks")
    return f"{call.args.get('text') or ''} {blocks if isinstance(blocks, str) else json.dumps(blocks or [])}"


def names(text: str, name: str) -> bool:
    """`name` (a pipeline or an incident id) as a whole word: storm-001 is not storm-0011, INC-1 not INC-12."""
    return re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", text) is not None


@dataclass(frozen=True)
class Root:
    at: float
    incident: str      # the metadata's incident_id ("" for the floor's plain posts)
    pipeline: str


def roots(calls: list[RecordedCall], pipelines: list[str]) -> list[Root]:
    """Every root message Slack accepted (metadata kind "root"), with the pipeline its text names."""
    found = []
    for call in calls:
        payload = event_payload(call)
        if call.method != "chat.postMessage" or call.limited or payload.get("kind") != "root":
            continue
        text = shown_text(call)
        pipeline = next((p for p in pipelines if names(text, p)), "")
        found.append(Root(call.at, str(payload.get("incident_id", "")), pipeline))
    return found


def visible_at(calls: list[RecordedCall], pipelines: list[str]) -> dict[str, float]:
    """pipeline -> when it first became visible in the channel (absent: never)."""
    ids = {r.incident: r.pipeline for r in roots(calls, pipelines) if r.incident and r.pipeline}
    seen: dict[str, float] = {}
    for call in calls:
        if call.method not in POSTING or call.limited or call.args.get("thread_ts"):
            continue
        text = shown_text(call)
        mentioned = {p for p in pipelines if names(text, p)}
        mentioned |= {ids[i] for i in INCIDENT_ID.findall(text) if i in ids}
        for p in mentioned:
            seen.setdefault(p, call.at)
    return seen


def duplicates(found: list[Root]) -> int:
    """Roots beyond the first for one pipeline: two incidents for it, or one incident posted twice."""
    per_pipeline = Counter(r.pipeline for r in found if r.pipeline)
    return sum(n - 1 for n in per_pipeline.values())


def counts(calls: list[RecordedCall]) -> dict[str, Any]:
    admitted = [c for c in calls if not c.limited]
    return {
        "messages_posted": sum(c.method == "chat.postMessage" for c in admitted),
        "chat_update_calls": sum(c.method == "chat.update" for c in admitted),
        "answered_429": dict(Counter(c.method for c in calls if c.limited)),
    }


def update_allowance(seconds: float) -> int:
    """How many chat.update calls Slack allows in `seconds` (Tier 3: the burst, then 50 a minute)."""
    return int(TIER_3.burst + TIER_3.per_minute * seconds / 60)


def summarise(calls: list[RecordedCall], pipelines: list[str], t0: float) -> dict[str, Any]:
    """The storm's figures for one side (the bot or the floor); times in seconds from the storm's start."""
    seen = visible_at(calls, pipelines)
    found = [r for r in roots(calls, pipelines) if r.pipeline]
    return {
        "incidents": len(pipelines),
        "visible": len(seen),
        "lost": sorted(set(pipelines) - set(seen)),
        "all_visible_after_s": round(max(seen.values()) - t0, 2) if len(seen) == len(pipelines) else None,
        "last_visible_after_s": round(max(seen.values()) - t0, 2) if seen else None,
        "roots": len(found),
        "duplicates": duplicates(found),
        **counts(calls),
    }
