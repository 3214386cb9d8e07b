"""Scripted failures for the sandbox simulators: canned answers for the next N requests, and latency."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from typing import Any

from flask import Response


@dataclass
class Fault:
    status: int
    body: str | bytes
    content_type: str
    times: int
    path: str | None          # only requests to this path (version prefix removed); None = any


class FaultPlan:
    """Thread-safe queue of faults; the oldest matching fault answers first."""

    def __init__(self) -> None:
        self.latency = 0.0
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def add(self, status: int, body: Any, content_type: str, times: int, path: str | None) -> None:
        """A str/bytes body is sent as is; anything else as JSON."""
        raw = body if isinstance(body, str | bytes) else json.dumps(body)
        with self._lock:
            self._faults.append(Fault(status, raw, content_type, times, path))

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()
        self.latency = 0.0

    def respond(self, path: str) -> Response | None:
        """Sleep the configured latency, then the canned answer for this request, if any."""
        if self.latency:
            time.sleep(self.latency)
        with self._lock:
            fault = next((f for f in self._faults if f.path in (None, path)), None)
            if fault is None:
                return None
            fault.times -= 1
            if fault.times <= 0:
                self._faults.remove(fault)
        return Response(fault.body, status=fault.status, content_type=fault.content_type)
