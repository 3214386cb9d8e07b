"""The runbook checklist message and the approval request message. Pure."""

from __future__ import annotations

from typing import Any

from bot.blocks.common import button, clip, context, escape, fmt_time, header, section
from bot.runbooks.approvals import Approval
from bot.runbooks.model import Runbook

RUN_STEP = "run_step"
APPROVE = "approve_step"
DENY = "deny_step"
MAX_BUTTONS = 25   # Slack's limit per actions block

DECIDED = {
    "approved": ":large_green_circle: Approved by <@{by}> at {at}; executing…",
    "executing": ":large_green_circle: Approved by <@{by}> at {at}; executing…",
    "done": ":white_check_mark: Approved by <@{by}> at {at}. Executed.",
    "failed": ":x: Approved by <@{by}> at {at}. Execution failed.",
    "denied": ":no_entry: Denied by <@{by}> at {at}.",
    "expired": ":hourglass: Expired at {at} without a decision.",
    "void": ":warning: Void at {at}: the world changed after approval.",
    "interrupted": ":warning: Approved by <@{by}> at {at}. Interrupted: the bot stopped while it ran.",
}
# The headline (and the notification text) says the state: what a reader needs first.
HEADLINES = {
    "pending": (":lock:", "Approval needed"),
    "approved": (":large_green_circle:", "Approved by {by}; running"),
    "executing": (":large_green_circle:", "Approved by {by}; running"),
    "done": (":white_check_mark:", "Done (approved by {by})"),
    "failed": (":x:", "Failed (approved by {by})"),
    "denied": (":no_entry:", "Denied by {by}"),
    "expired": (":hourglass:", "Expired without a decision"),
    "void": (":warning:", "Void: not run, the world changed"),
    "interrupted": (":warning:", "Interrupted (approved by {by}): may or may not have run"),
}


def step_value(incident_id: str, step_id: str) -> str:
    return f"{incident_id}|{step_id}"


def parse_step_value(value: str) -> tuple[str, str]:
    incident_id, _, step_id = value.partition("|")
    return incident_id, step_id


def checklist_blocks(book: Runbook, incident_id: str, drills: bool = False) -> list[dict[str, Any]]:
    """A button per step. Drill steps change a table on purpose: left out unless asked for (`drills`), so that
    a real incident's checklist never offers them; `/dataflow run drill-create confirm` still can."""
    steps_shown = [s for s in book.steps if drills or not s.drill]
    note = "" if len(steps_shown) == len(book.steps) else (
        "; chaos drill steps are not offered here (they change the table): `/dataflow run &lt;drill-step&gt; confirm`")
    blocks = [header(f"Runbook: {book.title}"),
              context(f"{incident_id} · read steps run at once; :lock: steps need approval by a second person"
                      + note)]
    phases: dict[str, list[Any]] = {}
    for step in steps_shown:
        phases.setdefault(step.phase, []).append(step)
    for phase, steps in phases.items():
        lines = [f"{':lock:' if s.kind == 'mutate' else ':mag:'} `{s.id}` — {escape(s.title)}" for s in steps]
        blocks.append(section(f"*{escape(phase)}*\n" + "\n".join(lines)))
        buttons = [button(("🔒 " if s.kind == "mutate" else "") + s.title, f"{RUN_STEP}:{s.id}",
                          step_value(incident_id, s.id)) for s in steps]
        for start in range(0, len(buttons), MAX_BUTTONS):
            blocks.append({"type": "actions", "elements": buttons[start:start + MAX_BUTTONS]})
    return blocks


def _headline(a: Approval) -> tuple[str, str]:
    emoji, words = HEADLINES[a.state]
    return emoji, words.format(by=f"<@{a.decided_by}>" if a.decided_by else "?")


def approval_text(a: Approval, approvers: str = "") -> str:
    """The notification text: the state first; a pending request mentions the approvers to notify them."""
    ask = f" Approvers: {approvers}" if a.state == "pending" and approvers else ""
    return f"{_headline(a)[1]}: {a.summary} (requested by <@{a.requester}>).{ask}"


def approval_blocks(a: Approval, tz: str = "UTC", approvers: str = "") -> list[dict[str, Any]]:
    """The request message, rendered from the run's current state; buttons only while pending."""
    emoji, words = _headline(a)
    facts = "\n".join(f"• {escape(f)}" for f in a.facts)
    blocks = [
        section(f"{emoji} *{words}* — {a.summary}\nStep `{a.step}` of `{a.runbook}`, requested by "
                f"<@{a.requester}> at {fmt_time(a.created_at, tz)}; expires {fmt_time(a.expires_at, tz)}."),
        section("*Exact action*\n```" + clip(escape(a.action_text), 2800) + "```"),
    ]
    if facts:
        blocks.append(section("*Pre-check*\n" + facts))
    if a.state == "pending":
        if approvers:
            blocks.append(context(f"Approvers: {approvers} (anyone but the requester)"))
        blocks.append({"type": "actions", "elements": [
            button("Approve", APPROVE, a.id, style="primary"), button("Deny", DENY, a.id, style="danger")]})
    else:
        when = fmt_time(a.decided_at or a.expires_at, tz)
        line = DECIDED.get(a.state, a.state).format(by=a.decided_by or "?", at=when)
        blocks.append(context(line + (f" {escape(a.result)}" if a.state == "void" and a.result else "")))
    return blocks
