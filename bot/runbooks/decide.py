"""Approve or deny a request: every rule of four-eyes checked, every outcome recorded, then execute."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from bot.errors import ApprovalError, NotFoundError, PermissionDenied
from bot.runbooks.approvals import Approval, Approvals, State, is_approver
from bot.runbooks.engine import audit, event
from bot.runbooks.execute import execute
from bot.runbooks.sync import sync_run

if TYPE_CHECKING:
    from bot.deps import Deps


def _load(deps: Deps, approval_id: str) -> Approval:
    a = Approvals(deps.store.r).get(approval_id)
    if a is None:
        raise NotFoundError("This approval request does not exist (any more).",
                            "Ask for the step again with `/dataflow run &lt;step&gt;`.")
    return a


def _refuse(deps: Deps, a: Approval, user: str, reason: str, hint: str) -> PermissionDenied:
    audit(deps, "refused", a, user, reason)
    inc = deps.store.incident(a.incident_id)
    if inc:
        event(deps, inc, "approval_refused", f"{user} was refused on {a.step}: {reason}", user,
              f"approval:{a.id}:refused:{user}:{time.time_ns()}", approval_id=a.id, reason=reason)
    return PermissionDenied(reason, hint)


def _check_decider(deps: Deps, a: Approval, user: str, approve: bool) -> None:
    if approve and user == a.requester:
        raise _refuse(deps, a, user, "You asked for this step, so you cannot approve it.",
                      "Another person listed in APPROVERS must approve it.")
    if approve and not is_approver(deps, user):
        raise _refuse(deps, a, user, "You are not an approver for mutating steps.",
                      "Approvers are the users and user groups in APPROVERS.")
    if not approve and user != a.requester and not is_approver(deps, user):
        raise _refuse(deps, a, user, "Only the requester or an approver can deny this request.", "")


def decide(deps: Deps, approval_id: str, user: str, approve: bool) -> str:
    """Returns what to tell the clicker; raises a typed error for a refused click."""
    a = _load(deps, approval_id)
    if a.state != "pending":
        audit(deps, "stale-click-refused", a, user, f"{'approve' if approve else 'deny'} on a request already {a.state}")
        by = f" by <@{a.decided_by}>" if a.decided_by else ""
        return f"Nothing to do: this request is already {a.state}{by}."
    if a.expired():
        expire(deps, a, user)
        raise ApprovalError("This approval request has expired.", f"Ask again: `/dataflow run {a.step}`.")
    _check_decider(deps, a, user, approve)
    new: State = "approved" if approve else "denied"
    if not Approvals(deps.store.r).move(a, "pending", new, user, decided_by=user, decided_at=f"{time.time():.6f}"):
        # Decided by another click since we read it: a click on a decided request, audited like one.
        now = Approvals(deps.store.r).get(a.id)
        audit(deps, "stale-click-refused", a, user,
              f"{'approve' if approve else 'deny'} on a request already {now.state if now else 'gone'}")
        return "Someone else decided this request a moment ago; nothing more to do."
    _decided_event(deps, a, user, new)
    sync_run(deps, a.id)   # the message says "approved by …; running" before it runs
    if approve:
        execute(deps, a.id)
        return f"Approved: `{a.step}` ran; the result is in the thread."
    return f"Denied: `{a.step}` will not run."


def expire(deps: Deps, a: Approval, user: str = "bot") -> None:
    """pending -> expired, by a late click or by the reconciler; the message loses its buttons."""
    if Approvals(deps.store.r).move(a, "pending", "expired", user):
        _decided_event(deps, a, "", "expired")
        sync_run(deps, a.id)


def _decided_event(deps: Deps, a: Approval, user: str, what: str) -> None:
    inc = deps.store.incident(a.incident_id)
    if inc:
        event(deps, inc, "approval_decided", f"{user or 'nobody'} {what} {a.step}", user or "bot",
              f"approval:{a.id}:{what}", approval_id=a.id, step=a.step, decision=what, requester=a.requester,
              approver=user)
