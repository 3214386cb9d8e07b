"""The runbook engine: run a read step, or ask for approval of a mutating one; every phase recorded."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from bot.blocks.incident import incident_metadata
from bot.errors import ApprovalError, UserInputError
from bot.metrics import RUNBOOK_STEPS
from bot.models import Incident, TimelineEvent
from bot.runbooks.actions import ACTIONS, Outcome, Plan
from bot.runbooks.approvals import Approvals, Request, new_id
from bot.runbooks.context import StepContext
from bot.runbooks.model import Runbook, Step
from bot.runbooks.sync import sync_run, where_is
from bot.scope import incident_scope

if TYPE_CHECKING:
    from bot.deps import Deps


def event(deps: Deps, inc: Incident, kind: Any, text: str, actor: str, source: str, **data: Any) -> None:
    deps.store.add_event(inc.id, TimelineEvent(ts=time.time(), kind=kind, text=text, actor=actor,
                                               source_id=source, data=data))


def audit(deps: Deps, what: str, a: Request, user: str, detail: str = "") -> None:
    deps.store.audit(event=what, approval_id=a.id, incident=a.incident_id, step=a.step, user=user,
                     requester=a.requester, action_hash=a.action_hash, detail=detail, at=f"{time.time():.3f}")


def post_in_thread(deps: Deps, inc: Incident, text: str, blocks: list[dict[str, Any]] | None = None,
                   files: list[tuple[str, str]] | None = None, kind: str = "step") -> str:
    resp = deps.slack.chat_postMessage(channel=inc.channel, thread_ts=inc.root_ts, text=text, blocks=blocks,
                                       metadata=incident_metadata(inc.id, kind))
    for name, content in files or []:
        deps.slack.files_upload_v2(channel=inc.channel, thread_ts=inc.root_ts, filename=name, title=name,
                                   content=content)
    return str(resp["ts"])


def run_check(ctx: StepContext, name: str | None, params: dict[str, str]) -> Outcome | None:
    return ACTIONS[name].run(ctx, params, None) if name else None


def request_step(deps: Deps, inc: Incident, book: Runbook, step: Step, user: str, args: list[str]) -> str:
    """Read steps run now and post their outcome; mutating steps post an approval request.

    Returns a short confirmation for the requester.
    """
    ctx = StepContext(deps, inc, incident_scope(deps, inc), user, _drill_allowed(inc, step, args))
    params = ctx.resolve(step.params, step.id)
    if step.kind == "read":
        outcome = ACTIONS[step.action].run(ctx, params, None)
        RUNBOOK_STEPS.labels(step.id, "ok" if outcome.ok else "attention").inc()
        post_in_thread(deps, inc, f"*{step.title}* (`{step.id}`, by <@{user}>)\n{outcome.text}", files=outcome.files)
        event(deps, inc, "result", f"{step.id}: {'ok' if outcome.ok else 'needs attention'}", user,
              f"read:{step.id}:{time.time_ns()}", step=step.id, ok=outcome.ok, detail=outcome.text[:500])
        return f"Ran `{step.id}`: the outcome is in the {inc.id} thread."
    return _request_approval(deps, ctx, book, step, params)


def _request_approval(deps: Deps, ctx: StepContext, book: Runbook, step: Step, params: dict[str, str]) -> str:
    inc = ctx.incident
    pre = run_check(ctx, step.precheck, params)
    if pre is not None and not pre.ok:
        raise ApprovalError(f"`{step.id}` is refused by its pre-check ({step.precheck}):\n{pre.text}",
                            "Fix what the pre-check says, then ask again.")
    plan = plan_step(ctx, step, params)
    ttl = (step.approval.ttl_seconds if step.approval else None) or deps.settings.approval_ttl_seconds
    now = time.time()
    request = Request(
        id=new_id(), incident_id=inc.id, runbook=book.name, step=step.id, params={**params, **plan.settled},
        args=ctx.args, summary=plan.summary, action_text=plan.action_text, action_hash=plan.action_hash,
        facts=plan.facts, requester=ctx.user, created_at=now, expires_at=now + ttl, channel=inc.channel,
        thread_ts=inc.root_ts)
    approval_id, created = Approvals(deps.store.r).create(request)   # audited "requested" in the same step
    if not created:
        return _already_requested(deps, approval_id, step)
    event(deps, inc, "approval_requested", f"{ctx.user} asked to run {step.id}: {plan.summary}", ctx.user,
          f"approval:{approval_id}:requested", approval_id=approval_id, step=step.id, action=plan.action_text,
          requester=ctx.user)
    posted = sync_run(deps, approval_id)
    later = "" if posted else " (Slack did not take the message yet; the bot posts it as soon as it can)"
    return f"Approval requested for `{step.id}` in the {inc.id} thread{later}; another approver must approve it."


def _already_requested(deps: Deps, approval_id: str, step: Step) -> str:
    """One open request per (incident, step, exact action): a second click points to the first."""
    open_one = Approvals(deps.store.r).get(approval_id)
    where = where_is(deps, open_one) if open_one else "above in the thread"
    return f"`{step.id}` already has an open approval request for this exact action: {where}. Approve or deny it there."


def _drill_allowed(inc: Incident, step: Step, args: list[str]) -> list[str]:
    """A drill step changes a table on purpose: in an open incident, only with an explicit `confirm`."""
    if step.drill and inc.status == "open" and "confirm" not in args:
        raise UserInputError(f"`{step.id}` is a chaos drill: it will change the table (an ALTER TABLE) while "
                             f"{inc.id} is open.",
                             f"If that is really what you want: `/dataflow run {step.id} confirm {inc.id}`.")
    return [a for a in args if a != "confirm"] if step.drill else args


def plan_step(ctx: StepContext, step: Step, params: dict[str, str]) -> Plan:
    planner = ACTIONS[step.action].plan
    if planner is None:
        raise ApprovalError(f"action {step.action} cannot be planned")
    return planner(ctx, params)
