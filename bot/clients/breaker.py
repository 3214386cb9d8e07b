"""A bulkhead and a circuit breaker per backend address, shared by every client of the process.

A hung backend (it accepts connections and never answers) holds each call for its whole timeout. Without
a bound, every thread that serves people ends up waiting on it: on the issue's measurement, with Kafka
Connect hung, 237 of 333 commands got no answer within 45 s and a Deny click none at all. So:
- at most MAX_CALLS calls wait on one backend at once; one more fails at once, saying so;
- right after a timeout, nobody asks that backend for COOL_SECONDS: a command that asks it twice in a row
  (discovery, then the step or the postmortem's live checks) would otherwise wait two timeouts, past its
  budget (issue #16: answered within the backend timeout + 2 s), for an answer it just failed to get;
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
COOL_SECONDS = 5.0
TIMEOUTS: tuple[type[BaseException], ...] = (httpx.TimeoutException, TimeoutError, socket.timeout)


class Breaker:
    def __init__(self, backend: str, where: str, max_calls: int = MAX_CALLS, trip_after: int = TRIP_AFTER,
                 open_s: float = OPEN_SECONDS, cool_s: float = COOL_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.backend, self.where = backend, where
        self._slots = threading.BoundedSemaphore(max_calls)
        self._max_calls, self._trip_after, self._open_s, self._clock = max_calls, trip_after, open_s, clock
        self._cool_s = cool_s
        self._lock = threading.Lock()
        self._timeouts = 0
        self._open_until = 0.0
        self._cool_until = 0.0

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
        """Not asked now: tripped, or cooling down after a timeout."""
        with self._lock:
            return self._clock() < max(self._open_until, self._cool_until)

    def _refuse_if_open(self) -> None:
        with self._lock:
            now = self._clock()
            tripped, cooling = self._open_until - now, self._cool_until - now
            count = self._timeouts
        if tripped > 0:
            raise BackendError(self.backend, self.where,
                               f"not asked: it timed out {count} times in a row; next try in {tripped:.0f} s")
        if cooling > 0:
            raise BackendError(self.backend, self.where,
                               f"not asked: it timed out a moment ago; next try in {max(cooling, 1):.0f} s")

    def _record(self, timed_out: bool) -> None:
        with self._lock:
            now = self._clock()
            self._timeouts = self._timeouts + 1 if timed_out else 0
            self._cool_until = now + self._cool_s if timed_out else 0.0
            if self._timeouts >= self._trip_after:
                self._open_until = now + self._open_s


_BREAKERS: dict[tuple[str, str], Breaker] = {}
_REGISTRY_LOCK = threading.Lock()


def breaker_for(backend: str, where: str) -> Breaker:
    """The process's breaker for one backend at one address."""
    with _REGISTRY_LOCK:
        if (backend, where) not in _BREAKERS:
            _BREAKERS[(backend, where)] = Breaker(backend, where)
        return _BREAKERS[(backend, where)]
