"""Key events, the full timeline, root cause and the response: pure renderers of the event log."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from bot.models import TimelineEvent
from bot.postmortem.findings import ddl_entries, labelled_line, schema_evidence
from bot.postmortem.model import Facts
from bot.postmortem.text import (
    both,
    cell,
    code,
    duration,
    fence,
    first_line,
    from_slack,
    indented,
    local,
    person,
    utc,
)

# The milestones of a response; clicks, commands and other bot posts are in the full timeline only.
KEY_KINDS = {"incident_opened", "incident_reopened", "incident_resolved", "approval_requested",
             "approval_decided", "result", "commander"}
DETAIL_LIMIT = 500   # the step runner stores at most this much of a result
_BOLD_TITLE = re.compile(r"^\*[^*]+\*$")
_TROUBLE_MARKS = (":warning:", ":x:", ":no_entry:", ":red_circle:", ":rotating_light:")

KIND_LABELS = {
    "incident_opened": "incident opened", "alert_firing": "alert firing", "alert_resolved": "alert resolved",
    "incident_resolved": "incident resolved", "incident_reopened": "incident reopened", "bot_post": "bot post",
    "command": "command", "approval_requested": "approval requested", "approval_refused": "approval refused",
    "approval_decided": "approval decided", "execution": "execution", "result": "result",
    "human_message": "message", "key_event": "key event", "note": "note", "commander": "incident commander",
}


def event_text(event: TimelineEvent, people: dict[str, str]) -> str:
    """Bot posts are long (enrichment, diffs): their first line; what people wrote: in full."""
    text = event.text
    if event.kind == "bot_post":
        text = first_line(event.text)
        if text.endswith(":") and len(event.text.strip()) > len(text):
            text += " …"   # what followed the colon (log lines, a trace) is in Detection
    return from_slack(text, people)


def is_key(event: TimelineEvent) -> bool:
    """Pinned by people, or a milestone: opened, drift detected (DDL, schema check), approvals, steps, resolved."""
    if event.key or str(event.kind) in KEY_KINDS:
        return True
    if event.kind == "note" and isinstance(event.data.get("ddl"), list):
        return True
    return event.kind == "bot_post" and str(event.data.get("kind", "")).startswith("enrich:schema")


def key_text(event: TimelineEvent, people: dict[str, str]) -> str:
    """One line: a step's result says what it found, not only "done"."""
    text = first_line(event_text(event, people))
    step = code(str(event.data.get("step") or "?"))
    if event.kind == "approval_requested":
        return f"asked for approval to run {step}: {first_line(from_slack(str(event.data.get('action') or ''), people))}"
    if event.kind == "approval_decided":
        return f"{event.data.get('decision', 'decided')} {step}"
    if event.kind == "result":
        headline = result_headline(event)
        return f"{text} — {first_line(from_slack(headline, people))}" if headline else text
    if event.kind == "bot_post" and (found := schema_evidence([event])) and found.verdict:
        return f"schema check: {first_line(from_slack(found.verdict, people))}"
    return text


def key_event_lines(facts: Facts) -> list[str]:
    keys = [e for e in facts.events if is_key(e)]
    if not keys:
        return ["_No key events recorded._"]
    return [f"- {both(e.ts, facts.display_tz)} — {person(e.actor, facts.people, e.actor_name)}: "
            f"{key_text(e, facts.people)}" for e in keys]


def timeline_lines(facts: Facts) -> list[str]:
    tz, people = facts.display_tz, facts.people
    head = "| UTC |" + (f" {tz} |" if tz != "UTC" else "") + " Who | What | Event |"
    rule = "|---|" + ("---|" if tz != "UTC" else "") + "---|---|---|"
    if not facts.events:
        return ["_No events recorded._"]
    rows = [head, rule]
    for e in facts.events:
        when = f"| {utc(e.ts)} |" + (f" {local(e.ts, tz)} |" if tz != "UTC" else "")
        what = cell(event_text(e, people)) or "—"
        if is_key(e):
            what = f"★ {what}"
        rows.append(f"{when} {cell(person(e.actor, people, e.actor_name))} | {what} | {KIND_LABELS.get(str(e.kind), str(e.kind))} |")
    return rows


def _ddl_when(value: Any, tz: str) -> str:
    try:
        return both(datetime.fromisoformat(str(value)).timestamp(), tz) if value else "time unknown"
    except ValueError:
        return "time unknown"


def root_cause_lines(facts: Facts) -> list[str]:
    ddl = ddl_entries(facts.events)
    lines = _ddl_cause(facts, ddl) if ddl else _schema_cause(facts)
    diagnosis = labelled_line(facts.events, "enrich:connect", "Diagnosis")
    if diagnosis:
        lines += ["", f"Why it broke the pipeline, per the bot's Kafka Connect finding: {from_slack(diagnosis, facts.people)}."]
    lines += ["", "_Fill in why the change was made and why it reached the table unannounced._"]
    return lines


def _ddl_cause(facts: Facts, ddl: list[dict[str, Any]]) -> list[str]:
    table = ", ".join(code(t) for t in facts.scope.tables) or "the table"
    lines = [f"A schema change to {table} broke the pipeline. The bot found {len(ddl)} DDL statement(s) in the "
             "MySQL binlog:", ""]
    for d in ddl:
        evidence = (f"binlog file {d.get('log_file')}, position {d.get('position')}, server_id {d.get('server_id')}"
                    f"\nevent time {_ddl_when(d.get('time'), facts.display_tz)}")
        lines += [fence(str(d["statement"]), "sql"), "", "Binlog evidence:", "", fence(evidence, "text"), ""]
    lines.append("Who ran it is unknown: the binlog does not record the user; ask the table's owners and fill in.")
    return lines


def _schema_cause(facts: Facts) -> list[str]:
    found = schema_evidence(facts.events)
    if found is None:
        return ["_Not established by the bot (no DDL found, no schema check). Fill in: what changed, when, who, "
                "and why it broke the pipeline._"]
    table = ", ".join(code(t) for t in facts.scope.tables) or "The table"
    lines = [f"{table} no longer matched its schema baseline when the incident opened. The bot's schema check: "
             f"{from_slack(found.verdict, facts.people)}."]
    if found.diff:
        lines += ["", "The difference from the baseline:", "", fence(found.diff, "diff")]
    binlog = from_slack(found.binlog, facts.people) if found.binlog else "no binlog search was recorded"
    lines += ["", f"The DDL statement itself was not found in the binlog ({binlog}), so its exact text, time and "
              "author are unknown: fill them in."]
    reverted = {str(e.data.get("approval_id")) for e in facts.events if e.kind == "result" and e.data.get("ok") is True}
    fixes = [e for e in facts.events if e.kind == "approval_requested" and e.data.get("step") == "rollback-schema"
             and str(e.data.get("approval_id")) in reverted]
    for req in fixes[:1]:
        lines += ["", "It was reverted through the bot's `rollback-schema` step (see Response):", "",
                  fence(str(req.data.get("action") or req.text), "sql")]
    return lines


def _by_approval(events: list[TimelineEvent], kind: str) -> dict[str, list[TimelineEvent]]:
    found: dict[str, list[TimelineEvent]] = {}
    for e in events:
        if e.kind == kind and e.data.get("approval_id"):
            found.setdefault(str(e.data["approval_id"]), []).append(e)
    return found


def result_summary(result: TimelineEvent) -> str:
    """What a step found, without the header line that only repeats the step's name ("*Data validation*")."""
    detail = str(result.data.get("detail") or "")
    lines = detail.strip().splitlines()
    if len(detail) >= DETAIL_LIMIT and len(lines) > 1:
        lines = lines[:-1]   # stored cut at DETAIL_LIMIT: the last line is a fragment
    step = str(result.data.get("step") or "")
    if lines and ((step and step in lines[0]) or _BOLD_TITLE.match(lines[0].strip())):
        lines = lines[1:]
    return "\n".join(lines).strip()


def result_headline(result: TimelineEvent) -> str:
    """The line that explains the outcome: for a step that did not succeed, its first warning, not its first ✅."""
    lines = [x for x in result_summary(result).splitlines() if x.strip()]
    if result.data.get("ok") is not True:
        lines = [x for x in lines if any(m in x for m in _TROUBLE_MARKS)] + lines
    return lines[0] if lines else ""


def _result_lines(result: TimelineEvent, facts: Facts) -> list[str]:
    outcome = "succeeded" if result.data.get("ok") is True else str(result.data.get("outcome") or "FAILED").upper()
    if result.data.get("ok") is not True and not result.data.get("outcome"):
        outcome = "NEEDS ATTENTION"
    label = "Late result (after the run was reported interrupted)" if result.data.get("late") else "Result"
    lines = [f"  - {label}: **{outcome}** at {both(result.ts, facts.display_tz)}"]
    summary = result_summary(result)
    if summary:
        lines += indented(from_slack(summary, facts.people), "    > ")
    if len(str(result.data.get("detail") or "")) >= DETAIL_LIMIT:
        lines.append(f"    > _(the bot stores {DETAIL_LIMIT} characters of a result: the rest is in the Slack thread)_")
    return lines


def _action_block(request: TimelineEvent, facts: Facts, decided: list[TimelineEvent],
                  refused: list[TimelineEvent], executed: list[TimelineEvent], results: list[TimelineEvent]) -> list[str]:
    tz, people, d = facts.display_tz, facts.people, request.data
    requester = person(str(d.get("requester") or request.actor or ""), people)
    lines = [f"- **Step `{d.get('step', '?')}`**: requested by {requester} at {both(request.ts, tz)}",
             *("  " + line for line in fence(str(d.get("action") or request.text)).splitlines())]
    for r in refused:
        lines.append(f"  - Refused click by {person(r.actor, people)} at {both(r.ts, tz)}: {r.data.get('reason', '')}")
    for dec in decided:
        what = str(dec.data.get("decision", "decided")).capitalize()
        approver = str(dec.data.get("approver") or "")
        by = f" by {person(approver, people)}" if approver else ""
        waited = duration(max(0, int(dec.ts) - int(request.ts)))
        lines.append(f"  - {what}{by} at {both(dec.ts, tz)} ({waited} after the request)")
    if not decided:
        lines.append("  - No decision recorded.")
    lines += [f"  - Executed at {both(x.ts, tz)}" for x in executed]
    # Results belong to their request by approval id, never by step name and time.
    for result in results:
        lines += _result_lines(result, facts)
    return lines


def actions_lines(facts: Facts) -> list[str]:
    decided, refused = _by_approval(facts.events, "approval_decided"), _by_approval(facts.events, "approval_refused")
    executed, results = _by_approval(facts.events, "execution"), _by_approval(facts.events, "result")
    blocks: list[tuple[float, str, list[str]]] = []   # in the order the steps began
    requests = [e for e in facts.events if e.kind == "approval_requested"]
    for req in requests:
        aid = str(req.data.get("approval_id", ""))
        blocks.append((req.ts, req.source_id, _action_block(req, facts, decided.get(aid, []), refused.get(aid, []),
                                                            executed.get(aid, []), results.get(aid, []))))
    requested = {str(r.data.get("approval_id", "")) for r in requests} - {""}
    for res in (e for e in facts.events if e.kind == "result" and str(e.data.get("approval_id") or "") not in requested):
        orphan = res.data.get("approval_id")
        how = f"approval `{orphan}`, whose request is not in the log" if orphan else "a read step, no approval needed"
        who = f" run by {person(res.actor, facts.people)}" if res.actor and res.actor != "bot" else ""
        blocks.append((res.ts, res.source_id, [f"- **Step `{res.data.get('step', '?')}`**{who} ({how})",
                                               *_result_lines(res, facts)]))
    lines = [line for _, _, block in sorted(blocks, key=lambda b: (b[0], b[1])) for line in block]
    return lines or ["_No runbook step was run through the bot._"]
