"""The postmortem draft: facts in, Markdown out. Pure and deterministic: no clock, no I/O, sorted input."""

from __future__ import annotations

from dataclasses import replace

from bot.postmortem.checklist import action_item_lines, checklist_lines, verified_checks
from bot.postmortem.findings import (
    binlog_unavailable,
    ddl_entries,
    enrich_posts,
    labelled_line,
    schema_evidence,
)
from bot.postmortem.impact import (
    Milestones,
    data_impact_lines,
    milestone_lines,
    milestones,
    plausible_start,
    since_first_alert,
)
from bot.postmortem.model import Facts
from bot.postmortem.people import participant_lines
from bot.postmortem.review import LESSONS, review_lines
from bot.postmortem.sections import actions_lines, key_event_lines, root_cause_lines, timeline_lines
from bot.postmortem.text import both, cell, code, first_line, from_slack, indented, parse_iso
from bot.runbooks.skip_risk import skip_risks


def build_markdown(facts: Facts) -> str:
    # Sorted here too: byte-identity must not depend on the order the caller happened to load events in.
    facts = replace(facts, events=sorted(facts.events, key=lambda e: (e.ts, e.source_id)))
    inc = facts.incident
    marks = milestones(inc, facts.events)
    # The sections of the Google SRE template, incident.io and Rootly; the full timeline last but the links.
    parts = [
        [f"# Postmortem: {inc.id} — {inc.title}", "", _provenance(facts)],
        ["## Summary", "", *summary_lines(facts, marks)],
        ["## Key events", "", *key_event_lines(facts)],
        ["## Impact on data and consumers", "", *data_impact_lines(facts, marks), "",
         *milestone_lines(marks, facts.display_tz)],
        ["## Affected pipeline", "", *pipeline_lines(facts)],
        ["## Trigger and contributing factors", "", *trigger_lines(facts)],
        ["## Detection", "", *signal_lines(facts, marks)],
        ["## Response", "", *actions_lines(facts)],
        ["## Root cause", "", *root_cause_lines(facts)],
        ["## Review", "", *review_lines(facts, marks)],
        ["## Participants and roles", "", *participant_lines(facts)],
        ["## Action items", "", *action_item_lines(facts)],
        ["## Lessons learned", "", *(f"- {line}" for line in LESSONS)],
        ["## Postmortem checklist (runbook section 7)", "", *checklist_lines(facts)],
        [f"## Full timeline ({len(facts.events)} events)", "", "_★ marks the key events above._", "",
         *timeline_lines(facts)],
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
    start = f"from {both(marks.first_alert, tz)}" if marks.first_alert is not None else "(start time unknown)"
    fired = (f"{alerts} fired {start}; the bot opened the incident at {both(marks.detected, tz)}"
             if alerts else f"opened at {both(marks.detected, tz)}")
    lines = [f"**{inc.id}** ({inc.severity}){where}: {fired}. Status: {status}."]
    ddl = ddl_entries(facts.events)
    found = schema_evidence(facts.events)
    if ddl:
        lines.append(f"Cause: {code(first_line(str(ddl[-1]['statement']), 200))} (from the binlog).")
    elif found and found.verdict:
        lines.append(f"Cause: {from_slack(found.verdict, facts.people)} (the bot's schema check; see Root cause).")
    steps = [e for e in facts.events if e.kind == "result"]
    if steps:
        ok = sum(e.data.get("ok") is True for e in steps)
        lines.append(f"Response: {len(steps)} runbook step(s) run through the bot, {ok} succeeded (see Response).")
    if risks := skip_risks(facts.events):
        lines.append(f"Data: {len(risks)} connector(s) resumed past a failing change event: a change may be missing "
                     "downstream (see Impact).")
    verified = verified_checks(facts)
    lines.append(f"Checklist: {sum(c.ok for c in verified)} of {len(verified)} verifiable items verified at export.")
    return lines


def trigger_lines(facts: Facts) -> list[str]:
    ddl, found = ddl_entries(facts.events), schema_evidence(facts.events)
    if ddl:
        trigger = f"the DDL {code(first_line(str(ddl[-1]['statement']), 200))} (see Root cause)"
    elif found:
        trigger = f"a schema change the bot's check found: {from_slack(found.verdict, facts.people)} (see Root cause)"
    else:
        trigger = "not established by the bot: fill in"
    factors = [f"- Kafka Connect: {from_slack(d, facts.people)}" for d in
               [labelled_line(facts.events, "enrich:connect", "Diagnosis")] if d]
    factors += [f"- {from_slack(first_line(e.text), facts.people)}" for e in enrich_posts(facts.events, "enrich:flink")
                if "RUNNING" not in first_line(e.text)]
    factors += [f"- {code(n)} resumed past the change event it had failed on ({why})"
                for n, why in sorted(skip_risks(facts.events).items())]
    if unavailable := binlog_unavailable(facts.events):
        factors.append(f"- No binlog evidence: {from_slack(unavailable, facts.people)}")
    return [f"**Trigger**: {trigger}.", "", "**Contributing factors** (from the bot's findings):", "",
            *(factors or ["- none derived from the log"]),
            "- _People: add what allowed the change (review, migration tooling, schema contracts, timing)._"]


def pipeline_lines(facts: Facts) -> list[str]:
    p = facts.scope

    def names(values: tuple[str, ...]) -> str:
        return ", ".join(f"`{v}`" for v in values) or "unknown"

    return [f"- Pipeline: `{p.pipeline}`" if p.pipeline else "- Pipeline: not in the lineage file",
            f"- MySQL table(s): {names(p.tables)}", f"- Debezium connector(s): {names(p.connectors)}",
            f"- Kafka topic(s): {names(p.topics)}", f"- Flink job(s): {names(p.flink_jobs)}"]


def signal_lines(facts: Facts, marks: Milestones) -> list[str]:
    inc, tz = facts.incident, facts.display_tz
    alerts = sorted(inc.alerts.values(), key=lambda a: (a.starts_at, a.fingerprint))
    lines = ["Alerts:"]
    for a in alerts:
        since = parse_iso(a.starts_at)
        when = both(since, tz) if since is not None else "start unknown"
        if since is not None and plausible_start(a.starts_at, inc.opened_at) is None:
            when += " (implausible: more than 7 days before the incident opened; not used for time to detect)"
        labels = ", ".join(f"{k}={v}" for k, v in sorted(a.labels.items()) if k != "alertname")
        lines.append(f"- `{a.alertname}` {a.status}, since {when}, {a.count} notification(s): "
                     f"{cell(a.summary) or '—'} ({labels})")
    if not alerts:
        lines.append("- none recorded")
    lines += ["", f"Time to detect: **{since_first_alert(marks, marks.detected)}**."]
    findings = enrich_posts(facts.events)
    if findings:
        lines += ["", "What the bot found when the incident opened (its thread posts, in full):", ""]
        for e in findings:
            first, _, rest = from_slack(e.text, facts.people).partition("\n")
            lines += [f"- {first}", *indented(rest, "  ")] if rest.strip() else [f"- {first}"]
    return lines


def link_lines(facts: Facts) -> list[str]:
    inc = facts.incident
    lines = [f"- Slack thread: {facts.permalink}" if facts.permalink else "- Slack thread: (permalink unavailable)"]
    am_urls = sorted({u for u in (inc.external_url, facts.alertmanager_url) if u})
    lines += [f"- Alertmanager: {u.rstrip('/')}/#/alerts" for u in am_urls]
    sources = sorted({a.generator_url for a in inc.alerts.values() if a.generator_url})
    lines += [f"- Alert source (Prometheus): {u}" for u in sources]
    return lines
