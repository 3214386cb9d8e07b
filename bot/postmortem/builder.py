"""The postmortem draft: facts in, Markdown out. Pure and deterministic: no clock, no I/O, sorted input."""

from __future__ import annotations

from dataclasses import replace

from bot.postmortem.checklist import checklist_lines, follow_up_lines, verified_checks
from bot.postmortem.impact import Milestones, impact_lines, milestones, since_first_alert
from bot.postmortem.model import Facts
from bot.postmortem.sections import actions_lines, ddl_entries, event_text, root_cause_lines, timeline_lines
from bot.postmortem.text import both, cell, code, first_line, parse_iso, person


def build_markdown(facts: Facts) -> str:
    # Sorted here too: byte-identity must not depend on the order the caller happened to load events in.
    facts = replace(facts, events=sorted(facts.events, key=lambda e: (e.ts, e.source_id)))
    inc = facts.incident
    marks = milestones(inc, facts.events)
    parts = [
        [f"# Postmortem: {inc.id} — {inc.title}", "", _provenance(facts)],
        ["## Summary", "", *summary_lines(facts, marks)],
        ["## Impact", "", *impact_lines(marks, facts.display_tz)],
        ["## Affected pipeline", "", *pipeline_lines(facts)],
        ["## Detection", "", *signal_lines(facts)],
        [f"## Timeline ({len(facts.events)} events)", "", *timeline_lines(facts)],
        ["## Root cause", "", *root_cause_lines(facts)],
        ["## Actions taken", "", *actions_lines(facts)],
        ["## Postmortem checklist (runbook section 7)", "", *checklist_lines(facts)],
        ["## Follow-ups", "", *follow_up_lines(facts)],
        ["## Links", "", *link_lines(facts)],
    ]
    return "\n\n".join("\n".join(part) for part in parts) + "\n"


def _provenance(facts: Facts) -> str:
    # The last event's time, not "now": the same facts must give the same bytes at any later second.
    last = facts.events[-1].ts if facts.events else facts.incident.last_seen_at
    tz = f"; times in UTC and {facts.display_tz}" if facts.display_tz != "UTC" else "; times in UTC"
    return (f"_Draft built by DataFlow ChatOps from the incident's event log (last event "
            f"{both(last, facts.display_tz)}{tz}). Edit freely before publishing._")


def summary_lines(facts: Facts, marks: Milestones) -> list[str]:
    inc, tz = facts.incident, facts.display_tz
    alerts = ", ".join(sorted({code(a.alertname) for a in inc.alerts.values()}))
    where = f" on pipeline {code(facts.scope.pipeline)}" if facts.scope.pipeline else ""
    status = (f"resolved at {both(marks.resolved, tz)}, {since_first_alert(marks, marks.resolved)} after the first "
              "alert" if marks.resolved is not None else "still open")
    fired = (f"{alerts} fired from {both(marks.first_alert, tz)}; the bot opened the incident "
             f"{since_first_alert(marks, marks.detected)} later" if alerts else f"opened at {both(marks.detected, tz)}")
    lines = [f"**{inc.id}** ({inc.severity}){where}: {fired}. Status: {status}."]
    ddl = ddl_entries(facts.events)
    if ddl:
        lines.append(f"Cause: {code(first_line(str(ddl[-1]['statement']), 200))} (from the binlog).")
    verified = verified_checks(facts)
    lines.append(f"Checklist: {sum(c.ok for c in verified)} of {len(verified)} verifiable items verified at export.")
    keys = [e for e in facts.events if e.key]
    if keys:
        lines += ["", "Key events:"]
        lines += [f"- {both(e.ts, tz)} — {person(e.actor, facts.people, e.actor_name)}: "
                  f"{first_line(event_text(e, facts.people))}" for e in keys]
    return lines


def pipeline_lines(facts: Facts) -> list[str]:
    p = facts.scope

    def names(values: tuple[str, ...]) -> str:
        return ", ".join(f"`{v}`" for v in values) or "unknown"

    return [f"- Pipeline: `{p.pipeline}`" if p.pipeline else "- Pipeline: not in the lineage file",
            f"- MySQL table(s): {names(p.tables)}", f"- Debezium connector(s): {names(p.connectors)}",
            f"- Kafka topic(s): {names(p.topics)}", f"- Flink job(s): {names(p.flink_jobs)}"]


def signal_lines(facts: Facts) -> list[str]:
    inc, tz = facts.incident, facts.display_tz
    alerts = sorted(inc.alerts.values(), key=lambda a: (a.starts_at, a.fingerprint))
    lines = ["Alerts:"]
    for a in alerts:
        since = parse_iso(a.starts_at)
        when = both(since, tz) if since is not None else "start unknown"
        labels = ", ".join(f"{k}={v}" for k, v in sorted(a.labels.items()) if k != "alertname")
        lines.append(f"- `{a.alertname}` {a.status}, since {when}, {a.count} notification(s): "
                     f"{cell(a.summary) or '—'} ({labels})")
    if not alerts:
        lines.append("- none recorded")
    findings = [e for e in facts.events if e.kind == "bot_post" and str(e.data.get("kind", "")).startswith("enrich:")]
    if findings:
        lines += ["", "What the bot found when the incident opened:"]
        lines += [f"- {event_text(e, facts.people)}" for e in findings]
    return lines


def link_lines(facts: Facts) -> list[str]:
    inc = facts.incident
    lines = [f"- Slack thread: {facts.permalink}" if facts.permalink else "- Slack thread: (permalink unavailable)"]
    am_urls = sorted({u for u in (inc.external_url, facts.alertmanager_url) if u})
    lines += [f"- Alertmanager: {u.rstrip('/')}/#/alerts" for u in am_urls]
    sources = sorted({a.generator_url for a in inc.alerts.values() if a.generator_url})
    lines += [f"- Alert source (Prometheus): {u}" for u in sources]
    return lines
