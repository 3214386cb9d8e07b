"""Data shared across the bot: incidents and their timeline events (stored in Redis as JSON)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

EventKind = Literal[
    "incident_opened",  # the root message was posted
    "alert_firing",  # an alert (new fingerprint or a re-fire) joined the incident
    "alert_resolved",  # one alert resolved
    "incident_resolved",  # every alert resolved
    "incident_reopened",
    "commander",  # someone took the incident (`ack`/`own`): data {"user": <user id>}
    "bot_post",  # an enrichment or other bot reply in the thread
    "command",  # a /dataflow command, mention or button naming this incident
    "approval_requested",
    "approval_refused",  # a click that was refused (self-approval, not an approver, expired)
    "approval_decided",  # approved or denied
    "execution",  # a mutating step started
    "result",  # a step's outcome (ok or failed)
    "human_message",  # a person wrote in the thread
    "key_event",  # marked with the shortcut or a :pushpin: reaction
    "note",
]


class TimelineEvent(BaseModel):
    """One thing that happened in an incident. `ts` is epoch seconds (Slack ts precision)."""

    ts: float
    kind: EventKind
    text: str
    actor: str | None = None  # Slack user ID, "alertmanager" or "bot"
    actor_name: str | None = None
    key: bool = False  # a key event in the postmortem
    source_id: str = ""  # dedupe key: Slack ts, stream id, approval id...
    data: dict[str, Any] = Field(default_factory=dict)


class AlertState(BaseModel):
    fingerprint: str
    alertname: str
    status: Literal["firing", "resolved"]
    labels: dict[str, str] = Field(default_factory=dict)
    summary: str = ""
    starts_at: str = ""
    ends_at: str | None = None
    generator_url: str = ""
    runbook_url: str = ""   # the alert's runbook_url annotation, absolute or relative to RUNBOOK_BASE_URL
    count: int = 1


class Incident(BaseModel):
    id: str  # "INC-12"
    number: int
    correlation_key: str  # "pipeline:orders" or "group:<groupKey>"
    pipeline: str | None = None
    title: str
    severity: str = "warning"
    status: Literal["open", "resolved"] = "open"
    channel: str
    root_ts: str | None = None
    opened_at: float
    resolved_at: float | None = None
    last_seen_at: float
    notifications: int = 1
    alerts: dict[str, AlertState] = Field(default_factory=dict)
    external_url: str = ""
    truncated_alerts: int = 0       # alerts Alertmanager left out of a notification (max_alerts)
    labels: dict[str, str] = Field(default_factory=dict)  # table, connector, topic, job from the alerts
    # Set by people through incident commands; the defaults let incidents stored before them load.
    commander: str | None = None          # Slack user ID of whoever took it (`ack`/`own`)
    declared_by: str | None = None        # Slack user ID when opened by hand (`declare`), else None
    resolved_by: str | None = None        # Slack user ID when resolved by hand (`resolve`)
    resolve_reason: str = ""
    resolved_by_hand_at: float | None = None
    moved_from: str | None = None         # the channel it left when that channel was archived or deleted

    @property
    def resolved_by_hand(self) -> bool:
        """Resolved, and by the `resolve` command: a reopen and a later resolve by Alertmanager leave the
        old by-hand fields in place, and this tells them apart by the resolve time."""
        return (self.status == "resolved" and self.resolved_by is not None
                and self.resolved_at is not None and self.resolved_at == self.resolved_by_hand_at)

    @property
    def firing(self) -> list[AlertState]:
        return [a for a in self.alerts.values() if a.status == "firing"]
