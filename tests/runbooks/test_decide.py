"""Clicks on an approval request (decide.py) against real Redis, the Slack emulator and the Connect simulator
over HTTP: approve, deny, expired, refused clicks, and a click on a request already decided."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from bot.deps import Deps
from bot.errors import ApprovalError, NotFoundError, PermissionDenied
from bot.incidents.poster import ThreadPoster
from bot.models import Incident
from bot.runbooks.approvals import Approval, Approvals
from bot.runbooks.decide import decide
from bot.runbooks.engine import request_step
from bot.runbooks.model import find_step, runbooks
from bot.sandbox.connect_sim import ConnectSimulator
from bot.sandbox.slack_emulator import SlackEmulator
from tests.e2e.alerting import alert
from tests.harness import BOT_TOKEN, CHANNEL
from tests.incidents.test_fold import fold
from tests.postmortem import conftest as shared
from tests.runbooks.test_step_run import audit_of, together

# The emulator, and Deps on real Redis wired to it (tests/postmortem/conftest.py).
slack, make_deps = shared.slack, shared.make_deps
ALICE, BOB, CAROL = "U0ALICE", "U0BOB", "U0CAROL"     # Alice asks; Alice and Bob approve; Carol may not
CONNECTOR = "mysql-oltp-orders"
STEP = "resume-connector"


@pytest.fixture
def connect() -> Iterator[ConnectSimulator]:
    """The incident's connector, PAUSED: the step under approval resumes it."""
    with ConnectSimulator(restart_delay=0.05) as sim:
        sim.add_connector(CONNECTOR, {"connector.class": "io.debezium.connector.mysql.MySqlConnector"})
        sim.pause(CONNECTOR)
        yield sim


@dataclass
class Asked:
    """A request for `resume-connector` by Alice, posted in the incident's thread, still pending."""

    deps: Deps
    incident: Incident
    id: str

    def get(self) -> Approval:
        a = Approvals(self.deps.store.r).get(self.id)
        assert a is not None
        return a

    def audit(self) -> list[str]:
        return audit_of(self.deps.store.r, self.id)

    def timeline(self, kind: str) -> list[dict[str, Any]]:
        return [e.data for e in self.deps.store.events(self.incident.id) if e.kind == kind]


@pytest.fixture
def ask(make_deps: Callable[..., Deps], slack: SlackEmulator, connect: ConnectSimulator) -> Callable[..., Asked]:
    def make(**settings: Any) -> Asked:
        deps = make_deps(slack_bot_token=BOT_TOKEN, slack_api_url=slack.api_url, incident_channel=CHANNEL,
                         connect_url=connect.url, **{"approvers": [ALICE, BOB], **settings})
        [opened] = fold(deps.store, "1-0", alert("ConnectorTaskFailed", connector=CONNECTOR), now=time.time())
        inc = opened.incident
        ThreadPoster(deps).ensure_root(inc)
        book, step = find_step(runbooks(), STEP)
        assert "Approval requested" in request_step(deps, inc, book, step, ALICE, [])
        [approval_id] = Approvals(deps.store.r).live_ids()
        asked = Asked(deps, inc, approval_id)
        assert asked.get().message_ts and "approve_step" in request_message(slack, asked)["blocks_json"]
        return asked

    return make


def request_message(slack: SlackEmulator, asked: Asked) -> dict[str, Any]:
    message = slack.message(CHANNEL, asked.get().message_ts or "")
    assert message is not None
    return {**message, "blocks_json": json.dumps(message.get("blocks"))}


def thread(slack: SlackEmulator, asked: Asked) -> list[dict[str, Any]]:
    return slack.replies(CHANNEL, asked.incident.root_ts or "")


def connector_state(connect: ConnectSimulator) -> str:
    return str(connect.status(CONNECTOR)["connector"]["state"])


# -- decisions ----------------------------------------------------------------------------------------------
def test_an_approver_approves_and_the_step_runs_once(ask: Callable[..., Asked], slack: SlackEmulator,
                                                     connect: ConnectSimulator) -> None:
    asked = ask()
    assert decide(asked.deps, asked.id, BOB, True) == f"Approved: `{STEP}` ran; the result is in the thread."
    a = asked.get()
    assert (a.state, a.decided_by) == ("done", BOB) and a.decided_at is not None
    assert asked.audit() == ["requested", "approved", "executing", "done"]
    assert connector_state(connect) == "RUNNING"
    message = request_message(slack, asked)
    assert message["text"].startswith("Done (approved by <@U0BOB>)") and "approve_step" not in message["blocks_json"]
    verdicts = [m for m in thread(slack, asked) if m["text"].startswith(f"*{STEP}* (requested by <@U0ALICE>")]
    assert len(verdicts) == 1
    assert [(d["decision"], d["approver"]) for d in asked.timeline("approval_decided")] == [("approved", BOB)]


@pytest.mark.parametrize(("who", "approvers"), [(BOB, [ALICE, BOB]), (ALICE, [BOB])],
                         ids=["an approver", "the requester, not an approver, withdrawing"])
def test_a_denied_request_does_not_run(ask: Callable[..., Asked], slack: SlackEmulator, connect: ConnectSimulator,
                                       who: str, approvers: list[str]) -> None:
    asked = ask(approvers=approvers)
    assert decide(asked.deps, asked.id, who, False) == f"Denied: `{STEP}` will not run."
    a = asked.get()
    assert (a.state, a.decided_by) == ("denied", who) and asked.audit() == ["requested", "denied"]
    assert connector_state(connect) == "PAUSED"
    message = request_message(slack, asked)
    assert message["text"].startswith(f"Denied by <@{who}>") and "approve_step" not in message["blocks_json"]
    assert [d["decision"] for d in asked.timeline("approval_decided")] == ["denied"]


def test_a_click_after_the_deadline_expires_the_request(ask: Callable[..., Asked], slack: SlackEmulator,
                                                        connect: ConnectSimulator) -> None:
    asked = ask(approval_ttl_seconds=0.1)
    slack.wait_for(lambda: asked.get().expired(), timeout=5, what="the request past its deadline")
    with pytest.raises(ApprovalError, match="expired"):
        decide(asked.deps, asked.id, BOB, True)
    a = asked.get()
    assert (a.state, a.decided_by) == ("expired", None) and asked.audit() == ["requested", "expired"]
    assert connector_state(connect) == "PAUSED"
    message = request_message(slack, asked)
    assert message["text"].startswith("Expired without a decision") and "approve_step" not in message["blocks_json"]


# -- refused clicks: audited, and the request stays open for the right person ------------------------------
def test_the_requester_cannot_approve_their_own_request(ask: Callable[..., Asked], slack: SlackEmulator,
                                                       connect: ConnectSimulator) -> None:
    asked = ask()
    before = request_message(slack, asked)
    with pytest.raises(PermissionDenied, match="You asked for this step"):
        decide(asked.deps, asked.id, ALICE, True)          # Alice is an approver, but not of her own request
    assert asked.get().state == "pending" and asked.audit() == ["requested", "refused"]
    [entry] = [f for _id, f in asked.deps.store.r.xrange("dfo:audit") if f["event"] == "refused"]
    assert entry["user"] == ALICE and "You asked for this step" in entry["detail"]
    assert [d["reason"] for d in asked.timeline("approval_refused")] == [entry["detail"]]
    assert request_message(slack, asked) == before and connector_state(connect) == "PAUSED"
    decide(asked.deps, asked.id, BOB, True)                   # another approver still can
    assert asked.get().state == "done"


def test_someone_not_an_approver_can_neither_approve_nor_deny(ask: Callable[..., Asked], slack: SlackEmulator,
                                                             connect: ConnectSimulator) -> None:
    asked = ask()
    before = request_message(slack, asked)
    with pytest.raises(PermissionDenied, match="not an approver"):
        decide(asked.deps, asked.id, CAROL, True)
    with pytest.raises(PermissionDenied, match="Only the requester or an approver"):
        decide(asked.deps, asked.id, CAROL, False)
    assert asked.get().state == "pending" and asked.audit() == ["requested", "refused", "refused"]
    assert len(asked.timeline("approval_refused")) == 2
    assert request_message(slack, asked) == before and connector_state(connect) == "PAUSED"


def test_approvers_may_be_a_user_group_resolved_at_click_time(ask: Callable[..., Asked],
                                                              slack: SlackEmulator) -> None:
    slack.add_usergroup("S0ONCALL", "db-oncall", [CAROL])
    asked = ask(approvers=[BOB, "S0ONCALL"])
    with pytest.raises(PermissionDenied, match="not an approver"):
        decide(asked.deps, asked.id, "U0DAVE", True)           # in no group listed
    assert len(slack.calls("usergroups.users.list")) == 1
    assert decide(asked.deps, asked.id, CAROL, True).startswith("Approved")
    assert asked.get().decided_by == CAROL


def test_an_unknown_request_is_not_found(ask: Callable[..., Asked]) -> None:
    asked = ask()
    with pytest.raises(NotFoundError):
        decide(asked.deps, "no-such-request", BOB, True)
    assert asked.audit() == ["requested"] and asked.get().state == "pending"


# -- a click on a request already decided -------------------------------------------------------------------
@pytest.mark.parametrize(("first", "final"), [(True, "done"), (False, "denied")], ids=["approved", "denied"])
@pytest.mark.parametrize("second", [True, False], ids=["then approve", "then deny"])
def test_a_second_click_changes_nothing_and_is_audited(ask: Callable[..., Asked], slack: SlackEmulator,
                                                       connect: ConnectSimulator, first: bool, final: str,
                                                       second: bool) -> None:
    asked = ask()
    decide(asked.deps, asked.id, BOB, first)
    before, replies, version = request_message(slack, asked), thread(slack, asked), asked.get().version
    calls, connect_calls = len(slack.calls()), len(connect.calls)
    answer = decide(asked.deps, asked.id, BOB, second)
    assert answer == f"Nothing to do: this request is already {final} by <@U0BOB>."
    a = asked.get()
    assert (a.state, a.version, a.decided_by) == (final, version, BOB)
    events = asked.audit()
    assert events[-1] == "stale-click-refused" and events.count("stale-click-refused") == 1
    [entry] = [f for _id, f in asked.deps.store.r.xrange("dfo:audit") if f["event"] == "stale-click-refused"]
    assert entry["detail"] == f"{'approve' if second else 'deny'} on a request already {final}"
    assert request_message(slack, asked) == before and thread(slack, asked) == replies
    assert len(slack.calls()) == calls and len(connect.calls) == connect_calls     # nothing touched
    assert len(asked.timeline("approval_decided")) == 1


def test_a_click_on_an_expired_request_is_stale(ask: Callable[..., Asked], slack: SlackEmulator) -> None:
    asked = ask(approval_ttl_seconds=0.1)
    slack.wait_for(lambda: asked.get().expired(), timeout=5, what="the request past its deadline")
    with pytest.raises(ApprovalError):
        decide(asked.deps, asked.id, BOB, True)
    assert decide(asked.deps, asked.id, BOB, True) == "Nothing to do: this request is already expired."
    assert asked.audit() == ["requested", "expired", "stale-click-refused"]


def test_two_approvers_clicking_at_once_give_one_decision_and_both_clicks_are_audited(
        ask: Callable[..., Asked], slack: SlackEmulator, connect: ConnectSimulator) -> None:
    """Both clicks read the request pending, then each waits on Slack for its group membership: both try
    to decide it. One wins; the other is told so and recorded like any click on a decided request."""
    slack.add_usergroup("S0ONCALL", "db-oncall", [BOB, CAROL])
    asked = ask(approvers=["S0ONCALL"])
    slack.set_latency(0.3, "usergroups.users.list")
    clicks = ((BOB, True), (CAROL, False))
    answers = together(2, lambda i: decide(asked.deps, asked.id, *clicks[i]))
    events = asked.audit()
    [decision] = [e for e in events if e in ("approved", "denied")]
    winner, loser = (0, 1) if decision == "approved" else (1, 0)
    assert answers[winner].startswith(("Approved", "Denied"))
    assert answers[loser] == "Someone else decided this request a moment ago; nothing more to do."
    a = asked.get()
    assert a.decided_by == clicks[winner][0] and a.state == ("done" if decision == "approved" else "denied")
    assert connector_state(connect) == ("RUNNING" if decision == "approved" else "PAUSED")
    stale = [f for _id, f in asked.deps.store.r.xrange("dfo:audit") if f["event"] == "stale-click-refused"]
    assert [(f["user"], f["detail"].split(" on ")[0]) for f in stale] == \
        [(clicks[loser][0], "approve" if clicks[loser][1] else "deny")]
    assert len(asked.timeline("approval_decided")) == 1
