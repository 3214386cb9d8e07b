"""Impact: milestones (first alert, detected, mitigated, resolved) and what happened to the data."""

from __future__ import annotations

from dataclasses import dataclass

from bot.models import Incident, TimelineEvent
from bot.postmortem.findings import connector_failed, lag_figures
from bot.postmortem.model import Facts
from bot.postmortem.text import both, code, duration, parse_iso
from bot.runbooks.skip_risk import skip_risks

# An alert said to have started this long before the bot heard of it is a placeholder (the interactive demo
# sends 2000-01-01) or a stale label, not a detection time: "time to detect" would be absurd.
PLAUSIBLE_ALERT_AGE_SECONDS = 7 * 24 * 3600
RECOVERY_STEPS = ("restart-connector", "resume-connector")


@dataclass(frozen=True)
class Milestones:
    first_alert: float | None  # None: no plausible alert start
    detected: float
    mitigated: float | None
    resolved: float | None


def plausible_start(starts_at: str, opened_at: float) -> float | None:
    start = parse_iso(starts_at)
    if start is None or opened_at - start > PLAUSIBLE_ALERT_AGE_SECONDS:
        return None
    return start


def milestones(inc: Incident, events: list[TimelineEvent]) -> Milestones:
    starts = [t for a in inc.alerts.values() if (t := plausible_start(a.starts_at, inc.opened_at)) is not None]
    # Mitigated: the first step that worked (a rollback, a restart, an accepted drift).
    mitigated = next((e.ts for e in events if e.kind == "result" and e.data.get("ok") is True), None)
    resolved = inc.resolved_at if inc.status == "resolved" else None
    return Milestones(min(starts) if starts else None, inc.opened_at, mitigated, resolved)


def since_first_alert(m: Milestones, moment: float | None) -> str:
    if moment is None:
        return "not yet"
    if m.first_alert is None:
        return "unknown (alert start unknown)"
    if moment < m.first_alert:
        return "n/a (before the first alert: clock skew?)"
    # Whole seconds of both ends, so a duration always matches the two times printed next to it.
    return duration(int(moment) - int(m.first_alert))


def milestone_lines(m: Milestones, tz: str) -> list[str]:
    def at(moment: float | None) -> str:
        return both(moment, tz) if moment is not None else "not yet"

    known = m.first_alert is not None
    first = both(m.first_alert, tz) if m.first_alert is not None else "unknown (no plausible alert start)"
    return [
        "| Milestone | When | Since first alert |",
        "|---|---|---|",
        f"| First alert | {first} | {'0s' if known else '—'} |",
        f"| Detected (incident opened) | {at(m.detected)} | {since_first_alert(m, m.detected)} |",
        f"| Mitigated (first successful step) | {at(m.mitigated)} | {since_first_alert(m, m.mitigated)} |",
        f"| Resolved (all alerts resolved) | {at(m.resolved)} | {since_first_alert(m, m.resolved)} |",
        "",
        f"Time to detect: **{since_first_alert(m, m.detected)}** · time to mitigate: "
        f"**{since_first_alert(m, m.mitigated)}** · time to resolve: **{since_first_alert(m, m.resolved)}**",
    ]


def recovered_at(events: list[TimelineEvent]) -> float | None:
    return next((e.ts for e in events if e.kind == "result" and e.data.get("ok") is True
                 and e.data.get("step") in RECOVERY_STEPS), None)


def data_impact_lines(facts: Facts, m: Milestones) -> list[str]:
    """Delayed, skipped, duplicated, lag: each from the log, or said to be unknown."""
    return [f"- **Delayed**: {_delayed(facts, m)}", f"- **Skipped**: {_skipped(facts)}",
            f"- **Duplicated**: {_duplicated(facts)}", f"- **Consumer lag**: {_lag(facts)}",
            f"- **Consumers downstream**: {_consumers(facts)}"]


def _delayed(facts: Facts, m: Milestones) -> str:
    if not connector_failed(facts.events):
        return "unknown: the bot recorded no connector failure, so change capture may have kept flowing."
    since = m.first_alert if m.first_alert is not None else m.detected
    back = recovered_at(facts.events)
    if back is None:
        return (f"change capture stopped (a connector task FAILED) by {both(since, facts.display_tz)}; no recovery "
                "was recorded: every change since then is late, by how much is unknown.")
    return (f"change capture stopped (a connector task FAILED) from {both(since, facts.display_tz)} until the "
            f"connector ran again at {both(back, facts.display_tz)}: changes made meanwhile reached Kafka up to "
            f"**{duration(max(0, int(back) - int(since)))}** late (an upper bound from the log, not a measured lag).")


def _skipped(facts: Facts) -> str:
    risks = skip_risks(facts.events)
    if not risks:
        return "none recorded: no connector resumed past a change event it had failed on."
    return "; ".join(f"possibly 1 change event on {code(name)}: it resumed after failing on it ({why}). Compare the "
                     "rows changed during the incident with the sink by key" for name, why in sorted(risks.items())) + "."


def _duplicated(facts: Facts) -> str:
    if recovered_at(facts.events) is None:
        return "none expected from the bot's steps (no connector was restarted through it); unknown otherwise."
    return ("unknown: Debezium delivers at least once, and a restarted connector replays from its last committed "
            "offset, so consumers may have seen some changes twice (harmless if they upsert by key).")


def _lag(facts: Facts) -> str:
    figures = lag_figures(facts.events)
    if figures:
        return "; ".join(figures) + "."
    return "unknown: the bot recorded no lag figure; read the consumer-lag graph for the window above."


def _consumers(facts: Facts) -> str:
    topics = ", ".join(code(t) for t in facts.scope.topics) or "unknown topic(s)"
    jobs = ", ".join(code(j) for j in facts.scope.flink_jobs) or "no Flink job known"
    return f"{topics} → {jobs}."
