"""A bulkhead and a circuit breaker per backend address, shared by every client of the process.

A hung backend (it accepts connections and never answers) holds each call for its whole timeout. Without
a bound, every thread that serves people ends up waiting on it: on the issue's measurement, with Kafka
Connect hung, 237 of 333 commands got no answer within 45 s and a Deny click none at all. So:
- at most MAX_CALLS calls wait on one backend at once; one more fails at once, saying so;
- after TRIP_AFTER timeouts in a row, nobody asks that backend for OPEN_SECONDS; then one call may try
  again (a timeout re-opens it at once, an answer closes it).
Only timeouts count: a refused connection or an HTTP error is an answer, and fast.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import httpx

from bot.errors import BackendError

MAX_CALLS = 4
TRIP_AFTER = 3
OPEN_SECONDS = 30.0
TIMEOUTS: tuple[type[BaseException], ...] = (httpx.TimeoutException, TimeoutError, socket.timeout)


class Breaker:
    def __init__(self, backend: str, where: str, max_calls: int = MAX_CALLS, trip_after: int = TRIP_AFTER,
                 open_s: float = OPEN_SECONDS, clock: Callable[[], float] = time.monotonic) -> None:
        self.backend, self.where = backend, where
        self._slots = threading.BoundedSemaphore(max_calls)
        self._max_calls, self._trip_after, self._open_s, self._clock = max_calls, trip_after, open_s, clock
        self._lock = threading.Lock()
        self._timeouts = 0
        self._open_until = 0.0

    @contextmanager
    def call(self, is_timeout: Callable[[BaseException], bool] | None = None) -> Iterator[None]:
        """Around one call to the backend; raises BackendError at once when the backend is not to be asked."""
        self._refuse_if_open()
        if not self._slots.acquire(blocking=False):
            raise BackendError(self.backend, self.where,
                               f"not asked: {self._max_calls} calls are already waiting for it to answer")
        try:
            yield
        except BaseException as exc:
            if isinstance(exc, TIMEOUTS) or (is_timeout is not None and is_timeout(exc)):
                self._record(timed_out=True)
            raise
        else:
            self._record(timed_out=False)
        finally:
            self._slots.release()

    def is_open(self) -> bool:
        with self._lock:
            return self._clock() < self._open_until

    def _refuse_if_open(self) -> None:
        with self._lock:
            remaining = self._open_until - self._clock()
            count = self._timeouts
        if remaining > 0:
            raise BackendError(self.backend, self.where,
                               f"not asked: it timed out {count} times in a row; next try in {remaining:.0f} s")

    def _record(self, timed_out: bool) -> None:
        with self._lock:
            self._timeouts = self._timeouts + 1 if timed_out else 0
            if self._timeouts >= self._trip_after:
                self._open_until = self._clock() + self._open_s


_BREAKERS: dict[tuple[str, str], Breaker] = {}
_REGISTRY_LOCK = threading.Lock()


def breaker_for(backend: str, where: str) -> Breaker:
    """The process's breaker for one backend at one address."""
    with _REGISTRY_LOCK:
        if (backend, where) not in _BREAKERS:
            _BREAKERS[(backend, where)] = Breaker(backend, where)
        return _BREAKERS[(backend, where)]
