"""The step-run state machine against real Redis: transitions, races, and a stateful property test."""

from __future__ import annotations

import itertools
import threading
import time
from collections import Counter
from typing import Any

import pytest
import redis
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from bot.runbooks.approvals import MOVES, TERMINAL, Approvals, Request, new_id
from tests.conftest import REDIS_DB, REDIS_HOST, REDIS_PORT

AUDIT_STATE = {"requested": "pending"}


def request(step: str = "rollback-schema", action: str = "ALTER TABLE t DROP COLUMN c", ttl: float = 600) -> Request:
    now = time.time()
    return Request(id=new_id(), incident_id="INC-1", runbook="schema-drift", step=step, params={},
                   summary="Drop c", action_text=action, action_hash=f"h-{action}", requester="U0ALICE",
                   created_at=now, expires_at=now + ttl, channel="C1", thread_ts="1.0")


def audit_of(r: Any, approval_id: str) -> list[str]:
    return [f["event"] for _id, f in r.xrange("dfo:audit") if f["approval_id"] == approval_id]


def together(n: int, func: Any) -> list[Any]:
    """`func(i)` on n threads released at the same instant."""
    barrier, results = threading.Barrier(n), [None] * n

    def run(i: int) -> None:
        barrier.wait()
        results[i] = func(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_every_transition_is_audited_in_order_with_its_fields(redis_client: Any) -> None:
    store = Approvals(redis_client)
    req = request()
    approval_id, created = store.create(req)
    assert created and store.get(approval_id).state == "pending"   # type: ignore[union-attr]
    assert store.move(req, "pending", "approved", "U0BOB", decided_by="U0BOB", decided_at="12.5")
    assert not store.move(req, "pending", "denied", "U0BOB")          # already decided
    assert store.move(req, "approved", "executing", "U0BOB")
    assert store.move(req, "executing", "done", "U0BOB", result="ok")
    a = store.get(approval_id)
    assert a is not None and (a.state, a.decided_by, a.decided_at, a.result, a.version) == ("done", "U0BOB", 12.5, "ok", 4)
    assert audit_of(redis_client, approval_id) == ["requested", "approved", "executing", "done"]
    entry = redis_client.xrange("dfo:audit")[-1][1]
    assert set(entry) == {"event", "approval_id", "incident", "step", "user", "requester", "action_hash", "detail", "at"}
    assert approval_id not in store.live_ids()


def test_a_transition_outside_the_machine_is_a_bug(redis_client: Any) -> None:
    store = Approvals(redis_client)
    req = request()
    store.create(req)
    with pytest.raises(ValueError):
        store.move(req, "pending", "done", "U0BOB")


def test_the_message_ts_arriving_late_never_overwrites_a_decision(redis_client: Any) -> None:
    store = Approvals(redis_client)
    req = request()
    approval_id, _ = store.create(req)
    store.move(req, "pending", "approved", "U0BOB", decided_by="U0BOB", decided_at="1")
    store.synced(approval_id, 2)
    store.set_message_ts(approval_id, "111.222")             # the post returned only now
    a = store.get(approval_id)
    assert a is not None and (a.state, a.decided_by, a.message_ts) == ("approved", "U0BOB", "111.222")
    assert approval_id in store.due_syncs()                   # the message gets rendered from the state
    assert audit_of(redis_client, approval_id) == ["requested", "approved"]


def test_a_sync_of_an_older_version_leaves_the_run_to_sync(redis_client: Any) -> None:
    store = Approvals(redis_client)
    req = request()
    approval_id, _ = store.create(req)
    store.move(req, "pending", "denied", "U0BOB", decided_by="U0BOB")
    store.synced(approval_id, 1)                              # rendered before the denial
    assert approval_id in store.due_syncs()
    store.synced(approval_id, 2)
    assert approval_id not in store.due_syncs()


def test_three_parallel_requests_for_the_same_action_make_one(redis_client: Any) -> None:
    store = Approvals(redis_client)
    results = together(3, lambda _i: store.create(request()))
    assert sum(created for _id, created in results) == 1
    assert len({approval_id for approval_id, _ in results}) == 1
    assert [f["event"] for _id, f in redis_client.xrange("dfo:audit")] == ["requested"]


def test_a_request_for_another_action_or_after_a_decision_is_new(redis_client: Any) -> None:
    store = Approvals(redis_client)
    first = request()
    assert store.create(first)[1]
    assert store.create(request(action="ALTER TABLE t DROP COLUMN d"))[1]
    store.move(first, "pending", "denied", "U0BOB")
    assert store.create(request())[1]


def test_concurrent_clicks_give_one_verdict(redis_client: Any) -> None:
    store = Approvals(redis_client)
    req = request()
    approval_id, _ = store.create(req)
    wins = together(8, lambda i: store.move(req, "pending", "approved" if i % 2 else "denied", f"U{i}",
                                            decided_by=f"U{i}"))
    assert wins.count(True) == 1
    assert len(audit_of(redis_client, approval_id)) == 2


def test_one_start_claim_at_a_time(redis_client: Any) -> None:
    store = Approvals(redis_client)
    assert together(4, lambda _i: store.claim_start("x", 5)).count(True) == 1
    store.end_heartbeat("x")
    assert store.claim_start("x", 5)


PICK = st.integers(0, 63)


class StepRuns(RuleBasedStateMachine):
    """Requests, concurrent clicks, expiry, starts from two replicas, finishes, and a process dying at each
    step (the reconciler then reports it), in any order: each run keeps one consistent history."""

    def __init__(self) -> None:
        super().__init__()
        self.r = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=REDIS_DB, decode_responses=True)
        self.store = Approvals(self.r)
        self.runs: dict[str, Request] = {}
        self.dead: set[str] = set()     # runs whose process died (no heartbeat)

    @initialize()
    def clean(self) -> None:
        self.r.flushdb()

    def _in(self, state: str) -> list[str]:
        return [i for i in self.runs if (a := self.store.get(i)) is not None and a.state == state]

    @rule(action=st.sampled_from(["DROP COLUMN a", "DROP COLUMN b"]), n=st.integers(1, 3))
    def ask(self, action: str, n: int) -> None:
        made = together(n, lambda _i: self.store.create(request(action=action)))
        assert sum(created for _id, created in made) <= 1
        for approval_id, _ in made:
            self.runs.setdefault(approval_id, self.store.get(approval_id))  # type: ignore[arg-type]

    @staticmethod
    def _pick(candidates: list[str], pick: int) -> str | None:
        """Chosen by an index drawn up front: what Hypothesis draws must not depend on racy state (which of
        two concurrent clicks won), else it cannot replay a run."""
        return candidates[pick % len(candidates)] if candidates else None

    @precondition(lambda self: self.runs)
    @rule(pick=PICK, clicks=st.lists(st.sampled_from(["approved", "denied", "expired"]), min_size=1, max_size=4))
    def clicks_at_once(self, pick: int, clicks: list[str]) -> None:
        approval_id = self._pick(list(self.runs), pick)
        assert approval_id is not None
        before = self.store.get(approval_id)
        wins = together(len(clicks), lambda i: self.store.move(self.runs[approval_id], "pending", clicks[i],  # type: ignore[arg-type]
                                                               f"U{i}", decided_by=f"U{i}"))
        assert wins.count(True) == (1 if before and before.state == "pending" else 0)

    @precondition(lambda self: self.runs)
    @rule(pick=PICK, ok=st.booleans())
    def two_replicas_start_then_finish(self, pick: int, ok: bool) -> None:
        approval_id = self._pick(self._in("approved"), pick)
        if approval_id is None:
            return
        req = self.runs[approval_id]
        started = together(2, lambda _i: self.store.move(req, "approved", "executing", "U1"))
        assert started.count(True) == 1
        if approval_id not in self.dead:
            self.store.move(req, "executing", "done" if ok else "failed", "U1", result="line")

    @precondition(lambda self: self.runs)
    @rule(pick=PICK)
    def process_dies(self, pick: int) -> None:
        self.dead.add(list(self.runs)[pick % len(self.runs)])

    @rule()
    def reconciler_round(self) -> None:
        for approval_id in self._in("executing"):
            if approval_id in self.dead:
                self.store.move(self.runs[approval_id], "executing", "interrupted", "bot", result="line")
        for approval_id in self._in("pending"):
            if approval_id in self.dead:       # stands for "past expires_at"
                self.store.move(self.runs[approval_id], "pending", "expired", "bot")

    @rule(pick=PICK, ok=st.booleans())
    def a_late_result_is_not_a_verdict(self, pick: int, ok: bool) -> None:
        approval_id = self._pick(self._in("interrupted"), pick)
        if approval_id is not None:
            assert not self.store.move(self.runs[approval_id], "executing", "done" if ok else "failed", "U1")

    @invariant()
    def each_history_is_a_path_of_the_machine(self) -> None:
        for approval_id in self.runs:
            events = [AUDIT_STATE.get(e, e) for e in audit_of(self.r, approval_id)]
            assert events[0] == "pending"
            assert all(b in MOVES.get(a, ()) for a, b in itertools.pairwise(events))
            assert sum(e in TERMINAL for e in events) <= 1            # at most one verdict
            a = self.store.get(approval_id)
            assert a is not None and a.state == events[-1] and a.version == len(events)

    @invariant()
    def one_open_request_per_action(self) -> None:
        pending = Counter(self.runs[i].action_hash for i in self._in("pending"))
        assert all(n == 1 for n in pending.values())

    def teardown(self) -> None:
        """Every run ends: the rest of the machine's own moves drive each one to exactly one terminal state."""
        for approval_id, req in self.runs.items():
            for old, new in (("pending", "expired"), ("approved", "void"), ("executing", "interrupted")):
                self.store.move(req, old, new, "bot")  # type: ignore[arg-type]
            events = audit_of(self.r, approval_id)
            assert sum(e in TERMINAL for e in events) == 1 and events[-1] in TERMINAL
        self.r.close()


StepRuns.TestCase.settings = settings(max_examples=40, stateful_step_count=25, deadline=None)


def test_step_runs_stateful(redis_url: str) -> None:
    StepRuns.TestCase().runTest()
