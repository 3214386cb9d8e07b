"""`ack` / `own`: who leads the incident; `severity <sev>`: how bad it is. Both edit the root."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from bot.blocks.incident_commands import SEVERITIES, commander_text, severity_text, unknown_severity_hint
from bot.commands.incident_state import change_incident, record_key_event, source_id
from bot.commands.registry import Invocation, Reply, subcommand
from bot.commands.target import Target, resolve_incident, thread_reply
from bot.errors import UserInputError
from bot.models import Incident, TimelineEvent

if TYPE_CHECKING:
    from bot.deps import Deps


@subcommand("ack", "[INC-n]", "take the incident: you become its commander (same as `own`)")
def run_ack(deps: Deps, inv: Invocation, args: list[str]) -> Reply:
    return take_command(deps, inv, args, "ack")


@subcommand("own", "[INC-n]", "take the incident: you become its commander (same as `ack`)")
def run_own(deps: Deps, inv: Invocation, args: list[str]) -> Reply:
    return take_command(deps, inv, args, "own")


def take_command(deps: Deps, inv: Invocation, args: list[str], name: str) -> Reply:
    target = open_incident(deps, inv, args, name)
    inc = target.incident
    assert inc is not None
    already = inc.commander == inv.user_id
    if not already:
        def become(current: Incident) -> None:
            current.commander = inv.user_id
        inc = change_incident(deps, inc, become)
        # The postmortem reads exactly this shape: kind "commander", data {"user": <user id>}.
        record_key_event(deps, inc, inv, TimelineEvent(
            ts=time.time(), kind="commander", text=f"Took the incident as commander (`{name}`, via {inv.surface})",
            source_id=source_id("commander", inv), data={"user": inv.user_id}))
    return thread_reply(inc, commander_text(inc, inv.user_id, already), note=target.note())


@subcommand("severity", "<" + "|".join(SEVERITIES) + "> [INC-n]", "set the incident's severity")
def run_severity(deps: Deps, inv: Invocation, args: list[str]) -> Reply:
    target = resolve_incident(deps, inv, args)
    inc, rest = target.incident, target.rest
    assert inc is not None
    if len(rest) != 1 or rest[0].lower() not in SEVERITIES:
        given = f"`{rest[0][:40]}` is not a severity." if len(rest) == 1 else "Name one severity."
        raise UserInputError(given, unknown_severity_hint() + " Example: `/dataflow severity critical`.")
    wanted, previous = rest[0].lower(), inc.severity
    if wanted != previous:
        def set_severity(current: Incident) -> None:
            current.severity = wanted
        inc = change_incident(deps, inc, set_severity)
        record_key_event(deps, inc, inv, TimelineEvent(
            ts=time.time(), kind="command", text=f"Severity set to {wanted} (was {previous}, via {inv.surface})",
            source_id=source_id("severity", inv), data={"severity": wanted, "previous": previous}))
    return thread_reply(inc, severity_text(inc, inv.user_id, previous), note=target.note())


def open_incident(deps: Deps, inv: Invocation, args: list[str], name: str) -> Target:
    """The incident a command acts on, which must still be open and take no other argument."""
    target = resolve_incident(deps, inv, args)
    inc, rest = target.incident, target.rest
    assert inc is not None
    if rest:
        raise UserInputError(f"`{name}` takes only an incident, not `{rest[0][:40]}`.",
                             f"Example: `/dataflow {name} INC-12`.")
    if inc.status != "open":
        raise UserInputError(f"{inc.id} is resolved.", "A new firing reopens it; `declare` opens one by hand.")
    return target
