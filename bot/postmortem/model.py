"""The facts a postmortem is built from: gathered once (I/O), then rendered by pure code."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.models import Incident, TimelineEvent
from bot.scope import Scope


@dataclass(frozen=True)
class Check:
    """One checklist item verified live at export time."""

    label: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class LiveChecks:
    alert: Check
    connectors: tuple[Check, ...] = ()
    jobs: tuple[Check, ...] = ()
    baseline: Check | None = None  # None: no accepted drift recorded


@dataclass(frozen=True)
class Facts:
    incident: Incident
    events: list[TimelineEvent]  # sorted by (ts, source_id)
    scope: Scope               # what the incident concerns (bot.scope), resolved at export time
    checks: LiveChecks
    display_tz: str = "UTC"
    people: dict[str, str] = field(default_factory=dict)  # Slack user ID -> display name
    permalink: str | None = None
    alertmanager_url: str | None = None
