"""The Slack pacing gate: who goes first when the budget is short, and what a 429 does (orders and counts,
on a clock the test moves; never wall-clock timings)."""

from __future__ import annotations

import threading
import time

from bot.slack_client import retry_after
from bot.slack_pacing import Priority, RateGate, bucket_shape, keys_for


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def one_token_per_tick(_key: str) -> tuple[float, float]:
    return 20.0, 1.0     # one token every 0.05 s of the test's clock; a bucket holds one


def wait_until(predicate: object, limit: float = 10.0) -> None:
    deadline = time.monotonic() + limit
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.005)


def start_waiters(gate: RateGate, keys: list[str], priorities: list[Priority], order: list[str]) -> list[
        threading.Thread]:
    threads, before = [], gate.waiting()
    for i, prio in enumerate(priorities):
        name = f"{prio.name}-{i}"
        t = threading.Thread(target=lambda n=name, p=prio: (gate.acquire(keys, p), order.append(n)), daemon=True)
        t.start()
        wait_until(lambda k=i: gate.waiting() == before + (k + 1) * len(keys))   # arrival order is the test's
        threads.append(t)
    return threads


def release_one_by_one(gate: RateGate, clock: Clock, order: list[str], count: int) -> None:
    for n in range(1, count + 1):
        clock.now += 0.06   # a bit over one token: float sums of 0.05 fall short of it
        wait_until(lambda k=n: len(order) == k)
        time.sleep(0.02)
        assert len(order) == n, "one token let more than one caller through"


def test_the_highest_priority_goes_first_then_arrival_order() -> None:
    clock = Clock()
    gate = RateGate(shape=one_token_per_tick, clock=clock)
    gate.acquire(["channel:C1"], Priority.USER)            # the bucket is now empty
    order: list[str] = []
    arrivals = [Priority.EDIT, Priority.ENRICH, Priority.THREAD, Priority.ENRICH, Priority.ROOT, Priority.STORM]
    threads = start_waiters(gate, ["channel:C1"], arrivals, order)
    release_one_by_one(gate, clock, order, len(arrivals))
    for t in threads:
        t.join(5)
    assert order == ["STORM-5", "ROOT-4", "THREAD-2", "ENRICH-1", "ENRICH-3", "EDIT-0"]


def test_an_answer_to_a_person_is_not_paced_but_waits_out_a_429() -> None:
    clock = Clock()
    gate = RateGate(shape=one_token_per_tick, clock=clock)
    gate.acquire(["channel:C1"], Priority.ROOT)                # the bucket is empty
    order: list[str] = []
    start_waiters(gate, ["channel:C1"], [Priority.ENRICH], order)
    gate.acquire(["channel:C1"], Priority.USER)                # goes at once, ahead of the queue
    gate.hold_off(["channel:C1"], 30)
    users = start_waiters(gate, ["channel:C1"], [Priority.USER], order)
    clock.now += 29
    time.sleep(0.1)
    assert order == []
    clock.now += 1.5
    wait_until(lambda: "USER-0" in order)
    users[0].join(5)


def test_a_caller_on_two_keys_waits_for_both_and_nobody_deadlocks() -> None:
    clock = Clock()
    gate = RateGate(shape=one_token_per_tick, clock=clock)
    gate.acquire(["method:chat.postMessage", "channel:C1"], Priority.USER)
    gate.acquire(["channel:C2"], Priority.USER)
    order: list[str] = []
    a = start_waiters(gate, ["method:chat.postMessage", "channel:C1"], [Priority.ENRICH], order)
    b = start_waiters(gate, ["method:chat.postMessage", "channel:C2"], [Priority.ROOT], order)
    release_one_by_one(gate, clock, order, 2)
    for t in a + b:
        t.join(5)
    assert order == ["ROOT-0", "ENRICH-0"]


def test_a_429_stops_the_key_for_its_retry_after() -> None:
    clock = Clock()
    gate = RateGate(shape=lambda _k: (1000.0, 1000.0), clock=clock)
    gate.hold_off(["channel:C1"], 30)
    order: list[str] = []
    threads = start_waiters(gate, ["channel:C1"], [Priority.ROOT], order)
    clock.now += 29
    time.sleep(0.1)
    assert order == []                               # still inside Retry-After
    gate.acquire(["channel:C2"], Priority.EDIT)      # another channel is not held
    clock.now += 1.5
    wait_until(lambda: order == ["ROOT-0"])
    threads[0].join(5)


def test_keys_and_budgets_follow_slacks_limits() -> None:
    assert keys_for("chat.postMessage", "C1") == ["method:chat.postMessage", "channel:C1"]
    assert keys_for("chat.update", "C1") == ["method:chat.update"]
    assert bucket_shape("channel:C1")[0] == 1.0                     # one post per second per channel
    assert round(bucket_shape("method:chat.update")[0] * 60) == 50  # Tier 3
    assert round(bucket_shape("method:chat.postEphemeral")[0] * 60) == 100  # Tier 4


def test_retry_after_reads_every_shape_slack_sends() -> None:
    assert retry_after({"Retry-After": "7"}) == 7.0
    assert retry_after({"retry-after": ["3"]}) == 3.0
    assert retry_after({}) == 1.0
    assert retry_after({"Retry-After": "soon"}) == 1.0


def test_bulk_traffic_leaves_a_reserve_that_a_root_takes_at_once() -> None:
    clock = Clock()
    gate = RateGate(shape=lambda _key: (1.0, 10.0), clock=clock)   # the channel's shape: 1/s, bursts of 10
    for _ in range(8):                                          # 10 tokens, 2 kept back: 8 enrichment posts
        gate.acquire(["channel:C1"], Priority.ENRICH)
    done: list[str] = []
    threads = start_waiters(gate, ["channel:C1"], [Priority.ENRICH], done)   # the 9th waits for the refill
    gate.acquire(["channel:C1"], Priority.ROOT)                 # a new incident's root: from the reserve, now
    gate.acquire(["channel:C1"], Priority.STORM)
    assert gate.waiting() == 1 and done == []
    clock.now += 3.01                                           # refilled to the reserve and one more
    wait_until(lambda: len(done) == 1)
    for t in threads:
        t.join(timeout=5)
