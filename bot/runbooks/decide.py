"""Approve or deny a request, then execute it: every rule of four-eyes checked, every outcome recorded."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

import redis

from bot.blocks.runbook import approval_blocks, approval_text
from bot.errors import ApprovalError, DataflowError, NotFoundError, PermissionDenied
from bot.log import get_logger
from bot.metrics import RUNBOOK_STEPS
from bot.models import Incident
from bot.runbooks.actions import ACTIONS, Plan
from bot.runbooks.approvals import HEARTBEAT_SECONDS, Approval, Approvals, State, is_approver
from bot.runbooks.context import StepContext, pipeline_of
from bot.runbooks.engine import audit, event, plan_step, post_in_thread, run_check
from bot.runbooks.model import runbooks

if TYPE_CHECKING:
    from bot.deps import Deps

log = get_logger(__name__)


def _load(deps: Deps, approval_id: str) -> Approval:
    a = Approvals(deps.store.r).get(approval_id)
    if a is None:
        raise NotFoundError("This approval request does not exist (any more).",
                            "Ask for the step again with `/dataflow run <step>`.")
    return a


def _refuse(deps: Deps, a: Approval, user: str, reason: str, hint: str) -> PermissionDenied:
    audit(deps, "refused", a, user, reason)
    inc = deps.store.incident(a.incident_id)
    if inc:
        event(deps, inc, "approval_refused", f"{user} was refused on {a.step}: {reason}", user,
              f"approval:{a.id}:refused:{user}:{time.time_ns()}", approval_id=a.id, reason=reason)
    return PermissionDenied(reason, hint)


def decide(deps: Deps, approval_id: str, user: str, approve: bool) -> str:
    """Returns what to tell the clicker; raises a typed error for a refused click."""
    a = _load(deps, approval_id)
    store = Approvals(deps.store.r)
    if a.state != "pending":
        by = f" by <@{a.decided_by}>" if a.decided_by else ""
        return f"Nothing to do: this request is already {a.state}{by}."
    if a.expired():
        if store.transition(a.id, "pending", "expired"):
            _finish(deps, a.model_copy(update={"state": "expired"}), user, "expired")
        raise ApprovalError("This approval request has expired.", f"Ask again: `/dataflow run {a.step}`.")
    if approve and user == a.requester:
        raise _refuse(deps, a, user, "You asked for this step, so you cannot approve it.",
                      "Another person listed in APPROVERS must approve it.")
    if approve and not is_approver(deps, user):
        raise _refuse(deps, a, user, "You are not an approver for mutating steps.",
                      "Approvers are the users and user groups in APPROVERS.")
    if not approve and user != a.requester and not is_approver(deps, user):
        raise _refuse(deps, a, user, "Only the requester or an approver can deny this request.", "")
    new: State = "approved" if approve else "denied"
    if not store.transition(a.id, "pending", new):
        return "Someone else decided this request a moment ago; nothing more to do."
    a = a.model_copy(update={"state": new, "decided_by": user, "decided_at": time.time()})
    store.save(a)
    _finish(deps, a, user, new)
    if approve:
        execute(deps, a)
        return f"Approved: `{a.step}` ran; the result is in the thread."
    return f"Denied: `{a.step}` will not run."


def _finish(deps: Deps, a: Approval, user: str, what: str) -> None:
    """Audit, timeline, and the request message edited to say who decided and when (buttons gone)."""
    audit(deps, what, a, user, a.result)
    inc = deps.store.incident(a.incident_id)
    if inc and what in ("approved", "denied"):
        event(deps, inc, "approval_decided", f"{user} {what} {a.step}", user, f"approval:{a.id}:{what}",
              approval_id=a.id, step=a.step, decision=what, requester=a.requester, approver=user)
    if a.message_ts:
        deps.slack.chat_update(channel=a.channel, ts=a.message_ts, text=approval_text(a),
                               blocks=approval_blocks(a, deps.settings.display_tz))


def _close(deps: Deps, a: Approval, old: State, new: State, what: str, result: str, line: str) -> None:
    """End an approval without a result of its own (void, interrupted): once, said in the thread."""
    if not Approvals(deps.store.r).transition(a.id, old, new):
        return
    a = a.model_copy(update={"state": new, "result": result})
    Approvals(deps.store.r).save(a)
    _finish(deps, a, "bot", what)
    inc = deps.store.incident(a.incident_id)
    if inc:
        post_in_thread(deps, inc, line)
        event(deps, inc, "result", f"{a.step}: {what}", "bot", f"approval:{a.id}:{what}",
              step=a.step, ok=False, detail=line, approval_id=a.id)


def _void(deps: Deps, a: Approval, reason: str) -> None:
    _close(deps, a, "approved", "void", "void", reason, f":warning: `{a.step}` was approved but is void: {reason}")


def execute(deps: Deps, a: Approval) -> None:
    inc = deps.store.incident(a.incident_id)
    book = runbooks().get(a.runbook)
    step = book.step(a.step) if book else None
    if inc is None or step is None:
        _void(deps, a, "the incident or the runbook step no longer exists")
        return
    ctx = StepContext(deps, inc, pipeline_of(deps, inc), a.requester, a.args)
    try:
        pre = run_check(ctx, step.precheck, a.params)
        if pre is not None and not pre.ok:
            raise ApprovalError(f"the pre-check ({step.precheck}) fails now:\n{pre.text}")
        plan = plan_step(ctx, step, a.params)
    except DataflowError as exc:
        _void(deps, a, exc.user_text())
        return
    if plan.action_hash != a.action_hash:
        _void(deps, a, f"the action is not the one approved any more (now: `{plan.action_text}`)")
        return
    store = Approvals(deps.store.r)
    store.heartbeat(a.id)   # before the state says executing, so the reconciler never sees it silent
    if not store.transition(a.id, "approved", "executing"):
        return
    audit(deps, "executing", a, a.decided_by or "", plan.action_text)
    event(deps, inc, "execution", f"{a.step} executing: {plan.action_text}", a.decided_by or "bot",
          f"approval:{a.id}:execution", step=a.step, approval_id=a.id)
    with heartbeating(store, a.id):
        _record_result(deps, a, inc, ctx, step.action, step.postcheck, plan)


@contextlib.contextmanager
def heartbeating(store: Approvals, approval_id: str) -> Iterator[None]:
    """Keep proving the step is alive while it runs; the reconciler reports it if we die."""
    done = threading.Event()

    def beat() -> None:
        while not done.wait(HEARTBEAT_SECONDS):
            with contextlib.suppress(redis.RedisError):   # a Redis blip must not end the heartbeat
                store.heartbeat(approval_id)

    thread = threading.Thread(target=beat, name=f"heartbeat-{approval_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        store.end_heartbeat(approval_id)


def report_interrupted(deps: Deps, a: Approval) -> None:
    """A process died while running this step: it may or may not have run. Say so, once."""
    reason = ("interrupted: the bot stopped while this step was executing; it may or may not have run. "
              "Check the state by hand (read-only steps such as `schema-diff` or `connector-status` help).")
    _close(deps, a, "executing", "failed", "interrupted", "Interrupted.",
           f":warning: `{a.step}` (approved by <@{a.decided_by}>) was {reason}")


def _record_result(deps: Deps, a: Approval, inc: Incident, ctx: StepContext, action: str,
                   postcheck: str | None, plan: Plan) -> None:
    try:
        outcome = ACTIONS[action].run(ctx, a.params, plan)
        ok, text = outcome.ok, outcome.text
        after = run_check(ctx, postcheck, a.params) if ok else None
        if after is not None:
            text += f"\n*Post-check* ({postcheck}):\n{after.text}"
    except DataflowError as exc:
        ok, text = False, f":x: {exc.user_text()}"
    except Exception as exc:  # the approval must end in a final state whatever happens
        log.error("step execution failed", step=a.step, error=deps.redactor.text(repr(exc)))
        ok, text = False, f":x: execution failed ({type(exc).__name__}); see the bot's logs"
    final: State = "done" if ok else "failed"
    Approvals(deps.store.r).transition(a.id, "executing", final)
    a = a.model_copy(update={"state": final, "result": "" if ok else "See the thread."})
    Approvals(deps.store.r).save(a)
    _finish(deps, a, a.decided_by or "bot", final)
    RUNBOOK_STEPS.labels(a.step, final).inc()
    post_in_thread(deps, inc, f"*{a.step}* (requested by <@{a.requester}>, approved by <@{a.decided_by}>)\n{text}")
    event(deps, inc, "result", f"{a.step}: {'done' if ok else 'failed'}", "bot", f"approval:{a.id}:result",
          step=a.step, ok=ok, detail=text[:500], approval_id=a.id)
