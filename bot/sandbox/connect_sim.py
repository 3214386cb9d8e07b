"""Kafka Connect REST simulator: stateful, scriptable, with fault injection (reference §2).

The demo and the tests both run against it over real HTTP. Connector state lives in
`connect_state`, routes in `connect_routes`; this module adds scripting, faults and latency.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException, NotFound

from bot.sandbox.connect_routes import error_response, register_routes, unknown_path_response
from bot.sandbox.connect_state import ConnectState, HealthCheck, RestError
from bot.sandbox.server import BackgroundServer, SandboxService

DEFAULT_FAILED_METRIC = "kafka_connect_worker_connector_failed_task_count"

# Bodies Connect really sends for these codes (reference §2.3), used when `inject` gets no body.
_DEFAULT_MESSAGES = {
    409: "Cannot complete request because of a conflicting operation (e.g. worker rebalance)",
    500: "Request timed out",
}


@dataclass
class _Fault:
    status: int
    body: str | None
    content_type: str
    times: int
    path_contains: str


class ConnectSimulator(SandboxService):
    """A fake Kafka Connect worker on 127.0.0.1. Use as a context manager or start()/stop()."""

    def __init__(self, port: int = 0, restart_delay: float = 0.3,
                 failed_task_metric: str = DEFAULT_FAILED_METRIC) -> None:
        self.state = ConnectState(restart_delay)
        self.failed_task_metric = failed_task_metric
        self.calls: list[tuple[str, str, str]] = []  # (method, path, query string)
        self._faults: list[_Fault] = []
        self._latency = 0.0
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server = BackgroundServer(self._build_app(), port=port)

    # -- server lifecycle ----------------------------------------------------------------------
    def stop(self) -> None:
        self._stopping.set()  # wakes requests sleeping in injected latency
        self.state.cancel_timers()
        super().stop()

    # -- scripting -----------------------------------------------------------------------------
    @property
    def health_check(self) -> HealthCheck | None:
        return self.state.health_check

    @health_check.setter
    def health_check(self, check: HealthCheck | None) -> None:
        self.state.health_check = check

    def add_connector(self, name: str, config: dict[str, str], tasks: int = 1, type: str = "source",
                      worker_id: str = "connect:8083") -> None:
        self.state.add(name, config, tasks=tasks, type=type, worker_id=worker_id)

    def fail_task(self, name: str, task_id: int, trace: str) -> None:
        self.state.set_task(name, task_id, "FAILED", trace)

    def fail_connector(self, name: str, trace: str) -> None:
        self.state.fail_connector(name, trace)

    def set_task_state(self, name: str, task_id: int, state: str) -> None:
        self.state.set_task(name, task_id, state)

    def pause(self, name: str) -> None:
        self.state.pause(name)

    def resume(self, name: str) -> None:
        self.state.resume(name)

    def status(self, name: str) -> dict[str, Any]:
        """The connector's ConnectorStateInfo, as GET /connectors/{name}/status returns it."""
        return self.state.status(name)

    def inject(self, status: int, body: str | None = None, content_type: str = "application/json",
               times: int = 1, path_contains: str = "") -> None:
        """The next `times` requests whose path contains `path_contains` get this response instead."""
        with self._lock:
            self._faults.append(_Fault(status, body, content_type, times, path_contains))

    def set_latency(self, seconds: float) -> None:
        self._latency = seconds

    def reset(self, restart_delay: float | None = None) -> None:
        """Back to an empty worker: no connectors, faults, latency, calls or health check."""
        self.state.clear()
        if restart_delay is not None:
            self.state.restart_delay = restart_delay
        with self._lock:
            self._faults.clear()
            self.calls.clear()
        self._latency = 0.0

    # -- HTTP ----------------------------------------------------------------------------------
    def _before_request(self) -> Response | None:
        with self._lock:
            self.calls.append((request.method, request.path, request.query_string.decode("latin-1")))
        if self._latency > 0:
            self._stopping.wait(self._latency)
        fault = self._take_fault(request.path)
        return None if fault is None else self._fault_response(fault)

    def _take_fault(self, path: str) -> _Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.path_contains in path:
                    fault.times -= 1
                    if fault.times <= 0:
                        self._faults.remove(fault)
                    return fault
        return None

    @staticmethod
    def _fault_response(fault: _Fault) -> Response:
        if fault.body is not None:
            return Response(fault.body, status=fault.status, content_type=fault.content_type)
        if fault.status < 400:
            return Response(status=fault.status)
        message = _DEFAULT_MESSAGES.get(fault.status, HTTPStatus(fault.status).phrase)
        return error_response(fault.status, message)

    def _build_app(self) -> Flask:
        app = Flask("connect-sim")
        app.json.sort_keys = False  # type: ignore[attr-defined]  # keep Connect's field order
        app.before_request(self._before_request)
        app.register_error_handler(RestError, lambda e: error_response(e.code, e.message))
        app.register_error_handler(HTTPException, self._http_error)
        register_routes(app, self.state, self.failed_task_metric)
        return app

    @staticmethod
    def _http_error(exc: HTTPException) -> Response:
        if isinstance(exc, NotFound):
            return unknown_path_response()
        code = exc.code or 500
        return error_response(code, f"HTTP {code} {HTTPStatus(code).phrase}")
