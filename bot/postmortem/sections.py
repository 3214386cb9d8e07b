"""Timeline, root cause and actions taken: pure renderers of the event log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.models import TimelineEvent
from bot.postmortem.model import Facts
from bot.postmortem.text import both, cell, fence, first_line, from_slack, local, person, utc

KIND_LABELS = {
    "incident_opened": "incident opened", "alert_firing": "alert firing", "alert_resolved": "alert resolved",
    "incident_resolved": "incident resolved", "incident_reopened": "incident reopened", "bot_post": "bot post",
    "command": "command", "approval_requested": "approval requested", "approval_refused": "approval refused",
    "approval_decided": "approval decided", "execution": "execution", "result": "result",
    "human_message": "message", "key_event": "key event", "note": "note",
}


def event_text(event: TimelineEvent, people: dict[str, str]) -> str:
    """Bot posts are long (enrichment, diffs): their first line; what people wrote: in full."""
    text = first_line(event.text) if event.kind == "bot_post" else event.text
    return from_slack(text, people)


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
        if e.key:
            what = f"**★ {what}**"
        rows.append(f"{when} {cell(person(e.actor, people, e.actor_name))} | {what} | {KIND_LABELS[e.kind]} |")
    return rows


def ddl_entries(events: list[TimelineEvent]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for e in events:
        if e.kind == "note" and isinstance(e.data.get("ddl"), list):
            found += [d for d in e.data["ddl"] if isinstance(d, dict) and d.get("statement")]
    unique = {(d.get("log_file"), d.get("position"), d["statement"]): d for d in found}
    return list(unique.values())


def _ddl_when(value: Any, tz: str) -> str:
    try:
        return both(datetime.fromisoformat(str(value)).timestamp(), tz) if value else "time unknown"
    except ValueError:
        return "time unknown"


def root_cause_lines(facts: Facts) -> list[str]:
    ddl = ddl_entries(facts.events)
    if ddl:
        lines = ["Schema drift: this DDL changed the table (found in the MySQL binlog by the bot):", ""]
        for d in ddl:
            lines += [fence(str(d["statement"]), "sql"), "",
                      f"- **When:** {_ddl_when(d.get('time'), facts.display_tz)}",
                      f"- **Where:** binlog `{d.get('log_file')}` position {d.get('position')}, "
                      f"server_id {d.get('server_id')}",
                      "- **Who:** unknown: the binlog does not record the user; ask the table's owners "
                      "and fill in.", ""]
        return lines[:-1]
    schema_posts = [e for e in facts.events if e.kind == "bot_post" and str(e.data.get("kind", "")).startswith(
        "enrich:schema")]
    if schema_posts:
        return ["No DDL was recorded from the binlog. The bot's schema check said:", "",
                *(fence(from_slack(e.text, facts.people)) for e in schema_posts),
                "", "- **Who / when:** fill in."]
    return ["_Not established by the bot (no DDL found). Fill in: what changed, when, who, and why it "
            "broke the pipeline._"]


def _by_approval(events: list[TimelineEvent], kind: str) -> dict[str, list[TimelineEvent]]:
    found: dict[str, list[TimelineEvent]] = {}
    for e in events:
        if e.kind == kind and e.data.get("approval_id"):
            found.setdefault(str(e.data["approval_id"]), []).append(e)
    return found


def _result_line(result: TimelineEvent, tz: str) -> str:
    outcome = "succeeded" if result.data.get("ok") is True else str(result.data.get("outcome") or "FAILED").upper()
    detail = first_line(str(result.data.get("detail") or result.text))
    label = "Late result (after the run was reported interrupted)" if result.data.get("late") else "Result"
    return f"  - {label}: {outcome} at {both(result.ts, tz)}" + (f": {detail}" if detail else "")


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
        lines.append(f"  - {what}{by} at {both(dec.ts, tz)}")
    if not decided:
        lines.append("  - No decision recorded.")
    lines += [f"  - Executed at {both(x.ts, tz)}" for x in executed]
    # Results belong to their request by approval id, never by step name and time.
    lines += [_result_line(result, tz) for result in results]
    return lines


def actions_lines(facts: Facts) -> list[str]:
    decided, refused = _by_approval(facts.events, "approval_decided"), _by_approval(facts.events, "approval_refused")
    executed, results = _by_approval(facts.events, "execution"), _by_approval(facts.events, "result")
    lines: list[str] = []
    requests = [e for e in facts.events if e.kind == "approval_requested"]
    for req in requests:
        aid = str(req.data.get("approval_id", ""))
        lines += _action_block(req, facts, decided.get(aid, []), refused.get(aid, []), executed.get(aid, []),
                               results.get(aid, []))
    requested = {str(r.data.get("approval_id", "")) for r in requests} - {""}
    for res in (e for e in facts.events if e.kind == "result" and str(e.data.get("approval_id") or "") not in requested):
        orphan = res.data.get("approval_id")
        how = f"approval `{orphan}`, whose request is not in the log" if orphan else "no approval needed"
        lines += [f"- **Step `{res.data.get('step', '?')}`** ({how})", _result_line(res, facts.display_tz)]
    return lines or ["_No runbook step was run through the bot._"]
