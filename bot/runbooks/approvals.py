"""A step run (an approval request and what follows it): one state machine in Redis.

pending -> approved | denied | expired | void;  approved -> executing | void;
executing -> done | failed | interrupted.

Each approval is a hash: the request, as one JSON field written once, and the mutable fields (state,
decided_by, decided_at, message_ts, result, version). Every transition is one Lua script (bot/runbooks/
step_lua.py): compare the state, write the new one, bump the version, append the audit entry, mark the
run for a Slack sync. Slack is then made to match the state (bot/runbooks/sync.py), and retried from the
sync set by the reconciler when it fails.
"""

from __future__ import annotations

import json
import secrets
import time
from typing import TYPE_CHECKING, Any, Literal

import redis
from pydantic import BaseModel, Field
from slack_sdk.errors import SlackApiError

from bot.errors import PermissionDenied
from bot.runbooks.step_lua import CREATE, SET_MESSAGE_TS, SYNCED, TRANSITION
from bot.store import AUDIT_STREAM, PREFIX

if TYPE_CHECKING:
    from bot.deps import Deps

State = Literal["pending", "approved", "denied", "expired", "void", "executing", "done", "failed", "interrupted"]
TERMINAL: frozenset[str] = frozenset({"denied", "expired", "void", "done", "failed", "interrupted"})
MOVES: dict[str, frozenset[str]] = {   # the only transitions there are
    "pending": frozenset({"approved", "denied", "expired", "void"}),
    "approved": frozenset({"executing", "void"}),
    "executing": frozenset({"done", "failed", "interrupted"}),
}
LIVE = PREFIX + "approvals:live"     # zset: runs not yet in a terminal state (the reconciler's work list)
SYNC = PREFIX + "approvals:sync"     # zset: runs whose Slack side must be made to match the state, by when


class Request(BaseModel):
    """What was asked: fixed once the request exists."""

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


class Approval(Request):
    state: State = "pending"
    decided_by: str | None = None
    decided_at: float | None = None
    message_ts: str | None = None
    result: str = ""                  # the verdict line for the thread (done, failed, void, interrupted)
    version: int = 0

    def expired(self, now: float | None = None) -> bool:
        return (now or time.time()) > self.expires_at


def new_id() -> str:
    return secrets.token_urlsafe(12)


def _key(approval_id: str) -> str:
    return PREFIX + f"approval:{approval_id}"


def _alive_key(approval_id: str) -> str:
    return PREFIX + f"approval-alive:{approval_id}"


def _open_key(r: Request) -> str:
    return PREFIX + f"approval-open:{r.incident_id}:{r.step}:{r.action_hash}"


def _audit(r: Request, event: str, user: str, detail: str) -> str:
    fields = {"event": event, "approval_id": r.id, "incident": r.incident_id, "step": r.step, "user": user,
              "requester": r.requester, "action_hash": r.action_hash, "detail": detail, "at": f"{time.time():.3f}"}
    return json.dumps([part for pair in fields.items() for part in pair])


class Approvals:
    """The store of step runs. Each method is one atomic Redis operation."""

    def __init__(self, redis_client: Any) -> None:
        self.r = redis_client

    def create(self, request: Request) -> tuple[str, bool]:
        """(id, True) for a new request; (id of the open one, False) when this exact action is already asked."""
        now = time.time()
        ttl_ms = max(1000, int((request.expires_at - now) * 1000))
        created, approval_id = self.r.eval(
            CREATE, 5, _key(request.id), _open_key(request), AUDIT_STREAM, LIVE, SYNC,
            request.id, request.model_dump_json(), ttl_ms, f"{now:.6f}",
            _audit(request, "requested", request.requester, request.action_text))
        return str(approval_id), bool(created)

    def get(self, approval_id: str) -> Approval | None:
        if not approval_id or len(approval_id) > 64:
            return None
        try:
            raw = self.r.hgetall(_key(approval_id))
        except redis.ResponseError:   # a key of another shape (an older format): not ours to read
            return None
        if not raw or "request" not in raw:
            return None
        fields: dict[str, Any] = {k: raw[k] for k in ("state", "decided_by", "message_ts", "result") if raw.get(k)}
        if raw.get("decided_at"):
            fields["decided_at"] = float(raw["decided_at"])
        return Approval(**json.loads(raw["request"]), **fields, version=int(raw.get("version") or 0))

    def move(self, a: Request, old: State, new: State, user: str, detail: str = "", **fields: Any) -> bool:
        """True only for the one caller that moved the run from `old` to `new` (and audited it)."""
        if new not in MOVES.get(old, ()):
            raise ValueError(f"no transition {old} -> {new}")
        pairs = [str(part) for item in fields.items() for part in item]
        found = self.r.eval(TRANSITION, 5, _key(a.id), AUDIT_STREAM, SYNC, LIVE, _open_key(a),
                            a.id, old, new, f"{time.time():.6f}", json.dumps(pairs), _audit(a, new, user, detail),
                            "1" if new in TERMINAL else "0")
        return bool(found == "OK")

    def set_message_ts(self, approval_id: str, ts: str) -> None:
        self.r.eval(SET_MESSAGE_TS, 2, _key(approval_id), SYNC, ts, f"{time.time():.6f}", approval_id)

    def synced(self, approval_id: str, version: int) -> None:
        self.r.eval(SYNCED, 2, _key(approval_id), SYNC, str(version), approval_id)

    def forget_sync(self, approval_id: str) -> None:
        self.r.zrem(SYNC, approval_id)

    def sync_later(self, approval_id: str, delay_s: float) -> None:
        self.r.zadd(SYNC, {approval_id: time.time() + delay_s})

    def due_syncs(self, limit: int = 100) -> list[str]:
        return [str(x) for x in self.r.zrangebyscore(SYNC, "-inf", f"{time.time():.6f}", start=0, num=limit)]

    def live_ids(self) -> list[str]:
        return [str(x) for x in self.r.zrange(LIVE, 0, -1)]

    # -- liveness of a step being started or run ---------------------------------------------------
    def claim_start(self, approval_id: str, ttl_s: float) -> bool:
        """One process at a time starts (pre-check, execute) a run; its heartbeat keeps the claim."""
        return bool(self.r.set(_alive_key(approval_id), "1", nx=True, px=int(ttl_s * 1000)))

    def heartbeat(self, approval_id: str, ttl_s: float) -> None:
        self.r.set(_alive_key(approval_id), "1", px=int(ttl_s * 1000))

    def end_heartbeat(self, approval_id: str) -> None:
        self.r.delete(_alive_key(approval_id))

    def alive(self, approval_id: str) -> bool:
        return bool(self.r.exists(_alive_key(approval_id)))


def approver_mentions(approvers: list[str], requester: str = "") -> str:
    """The eligible approvers as Slack mentions, so that they are notified: users <@U…> (not the requester,
    who may not approve), user groups <!subteam^S…>."""
    return " ".join(f"<!subteam^{a}>" if a.startswith("S") else f"<@{a}>" for a in approvers if a != requester)


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
