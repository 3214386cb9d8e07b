"""The per-backend bulkhead and circuit breaker: a hung backend holds a bounded number of threads, and
after a few timeouts nobody waits on it at all (counts and states on a clock the test moves)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import httpx
import pytest

from bot.clients.breaker import Breaker, breaker_for
from bot.clients.connect import ConnectClient
from bot.errors import BackendError


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def time_out(breaker: Breaker) -> None:
    with pytest.raises(httpx.ReadTimeout), breaker.call():
        raise httpx.ReadTimeout("hung")


def test_timeouts_in_a_row_open_it_then_one_try_after_the_pause() -> None:
    clock = Clock()
    breaker = Breaker("Kafka Connect", "http://connect:8083", trip_after=3, open_s=30, cool_s=0, clock=clock)
    for _ in range(3):
        time_out(breaker)
    with pytest.raises(BackendError, match="timed out 3 times in a row; next try in 30 s"), breaker.call():
        raise AssertionError("must not be called")
    clock.now += 30
    time_out(breaker)                             # the try after the pause times out: open again at once
    assert breaker.is_open()
    clock.now += 30
    with breaker.call():                          # it answers: closed
        pass
    assert not breaker.is_open()


def test_an_answer_resets_the_count_and_errors_that_are_answers_do_not_count() -> None:
    breaker = Breaker("Flink", "http://flink:8081", trip_after=2, cool_s=0, clock=Clock())
    time_out(breaker)
    with breaker.call():
        pass
    time_out(breaker)
    with pytest.raises(httpx.ConnectError), breaker.call():
        raise httpx.ConnectError("refused")       # fast: not a reason to stop asking
    assert not breaker.is_open()


def test_right_after_a_timeout_it_is_not_asked_again_until_it_cools_down() -> None:
    """A command that asks a backend twice in a row (discovery, then its step) waits one timeout, not two."""
    clock = Clock()
    breaker = Breaker("MySQL", "db:3306", trip_after=3, open_s=30, cool_s=5, clock=clock)
    time_out(breaker)
    with pytest.raises(BackendError, match="timed out a moment ago; next try in 5 s"), breaker.call():
        raise AssertionError("must not be called")
    assert breaker.is_open()
    clock.now += 5
    with breaker.call():                          # cooled down, and it answers: asked again from now on
        pass
    assert not breaker.is_open()
    with breaker.call():
        pass


def test_at_most_max_calls_wait_on_one_backend() -> None:
    breaker = Breaker("MySQL", "db:3306", max_calls=2, clock=Clock())
    release = threading.Event()
    entered = threading.Barrier(3)

    def hold() -> None:
        with breaker.call():
            entered.wait(5)
            release.wait(5)

    holding = [threading.Thread(target=hold) for _ in range(2)]
    for t in holding:
        t.start()
    entered.wait(5)
    with pytest.raises(BackendError, match="2 calls are already waiting"), breaker.call():
        raise AssertionError("must not be called")
    release.set()
    for t in holding:
        t.join(5)
    with breaker.call():
        pass


@pytest.fixture
def hung_server() -> Iterator[str]:
    server = socket.create_server(("127.0.0.1", 0))
    server.listen(64)                             # accepts (the kernel's backlog) and never answers
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    server.close()


def test_a_hung_connect_is_waited_on_once_then_not_asked(hung_server: str) -> None:
    client = ConnectClient(hung_server, timeout=0.2)
    reasons = []
    for _ in range(5):
        with pytest.raises(BackendError) as err:
            client.status("mysql-oltp-orders")
        reasons.append(err.value.reason)
    assert reasons[0] == "timed out after 0.2 s"
    assert all(r.startswith("not asked: it timed out a moment ago") for r in reasons[1:])
    assert breaker_for("Kafka Connect", client.where).is_open()
