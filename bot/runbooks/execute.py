"""Execute an approved step: pre-check again, compare the action, run, and end in exactly one verdict.

Whoever calls it (the approver's click, or the reconciler on any replica for an approval nobody started),
one process at a time holds the run's start claim, and the state machine lets only one of them execute.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

from bot.errors import ApprovalError, DataflowError
from bot.incidents.poster import ThreadPoster
from bot.log import get_logger
from bot.metrics import RUNBOOK_STEPS
from bot.models import TimelineEvent
from bot.runbooks.actions import ACTIONS, Plan
from bot.runbooks.approvals import Approval, Approvals, State
from bot.runbooks.context import StepContext
from bot.runbooks.engine import audit, event, plan_step, run_check
from bot.runbooks.model import Step, runbooks
from bot.runbooks.sync import sync_run
from bot.scope import incident_scope

if TYPE_CHECKING:
    from bot.deps import Deps

log = get_logger(__name__)


def execute(deps: Deps, approval_id: str) -> None:
    store, ttl = Approvals(deps.store.r), deps.settings.step_heartbeat_ttl_seconds
    if not store.claim_start(approval_id, ttl):
        return   # another process is starting or running it
    with heartbeating(store, approval_id, ttl):
        a = store.get(approval_id)
        if a is None or a.state != "approved":
            return
        _start(deps, store, a)


def _start(deps: Deps, store: Approvals, a: Approval) -> None:
    inc = deps.store.incident(a.incident_id)
    book = runbooks().get(a.runbook)
    step = book.step(a.step) if book else None
    if inc is None or step is None:
        void(deps, a, "the incident or the runbook step no longer exists")
        return
    ctx = StepContext(deps, inc, incident_scope(deps, inc), a.requester, a.args)
    try:
        pre = run_check(ctx, step.precheck, a.params)
        if pre is not None and not pre.ok:
            raise ApprovalError(f"the pre-check ({step.precheck}) fails now:\n{pre.text}")
        plan = plan_step(ctx, step, a.params)
    except DataflowError as exc:
        void(deps, a, exc.user_text())
        return
    if plan.action_hash != a.action_hash:
        void(deps, a, f"the action is not the one approved any more (now: `{plan.action_text}`)")
        return
    if not store.move(a, "approved", "executing", a.decided_by or "bot", plan.action_text):
        return
    event(deps, inc, "execution", f"{a.step} executing: {plan.action_text}", a.decided_by or "bot",
          f"approval:{a.id}:execution", step=a.step, approval_id=a.id)
    ok, text = _run(deps, a, ctx, step, plan)
    finish(deps, a, ok, text)


def _run(deps: Deps, a: Approval, ctx: StepContext, step: Step, plan: Plan) -> tuple[bool, str]:
    try:
        outcome = ACTIONS[step.action].run(ctx, a.params, plan)
        ok, text = outcome.ok, outcome.text
        after = run_check(ctx, step.postcheck, a.params) if ok else None
        if after is not None:
            text += f"\n*Post-check* ({step.postcheck}):\n{after.text}"
    except DataflowError as exc:
        ok, text = False, f":x: {exc.user_text()}"
    except Exception as exc:  # the run must end in a final state whatever happens
        log.error("step execution failed", step=a.step, error=deps.redactor.text(repr(exc)))
        ok, text = False, f":x: execution failed ({type(exc).__name__}); see the bot's logs"
    return ok, text


def finish(deps: Deps, a: Approval, ok: bool, text: str) -> None:
    """executing -> done/failed, if that is still the state; else the reconciler already reported it
    interrupted, and this is a late result, not a second verdict."""
    store = Approvals(deps.store.r)
    final: State = "done" if ok else "failed"
    line = f"*{a.step}* (requested by <@{a.requester}>, approved by <@{a.decided_by}>)\n{text}"
    if store.move(a, "executing", final, a.decided_by or "bot", text[:500], result=line):
        RUNBOOK_STEPS.labels(a.step, final).inc()
        sync_run(deps, a.id)
        return
    current = store.get(a.id)
    if current is not None and current.state == "interrupted":
        late_result(deps, current, ok, text)


def late_result(deps: Deps, a: Approval, ok: bool, text: str) -> None:
    """Recorded (audit, timeline, one thread line) as what it is: the late result of an interrupted run."""
    audit(deps, "late-result", a, a.decided_by or "bot", f"{'done' if ok else 'failed'}: {text[:500]}")
    inc = deps.store.incident(a.incident_id)
    if inc is None:
        return
    line = (f":information_source: Late result of `{a.step}` (approved by <@{a.decided_by}>), a run reported "
            f"interrupted above: it {'succeeded' if ok else 'FAILED'} after all.\n{text}")
    deps.store.add_event(inc.id, TimelineEvent(
        ts=time.time(), kind="result", text=f"{a.step}: late result", actor="bot",
        source_id=f"approval:{a.id}:late-result",
        data={"step": a.step, "ok": ok, "detail": text[:500], "approval_id": a.id, "late": True}))
    with contextlib.suppress(Exception):   # Slack down: the audit and the timeline have it
        ThreadPoster(deps).post_once(inc, f"late:{a.id}", inc.root_ts, line, None)


def void(deps: Deps, a: Approval, reason: str) -> None:
    line = f":warning: `{a.step}` was approved but is void, it did not run: {reason}"
    if Approvals(deps.store.r).move(a, "approved", "void", "bot", reason, result=line):
        sync_run(deps, a.id)


def report_interrupted(deps: Deps, a: Approval) -> None:
    """The process running this step died: it may or may not have run. Said once (the transition's CAS)."""
    line = (f":warning: `{a.step}` (approved by <@{a.decided_by}>) was interrupted: the bot stopped while this "
            "step was executing; it may or may not have run. Check the state by hand (read-only steps such as "
            "`schema-diff` or `connector-status` help).")
    if Approvals(deps.store.r).move(a, "executing", "interrupted", "bot", "the executing process went silent",
                                    result=line):
        sync_run(deps, a.id)


@contextlib.contextmanager
def heartbeating(store: Approvals, approval_id: str, ttl_s: float) -> Iterator[None]:
    """Keep proving the run is alive while it starts and runs; the reconciler acts if we die."""
    done = threading.Event()

    def beat() -> None:
        while not done.wait(ttl_s / 3):
            with contextlib.suppress(Exception):   # a Redis blip must not end the heartbeat
                store.heartbeat(approval_id, ttl_s)

    thread = threading.Thread(target=beat, name=f"heartbeat-{approval_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        with contextlib.suppress(Exception):
            store.end_heartbeat(approval_id)
