"""Changing an incident by hand: one read-modify-write under the lock the alert path folds under, then
the root edited through ThreadPoster, and the change on the timeline."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from bot.commands.registry import Invocation
from bot.incidents.poster import ThreadPoster
from bot.models import Incident, TimelineEvent

if TYPE_CHECKING:
    from bot.deps import Deps


def change_incident(deps: Deps, inc: Incident, change: Callable[[Incident], None]) -> Incident:
    """`change` applied to the stored incident (not the caller's copy, which a fold may have outdated),
    under the incident's correlation lock, so that an alert folded meanwhile is neither lost nor undone."""
    with deps.store.lock(f"corr:{inc.correlation_key}"):
        current = deps.store.incident(inc.id) or inc
        change(current)
        deps.store.save_incident(current)
    ThreadPoster(deps).update_root(current)
    return current


def record_key_event(deps: Deps, inc: Incident, inv: Invocation, event: TimelineEvent) -> None:
    """A change made by a person: a key event of the postmortem, with the command as typed."""
    deps.store.add_event(inc.id, event.model_copy(update={
        "actor": inv.user_id, "key": True, "data": {**event.data, "text": inv.text, "surface": inv.surface}}))


def source_id(kind: str, inv: Invocation) -> str:
    return f"{kind}:{inv.user_id}:{time.time_ns()}"
