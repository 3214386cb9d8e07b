"""`declare <title>`: an incident opened by hand, with its thread; `resolve <reason>`: closed by hand."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from bot.blocks.incident_commands import declared_text, resolved_by_hand_text
from bot.commands.incident_state import change_incident, record_key_event, source_id
from bot.commands.registry import Invocation, Reply, split_incident_arg, subcommand
from bot.commands.target import resolve_incident, thread_reply
from bot.errors import UserInputError
from bot.incidents.poster import ThreadPoster
from bot.models import Incident, TimelineEvent

if TYPE_CHECKING:
    from bot.deps import Deps

TITLE_MAX = 120
REASON_MAX = 500
# Alertmanager's incidents are keyed "pipeline:<name>" or "group:<hash>": this prefix never meets them.
MANUAL_KEY_PREFIX = "declared:"


def required_text(words: list[str], command: str, what: str, limit: int, example: str) -> str:
    """The free text a command needs (a title, a reason): present, and not longer than `limit`."""
    text = " ".join(words).strip()
    if not text:
        raise UserInputError(f"`{command}` needs a {what}.", f"Example: `/dataflow {command} {example}`.")
    if len(text) > limit:
        raise UserInputError(f"The {what} is {len(text)} characters long.", f"Keep it under {limit}.")
    return text


@subcommand("declare", "<title>", "open an incident by hand, with its own thread")
def run_declare(deps: Deps, inv: Invocation, args: list[str]) -> Reply:
    title = required_text(args, "declare", "title", TITLE_MAX, '"orders lagging in Flink"')
    inc = new_declared_incident(deps, inv, title)
    ThreadPoster(deps).ensure_root(inc)
    record_key_event(deps, inc, inv, TimelineEvent(
        ts=time.time(), kind="incident_opened", text=f"{inc.id} declared by hand: {title} (via {inv.surface})",
        source_id="opened", data={"declared_by": inv.user_id}))
    return thread_reply(inc, declared_text(inc, inv.user_id))


def new_declared_incident(deps: Deps, inv: Invocation, title: str) -> Incident:
    number = deps.store.next_incident_number()
    now = time.time()
    inc = Incident(id=f"INC-{number}", number=number, correlation_key=f"{MANUAL_KEY_PREFIX}INC-{number}",
                   title=title, channel=deps.settings.incident_channel or inv.channel_id, opened_at=now,
                   last_seen_at=now, notifications=0, declared_by=inv.user_id)
    deps.store.save_incident(inc)
    return inc


@subcommand("resolve", "<reason> [INC-n]", "resolve the incident by hand; Alertmanager's resolve is still recorded")
def run_resolve(deps: Deps, inv: Invocation, args: list[str]) -> Reply:
    rest, _ = split_incident_arg(args)
    reason = required_text(rest, "resolve", "reason", REASON_MAX, '"connector restarted"')
    target = resolve_incident(deps, inv, args)
    inc = target.incident
    assert inc is not None
    if inc.status != "open":
        raise UserInputError(f"{inc.id} is already resolved.", "Name another one (`INC-12`) if you meant it.")

    def close(current: Incident) -> None:
        if current.status != "open":     # resolved meanwhile (Alertmanager, another person): leave it
            raise UserInputError(f"{current.id} was resolved meanwhile.", "Nothing was changed.")
        current.status, current.resolved_at = "resolved", time.time()
        current.resolved_by, current.resolve_reason = inv.user_id, reason
        current.resolved_by_hand_at = current.resolved_at

    inc = change_incident(deps, inc, close)
    record_key_event(deps, inc, inv, TimelineEvent(
        ts=inc.resolved_at or time.time(), kind="incident_resolved", text=f"Resolved by hand: {reason}",
        source_id=source_id("resolved-by-hand", inv), data={"reason": reason, "by_hand": True}))
    return thread_reply(inc, resolved_by_hand_text(inc, inv.user_id), note=target.note())
