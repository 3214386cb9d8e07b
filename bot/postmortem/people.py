"""Participants and their roles, read from who did what in the event log."""

from __future__ import annotations

from bot.models import TimelineEvent
from bot.postmortem.model import Facts
from bot.postmortem.text import cell, person

COMMANDER_KIND = "commander"   # {"user": "<user id>"}: someone took the incident commander role in Slack


def commander(events: list[TimelineEvent]) -> str | None:
    """The latest hand-over wins."""
    found = [str(e.data.get("user")) for e in events if str(e.kind) == COMMANDER_KIND and e.data.get("user")]
    return found[-1] if found else None


def _roles(events: list[TimelineEvent]) -> dict[str, list[str]]:
    roles: dict[str, list[str]] = {}

    def add(user: object, role: str) -> None:
        name = str(user or "")
        if name and name not in ("bot", "alertmanager") and role not in roles.setdefault(name, []):
            roles[name].append(role)

    for e in events:
        if e.kind == "approval_requested":
            add(e.data.get("requester") or e.actor, "requested steps")
        elif e.kind == "approval_decided":
            add(e.data.get("approver") or e.actor, f"{e.data.get('decision', 'decided')} steps")
        elif e.kind == "result" and e.actor:
            add(e.actor, "ran read steps")
        elif e.kind == "command":
            add(e.actor, "ran commands")
        elif e.kind == "human_message":
            add(e.actor, "commented in the thread")
        elif e.kind == "approval_refused":
            add(e.actor, "had a click refused")
    return roles


def participant_lines(facts: Facts) -> list[str]:
    lead = commander(facts.events)
    lines = [f"- Incident commander: {person(lead, facts.people)}" if lead else
             "- Incident commander: not recorded (nobody took the role in Slack): fill in."]
    roles = _roles(facts.events)
    if not roles:
        return [*lines, "", "_Nobody acted through Slack: fill in who worked on it._"]
    lines += ["", "| Person | Roles (from the timeline) |", "|---|---|"]
    ordered = sorted(roles, key=lambda u: (u != lead, person(u, facts.people)))
    lines += [f"| {cell(person(u, facts.people))} | {', '.join(roles[u])}"
              f"{' (incident commander)' if u == lead else ''} |" for u in ordered]
    return lines
