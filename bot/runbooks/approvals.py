"""Four-eyes approvals: requests bound to the exact action, single-use state changes, audit."""

from __future__ import annotations

import secrets
import time
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field
from slack_sdk.errors import SlackApiError

from bot.errors import PermissionDenied
from bot.store import PREFIX

if TYPE_CHECKING:
    from bot.deps import Deps

State = Literal["pending", "approved", "denied", "expired", "void", "executing", "done", "failed"]
_CAS = """
if redis.call('get', KEYS[1]) == ARGV[1] then redis.call('set', KEYS[1], ARGV[2]) return 1 else return 0 end
"""


class Approval(BaseModel):
    id: str
    incident_id: str
    runbook: str
    step: str
    params: dict[str, str]
    args: list[str] = Field(default_factory=list)
    summary: str
    action_text: str                  # the exact SQL or HTTP call shown to the approver
    action_hash: str                  # sha256 of action_text; execution re-plans and must match
    facts: list[str] = Field(default_factory=list)
    requester: str
    created_at: float
    expires_at: float
    channel: str
    thread_ts: str | None = None
    message_ts: str | None = None
    state: State = "pending"
    decided_by: str | None = None
    decided_at: float | None = None
    result: str = ""

    def expired(self, now: float | None = None) -> bool:
        return (now or time.time()) > self.expires_at


def _key(approval_id: str) -> str:
    return PREFIX + f"approval:{approval_id}"


def _state_key(approval_id: str) -> str:
    return PREFIX + f"approval-state:{approval_id}"


def _alive_key(approval_id: str) -> str:
    return PREFIX + f"approval-alive:{approval_id}"


HEARTBEAT_SECONDS = 10.0   # an executing step proves it is alive this often
ALIVE_TTL_SECONDS = 30.0   # silence this long means the process running it died


class Approvals:
    """The approval store. State lives in its own key so that a transition is one atomic compare-and-set:
    a second click, a click on another replica or a retry finds the state already moved and does nothing."""

    def __init__(self, redis_client: Any) -> None:
        self.r = redis_client

    def create(self, **fields: Any) -> Approval:
        approval = Approval(id=secrets.token_urlsafe(12), **fields)
        self.r.set(_state_key(approval.id), "pending")
        self.save(approval)
        return approval

    def save(self, approval: Approval) -> None:
        self.r.set(_key(approval.id), approval.model_dump_json(exclude={"state"}))

    def get(self, approval_id: str) -> Approval | None:
        if not approval_id or len(approval_id) > 64:
            return None
        raw, state = self.r.get(_key(approval_id)), self.r.get(_state_key(approval_id))
        if raw is None or state is None:
            return None
        return Approval.model_validate_json(raw).model_copy(update={"state": state})

    def heartbeat(self, approval_id: str) -> None:
        self.r.set(_alive_key(approval_id), "1", ex=int(ALIVE_TTL_SECONDS))

    def end_heartbeat(self, approval_id: str) -> None:
        self.r.delete(_alive_key(approval_id))

    def silent_executions(self) -> list[Approval]:
        """Approvals in state `executing` whose process stopped proving it is alive: it died mid-step."""
        found = []
        for key in self.r.scan_iter(PREFIX + "approval-state:*", count=500):
            approval_id = str(key).rsplit(":", 1)[1]
            if self.r.get(key) == "executing" and not self.r.exists(_alive_key(approval_id)):
                approval = self.get(approval_id)
                if approval is not None:
                    found.append(approval)
        return found

    def transition(self, approval_id: str, old: State, new: State) -> bool:
        """Atomic: True only for the one caller that moved the state from `old` to `new`."""
        return bool(self.r.eval(_CAS, 1, _state_key(approval_id), old, new))


def is_approver(deps: Deps, user_id: str) -> bool:
    """APPROVERS lists user IDs and user-group IDs; groups are resolved now, at click time."""
    approvers = deps.settings.approvers
    if user_id in approvers:
        return True
    for group in (a for a in approvers if a.startswith("S")):
        try:
            members = deps.slack.usergroups_users_list(usergroup=group).get("users") or []
        except SlackApiError as exc:
            error = exc.response.get("error") if exc.response is not None else "error"
            raise PermissionDenied(f"Could not check membership of user group {group} ({error}).",
                                   "Ask an admin to check the bot's usergroups:read scope.") from exc
        if user_id in members:
            return True
    return False
