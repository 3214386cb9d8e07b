"""The loop that makes the due root-message edits (bot/incidents/root_edits.py says why they wait).
Edits are cosmetic: one that fails is tried again after the interval, with the state of that time."""

from __future__ import annotations

import threading
import time

import redis

from bot.deps import Deps
from bot.incidents.poster import ThreadPoster
from bot.incidents.root_edits import claim_root_edit, due_roots, mark_edited, retry_root_edit
from bot.incidents.storm import edit_summary, is_storm
from bot.log import get_logger
from bot.slack_pacing import Priority, slack_priority

log = get_logger(__name__)
POLL_SECONDS = 0.2


def root_editor(deps: Deps, stop: threading.Event, name: str = "root-editor") -> None:
    """One per process; replicas share the due set."""
    while not stop.is_set():
        try:
            due = due_roots(deps.store.r, time.time())
            for incident_id in due:
                if claim_root_edit(deps.store, incident_id):
                    edit_root(deps, incident_id)
            if not due:
                stop.wait(POLL_SECONDS)
        except redis.RedisError as exc:
            log.warning("redis unavailable, retrying", loop=name, error=type(exc).__name__)
            stop.wait(1.0)


def edit_root(deps: Deps, incident_id: str) -> None:
    """`incident_id` may be a storm's owner id: its summary lists incidents, and is edited the same way."""
    interval = deps.settings.root_edit_interval_seconds
    if is_storm(incident_id):
        _edit_summary(deps, incident_id, interval)
        return
    inc = deps.store.incident(incident_id)
    if inc is None or not inc.root_ts:
        return
    mark_edited(deps.store, incident_id, interval)
    try:
        with slack_priority(Priority.EDIT):
            ThreadPoster(deps).refresh_root(inc)
    except Exception as exc:  # cosmetic: the next attempt shows the latest state anyway
        log.warning("root edit failed; will retry", incident=incident_id, error=deps.redactor.text(repr(exc)))
        retry_root_edit(deps.store, incident_id, interval)


def _edit_summary(deps: Deps, owner: str, interval: float) -> None:
    mark_edited(deps.store, owner, interval)
    try:
        edit_summary(deps, owner)
    except Exception as exc:  # cosmetic like a root edit: the next one shows the latest state
        log.warning("storm summary edit failed; will retry", storm=owner, error=deps.redactor.text(repr(exc)))
        retry_root_edit(deps.store, owner, interval)
