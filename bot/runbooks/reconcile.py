"""Background, on every replica: no step run is left stuck, unreported or out of step with Slack.

Each round, for every run not yet ended: expire pending requests past their time (no click needed), remind
once, start approved steps nobody started, report executing steps whose process went silent as interrupted;
then retry the Slack syncs that failed. The state machine's compare-and-set lets only one replica act on
each run. Any error is logged (redacted) and the loop carries on: it must never die.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from bot.deps import Deps
from bot.log import get_logger
from bot.runbooks.approvals import Approval, Approvals
from bot.runbooks.decide import expire
from bot.runbooks.execute import execute, report_interrupted, void
from bot.runbooks.sync import remind, sync_run

log = get_logger(__name__)


def reconcile_interrupted(deps: Deps, stop: threading.Event) -> None:
    """The loop started by `serve` (bot/server.py's BACKGROUND)."""
    while True:
        _guarded(deps, "reconcile round", reconcile_round, deps)
        if stop.wait(deps.settings.reconcile_interval_seconds):
            return


def reconcile_round(deps: Deps) -> None:
    store = Approvals(deps.store.r)
    for approval_id in store.live_ids():
        _guarded(deps, f"check run {approval_id}", check_run, deps, store, approval_id)
    for approval_id in store.due_syncs():
        _guarded(deps, f"sync run {approval_id}", sync_run, deps, approval_id)


def check_run(deps: Deps, store: Approvals, approval_id: str) -> None:
    a = store.get(approval_id)
    if a is None:
        return
    if a.state == "pending":
        _check_pending(deps, a)
    elif a.state == "approved" and not store.alive(a.id):
        _check_approved(deps, a)
    elif a.state == "executing" and not store.alive(a.id):
        log.warning("step interrupted by a dead process", approval=a.id, step=a.step)
        report_interrupted(deps, a)


def _check_pending(deps: Deps, a: Approval) -> None:
    if a.expired():
        expire(deps, a)
        return
    reminder = deps.settings.approval_reminder_seconds
    if reminder > 0 and time.time() - a.created_at >= reminder:
        remind(deps, a)


def _check_approved(deps: Deps, a: Approval) -> None:
    """Approved, and no process is starting or running it (its process died, or it hung on Slack).

    Chosen: start it on this replica while the approval is fresh (execute() runs the pre-check again and
    compares the action hash, so a changed world makes it void); once older than APPROVAL_TTL_SECONDS,
    report it as not run instead: an approval given that long ago should not fire by surprise.
    """
    age = time.time() - (a.decided_at or a.created_at)
    if age < deps.settings.approved_start_deadline_seconds:
        return
    if age > deps.settings.approval_ttl_seconds:
        void(deps, a, f"it was approved {age / 60:.0f} min ago but never started; ask again if still needed")
        return
    log.warning("approved step not started; starting it here", approval=a.id, step=a.step)
    deps.jobs.submit(_guarded, deps, f"start run {a.id}", execute, deps, a.id)


def _guarded(deps: Deps, what: str, func: Callable[..., Any], *args: Any) -> None:
    try:
        func(*args)
    except Exception as exc:  # one bad item or one Slack/Redis error must not stop the reconciler
        log.error("reconciler: failed", what=what, error=deps.redactor.text(repr(exc)))
