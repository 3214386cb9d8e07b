"""What the emulator records (every call) and what it breaks on purpose (errors, rate limits, latency)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class RecordedCall:
    """One request the emulator received. `at` is time.monotonic() on arrival.

    `limited`: the rate limiter (when on) answered it 429, so Slack did nothing with it.
    `target`: which response_url (its id) or upload (its file id) it was sent to; "" for Web API calls.
    """

    method: str
    args: dict[str, Any]
    headers: dict[str, str]
    at: float = field(default_factory=time.monotonic)
    limited: bool = False
    target: str = ""


@dataclass
class Fault:
    """An injected answer: HTTP `status`, body {"ok": false, "error": error}; 429 adds Retry-After."""

    status: int
    error: str
    retry_after: int | None
    times: int


class CallLog:
    def __init__(self) -> None:
        self._calls: list[RecordedCall] = []
        self._lock = threading.Lock()

    def record(self, call: RecordedCall) -> None:
        with self._lock:
            self._calls.append(call)

    def clear(self) -> None:
        with self._lock:
            self._calls.clear()

    def calls(self, method: str | None = None) -> list[RecordedCall]:
        with self._lock:
            return [c for c in self._calls if method is None or c.method == method]


class Faults:
    """Per-method fault queue and latency. `method=None` latency applies to every Web API method."""

    def __init__(self) -> None:
        self._faults: dict[str, list[Fault]] = {}
        self._latency: dict[str | None, float] = {}
        self._lock = threading.Lock()

    def inject(self, method: str, status: int, retry_after: int | None, error: str, times: int) -> None:
        with self._lock:
            self._faults.setdefault(method, []).append(Fault(status, error, retry_after, times))

    def take(self, method: str) -> Fault | None:
        """The next fault for this method, consuming one of its `times`."""
        with self._lock:
            queue = self._faults.get(method) or []
            if not queue:
                return None
            fault = queue[0]
            fault.times -= 1
            if fault.times <= 0:
                queue.pop(0)
            return fault

    def set_latency(self, seconds: float, method: str | None) -> None:
        with self._lock:
            self._latency[method] = seconds

    def latency(self, method: str) -> float:
        with self._lock:
            return self._latency.get(method, self._latency.get(None, 0.0))

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()
            self._latency.clear()
