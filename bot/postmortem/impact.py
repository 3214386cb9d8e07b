"""Impact milestones from the event log: first alert, detected, mitigated, resolved."""

from __future__ import annotations

from dataclasses import dataclass

from bot.models import Incident, TimelineEvent
from bot.postmortem.text import both, duration, parse_iso


@dataclass(frozen=True)
class Milestones:
    first_alert: float
    detected: float
    mitigated: float | None
    resolved: float | None


def milestones(inc: Incident, events: list[TimelineEvent]) -> Milestones:
    starts = [t for a in inc.alerts.values() if (t := parse_iso(a.starts_at)) is not None]
    firing = [e.ts for e in events if e.kind == "alert_firing"]
    first_alert = min(starts or firing or [inc.opened_at])
    # Mitigated: the first step that worked (a rollback, a restart, an accepted drift).
    mitigated = next((e.ts for e in events if e.kind == "result" and e.data.get("ok") is True), None)
    resolved = inc.resolved_at if inc.status == "resolved" else None
    return Milestones(first_alert, inc.opened_at, mitigated, resolved)


def since_first_alert(m: Milestones, moment: float | None) -> str:
    if moment is None:
        return "not yet"
    if moment < m.first_alert:
        return "n/a (before the first alert: clock skew?)"
    # Whole seconds of both ends, so a duration always matches the two times printed next to it.
    return duration(int(moment) - int(m.first_alert))


def impact_lines(m: Milestones, tz: str) -> list[str]:
    def at(moment: float | None) -> str:
        return both(moment, tz) if moment is not None else "not yet"

    return [
        "| Milestone | When | Since first alert |",
        "|---|---|---|",
        f"| First alert | {at(m.first_alert)} | 0s |",
        f"| Detected (incident opened) | {at(m.detected)} | {since_first_alert(m, m.detected)} |",
        f"| Mitigated (first successful step) | {at(m.mitigated)} | {since_first_alert(m, m.mitigated)} |",
        f"| Resolved (all alerts resolved) | {at(m.resolved)} | {since_first_alert(m, m.resolved)} |",
        "",
        f"Time to detect: **{since_first_alert(m, m.detected)}** · time to mitigate: "
        f"**{since_first_alert(m, m.mitigated)}** · time to resolve: **{since_first_alert(m, m.resolved)}**",
    ]
