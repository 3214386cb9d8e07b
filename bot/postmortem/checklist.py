"""The seed runbook's postmortem checklist (section 7), and the action items: open boxes and thread follow-ups."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.postmortem.findings import ddl_entries
from bot.postmortem.model import Check, Facts
from bot.postmortem.text import cell, from_slack, person

# The human-only items of runbook section 7, in its order.
RCA_ITEM = "RCA logged: who changed the schema, when, impact."
TESTS_ITEM = "Tests updated (integration/contract) to catch it earlier."
DOCS_ITEM = "If the drift was legitimate: documentation & schema registry updated."


def _box(ok: bool) -> str:
    return "[x]" if ok else "[ ]"


def _checked(check: Check) -> str:
    return f"- {_box(check.ok)} {check.label} — {check.detail}"


def verified_checks(facts: Facts) -> list[Check]:
    checks = facts.checks
    return [checks.alert, *checks.connectors, *checks.jobs] + ([checks.baseline] if checks.baseline else [])


def checklist_lines(facts: Facts) -> list[str]:
    checks = facts.checks
    lines = ["_Boxes with a verdict were verified live when this draft was exported; the others are for people._",
             "", "**1. Alert clear, connector back to `RUNNING`**", _checked(checks.alert)]
    lines += [_checked(c) for c in (*checks.connectors, *checks.jobs)]
    if not checks.connectors:
        lines.append("- [ ] Connector back to RUNNING — no connector is known for this incident: check by hand")
    rca_hint = " (the bot found the DDL: see Root cause; who and impact remain)" if ddl_entries(facts.events) else ""
    lines += ["", "**2. Root cause analysis**", f"- [ ] {RCA_ITEM}{rca_hint}",
              "", "**3. Tests**", f"- [ ] {TESTS_ITEM}",
              "", "**4. Legitimate drift**"]
    if checks.baseline is not None:
        lines.append(_checked(checks.baseline))
    else:
        lines.append("- [ ] Baseline updated — no accepted drift recorded (not needed if the change was rolled back)")
    lines.append(f"- [ ] {DOCS_ITEM}")
    return lines


# ":pushpin: follow-up: add a DDL check owner: @alice priority: P2", one per line of a thread message.
_FOLLOW_UP = re.compile(r"^\s*(?::pushpin:|:round_pushpin:|📌)\s*follow[- ]?up\s*:\s*(?P<rest>.+)$", re.IGNORECASE)
_OWNER = re.compile(r"\bowner\s*:\s*(?P<owner><@[^>]+>|@?[\w.-]+)", re.IGNORECASE)
_PRIORITY = re.compile(r"\bpriority\s*:\s*(?P<priority>P[0-4])\b", re.IGNORECASE)
TO_ASSIGN = "_to assign_"


@dataclass(frozen=True)
class ActionItem:
    text: str
    owner: str
    priority: str
    source: str


def follow_ups(facts: Facts) -> list[ActionItem]:
    """Follow-ups people wrote in the thread with the :pushpin: convention; owner and priority when given."""
    items = []
    for e in facts.events:
        if e.kind != "human_message":
            continue
        for line in e.text.splitlines():
            if not (found := _FOLLOW_UP.match(line)):
                continue
            rest = found.group("rest")
            owner, priority = _OWNER.search(rest), _PRIORITY.search(rest)
            text = _PRIORITY.sub("", _OWNER.sub("", rest)).strip(" ,;—-")
            items.append(ActionItem(from_slack(text, facts.people),
                                    from_slack(owner.group("owner"), facts.people) if owner else TO_ASSIGN,
                                    priority.group("priority").upper() if priority else "unset",
                                    f"thread, {person(e.actor, facts.people)}"))
    return items


def open_checklist_items(facts: Facts) -> list[ActionItem]:
    """Every box still open is an action item: a live check that failed first, then the human-only ones."""
    items = [ActionItem(f"{c.label} ({c.detail})", TO_ASSIGN, "P1", "checklist, verified live")
             for c in verified_checks(facts) if not c.ok]
    items += [ActionItem(RCA_ITEM, TO_ASSIGN, "P2", "checklist"), ActionItem(TESTS_ITEM, TO_ASSIGN, "P2", "checklist")]
    if facts.checks.baseline is not None:
        items.append(ActionItem(DOCS_ITEM, TO_ASSIGN, "P3", "checklist"))
    return items


def action_item_lines(facts: Facts) -> list[str]:
    items = follow_ups(facts) + open_checklist_items(facts)
    rows = [f"| {n} | {cell(i.text)} | {cell(i.owner)} | {i.priority} | {cell(i.source)} |"
            for n, i in enumerate(items, start=1)]
    return ["| # | Action | Owner | Priority | From |", "|---|---|---|---|---|", *rows, "",
            "_Add one line per change decided in Lessons. In the thread, a line that starts with the pushpin emoji, "
            "then `follow-up: what owner: @who priority: P2`, lands here on the next export._"]
