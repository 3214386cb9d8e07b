"""A share of the HTTP server's threads for slow routes, so that they can never take the threads that
Alertmanager's intake and Slack's 3-second acks need.

waitress serves every route from one pool of HTTP_THREADS threads. A route that may wait on Slack or a
backend (the postmortem export reads the thread and the users; under rate limits it waits its turn) runs
only while it holds a slot; without one it answers 503 at once, with Retry-After, instead of queueing.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class Busy(Exception):
    """Every slot of this kind of work is taken: answer 503 and let the caller retry."""


class Capacity:
    def __init__(self, what: str, slots: int) -> None:
        self.what, self.slots = what, slots
        self._sem = threading.BoundedSemaphore(slots)

    @contextmanager
    def slot(self) -> Iterator[None]:
        if not self._sem.acquire(blocking=False):
            raise Busy(f"{self.what}: {self.slots} already running, the most at once; retry in a few seconds")
        try:
            yield
        finally:
            self._sem.release()


def slow_route_slots(http_threads: int) -> int:
    """A quarter of the threads, at least one: the rest stay for intake, acks and /healthz."""
    return max(1, http_threads // 4)
