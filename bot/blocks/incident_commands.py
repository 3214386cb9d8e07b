"""Texts of the incident commands (ack/own, severity, declare, resolve, summary, filtered incidents).
Pure: data in, Slack mrkdwn out."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from bot.blocks.commands import INCIDENTS_SHOWN, incident_line, who
from bot.blocks.common import clip, escape, fmt_time
from bot.blocks.links import Link, links_line
from bot.models import Incident, TimelineEvent

if TYPE_CHECKING:
    from bot.runbooks.approvals import Approval

# What Alertmanager's rules set (monitoring/prometheus/rules: critical | warning) plus info, which the
# root's icons already know: one scale, so a severity set by hand reads like one from an alert.
SEVERITIES = ("critical", "warning", "info")
ACTION_KINDS = frozenset({"command", "commander", "approval_requested", "approval_decided", "execution", "result",
                          "incident_opened", "incident_resolved", "incident_reopened", "key_event"})
ACTIONS_SHOWN = 5


def commander_text(inc: Incident, user: str, already: bool) -> str:
    if already:
        return f":information_source: <@{user}> is already the incident commander of *{inc.id}*."
    return f":raising_hand: <@{user}> is now the incident commander of *{inc.id}*."


def severity_text(inc: Incident, user: str, previous: str) -> str:
    if previous == inc.severity:
        return f":information_source: *{inc.id}* is already *{escape(inc.severity)}*."
    return f":label: <@{user}> set the severity of *{inc.id}* to *{escape(inc.severity)}* (was {escape(previous)})."


def unknown_severity_hint() -> str:
    return "Valid severities: " + ", ".join(f"`{s}`" for s in SEVERITIES) + "."


def declared_text(inc: Incident, user: str) -> str:
    return (f":memo: <@{user}> declared *{inc.id}*: {escape(inc.title)}. "
            f"Take it with `ack {inc.id}`; close it with `resolve &lt;reason&gt;`.")


def resolved_by_hand_text(inc: Incident, user: str) -> str:
    firing = len(inc.firing)
    still = (f" {firing} alert(s) still fire: Alertmanager's resolve is recorded when it comes, and a new "
             f"firing reopens the incident.") if firing else ""
    return f":white_check_mark: <@{user}> resolved *{inc.id}* by hand: {escape(inc.resolve_reason)}.{still}"


def summary_text(inc: Incident, approvals: Sequence[Approval], events: Sequence[TimelineEvent], tz: str,
                 links: Sequence[Link] = ()) -> str:
    """State, severity, commander, open approvals, the last actions and the root's links of one incident."""
    commander = f"<@{inc.commander}>" if inc.commander else "nobody yet (`ack` to take it)"
    state = f"*{inc.status}*" + (f", {len(inc.firing)} of {len(inc.alerts)} alert(s) firing" if inc.alerts else "")
    lines = [f":clipboard: *{inc.id}* {escape(clip(inc.title, 150))}",
             f"State: {state} · Severity: *{escape(inc.severity)}* · Commander: {commander}",
             f"Opened {fmt_time(inc.opened_at, tz)}" + (f" by <@{inc.declared_by}>" if inc.declared_by else "")]
    if inc.resolved_at is not None:
        by = f" by <@{inc.resolved_by}>: {escape(inc.resolve_reason)}" if inc.resolved_by_hand else ""
        lines.append(f"Resolved {fmt_time(inc.resolved_at, tz)}{by}")
    lines.append(f"*Open approvals*: {len(approvals)}" if approvals else "*Open approvals*: none")
    lines += [f"• `{escape(a.runbook)}/{escape(a.step)}` *{a.state}*, asked by {who(a.requester)}" for a in approvals]
    actions = [e for e in events if e.kind in ACTION_KINDS][-ACTIONS_SHOWN:]
    lines.append("*Last actions*:" if actions else "*Last actions*: none yet")
    lines += [f"• {fmt_time(e.ts, tz)} {who(e.actor or 'bot')}: {escape(clip(e.text, 200))}" for e in actions]
    if links:
        lines.append(":link: " + links_line(list(links)))
    return "\n".join(lines)


def filtered_incidents_text(incidents: Sequence[Incident], tz: str, status: str | None, pipeline: str | None) -> str:
    """`incidents [open|resolved] [pipeline]`: newest first, as given, with the filter said."""
    what = " ".join(part for part in (status, "incidents") if part) + (f" of `{escape(pipeline)}`" if pipeline else "")
    if not incidents:
        return f":sparkles: No {what} in this channel."
    shown = incidents[:INCIDENTS_SHOWN]
    head = f"*{what[0].upper() + what[1:]}* (newest first, {len(shown)} shown):"
    return "\n".join([head, *(incident_line(inc, tz) for inc in shown)])
