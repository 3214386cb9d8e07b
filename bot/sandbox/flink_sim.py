"""A stateful, scriptable Flink JobManager REST API (protocols.md section 4) for the demo and the tests.

Time moves lazily: a job restarting since `fail_and_restart` turns RUNNING again on the first request
(or `advance()`) after `restart_delay` seconds, which keeps the simulator free of timer threads and lets
tests drive it with a fake clock. While `health_check(job_name)` returns an error text the restart
fails again instead: numRestarts climbs and a new exception is recorded, as in a real restart loop.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, abort, request

from bot.sandbox.faults import FaultPlan
from bot.sandbox.flink_jobs import JOB_STATES, SimCheckpoint, SimJob
from bot.sandbox.flink_routes import error_response, register
from bot.sandbox.server import BackgroundServer, SandboxService

_VERSIONS = {"1.x": "1.18.1", "2.x": "2.1.0"}
_JID_CHARS = frozenset("0123456789abcdefABCDEF")
_NOT_FOUND_EXCEPTION = "org.apache.flink.runtime.rest.NotFoundException"


class FlinkSimulator(SandboxService):
    """Flink REST on 127.0.0.1:`port`. `api_version` "1.x" keeps the deprecated exception fields."""

    def __init__(self, port: int = 0, api_version: str = "1.x", restart_delay: float = 1.0,
                 clock: Callable[[], float] = time.time) -> None:
        if api_version not in _VERSIONS:
            raise ValueError(f"api_version must be one of {sorted(_VERSIONS)}")
        self.api_version = api_version
        self.flink_version = _VERSIONS[api_version]
        self.restart_delay = restart_delay
        self.clock = clock
        # Wired by the demo to the Connect simulator: an error text keeps the job failing.
        self.health_check: Callable[[str], str | None] | None = None
        self.requests: list[tuple[str, str]] = []          # (method, path) as received
        self._jobs: dict[str, SimJob] = {}
        self._faults = FaultPlan()
        self._lock = threading.RLock()
        self.app = _build_app(self)
        self._server = BackgroundServer(self.app, port=port)

    # -- lifecycle ---------------------------------------------------------------------------------
    # -- scripting ---------------------------------------------------------------------------------
    def add_job(self, name: str, state: str = "RUNNING") -> str:
        """A new job (32-hex id); a second job of the same name is newer, as after a resubmission."""
        _check_state(state)
        now = self._now_ms()
        with self._lock:
            # Later jobs get a strictly later start so "newest of that name" is well defined.
            start = max([now, *(j.start_time + 1 for j in self._jobs.values())])
            job = SimJob(jid=uuid.uuid4().hex, name=name, state=state, start_time=start)
            job.timestamps["CREATED"] = start
            job.move_to(state, start)
            self._jobs[job.jid] = job
        return job.jid

    def job(self, jid_or_name: str) -> SimJob:
        """The job with this id, else the newest job with this name. KeyError if none."""
        with self._lock:
            if jid_or_name in self._jobs:
                return self._jobs[jid_or_name]
            named = [j for j in self._jobs.values() if j.name == jid_or_name]
            if not named:
                raise KeyError(jid_or_name)
            return max(named, key=lambda j: j.start_time)

    def fail_and_restart(self, jid_or_name: str, exception_name: str, stacktrace: str,
                         task_name: str = "Source: cdc-orders (1/1)") -> None:
        """A task failure: numRestarts + 1, an exception in the history, RESTARTING until restart_delay."""
        now = self._now_ms()
        with self._lock:
            job = self.job(jid_or_name)
            job.record_failure(exception_name, stacktrace, task_name, now)
            job.move_to("FAILING", now)
            job.move_to("RESTARTING", now)
            job.restart_due = self.clock() + self.restart_delay

    def set_state(self, jid: str, state: str) -> None:
        _check_state(state)
        with self._lock:
            job = self.job(jid)
            job.move_to(state, self._now_ms())
            job.restart_due = None

    def complete_checkpoint(self, jid: str, state_size: int = 65_536, duration_ms: int = 120) -> int:
        return self._add_checkpoint(jid, "COMPLETED", state_size, duration_ms, None)

    def fail_checkpoint(self, jid: str, message: str = "Checkpoint expired before completing.") -> int:
        return self._add_checkpoint(jid, "FAILED", 0, 0, message)

    def advance(self) -> None:
        """Apply restarts that are due now (every request does this first)."""
        with self._lock:
            now = self.clock()
            for job in self._jobs.values():
                if job.restart_due is not None and now >= job.restart_due:
                    self._finish_restart(job, now)

    def reset(self) -> None:
        """Forget jobs, faults, latency, the health check and recorded requests (one server, many tests)."""
        with self._lock:
            self._jobs.clear()
            self._faults.clear()
            self.health_check = None
            self.requests.clear()

    # -- fault injection ---------------------------------------------------------------------------
    def inject(self, status: int, body: Any = None, content_type: str = "application/json",
               times: int = 1, path: str | None = None) -> None:
        """The next `times` requests (to `path` only, if given; without `/v1`) get this answer.

        A str/bytes body is sent as is, anything else as JSON; None gives a Flink-style error body.
        """
        if body is None:
            body = {"errors": [f"Injected failure (HTTP {status})"]}
        self._faults.add(status, body, content_type, times, path)

    def set_latency(self, seconds: float) -> None:
        self._faults.latency = seconds

    # -- internals used by the HTTP layer ----------------------------------------------------------
    def _now_ms(self) -> int:
        return int(self.clock() * 1000)

    def _before_request(self) -> Response | None:
        self.requests.append((request.method, request.environ.get("flink.path", request.path)))
        answer = self._faults.respond(request.path)
        if answer is None:
            self.advance()
        return answer

    def _finish_restart(self, job: SimJob, now: float) -> None:
        error = self.health_check(job.name) if self.health_check else None
        now_ms = int(now * 1000)
        if error is None:
            job.move_to("RUNNING", now_ms)
            job.restart_due = None
            return
        last = job.exceptions[0] if job.exceptions else {}
        name = last.get("exceptionName", "org.apache.flink.util.FlinkRuntimeException")
        job.record_failure(name, f"{name}: {error}", last.get("taskName", "Source (1/1)"), now_ms)
        job.move_to("RESTARTING", now_ms)
        job.restart_due = now + self.restart_delay

    def _add_checkpoint(self, jid: str, status: str, size: int, duration: int, message: str | None) -> int:
        now = self._now_ms()
        with self._lock:
            job = self.job(jid)
            cid = (job.checkpoints[0].id + 1) if job.checkpoints else 1
            job.checkpoints.insert(0, SimCheckpoint(cid, status, now - duration, now, size, message))
        return cid

    def _jobs_snapshot(self) -> list[SimJob]:
        with self._lock:
            return sorted(self._jobs.values(), key=lambda j: j.start_time, reverse=True)

    def _job_for_request(self, jid: str) -> SimJob:
        if len(jid) != 32 or not set(jid) <= _JID_CHARS:
            abort(error_response(400, "Bad request received.",
                                 f'Cannot resolve path parameter (jobid) from value "{jid}".'))
        with self._lock:
            job = self._jobs.get(jid.lower())
        if job is None:
            abort(error_response(404, f"{_NOT_FOUND_EXCEPTION}: Job {jid} not found"))
        return job


def _check_state(state: str) -> None:
    if state not in JOB_STATES:
        raise ValueError(f"unknown Flink job state {state!r}")


def _build_app(sim: FlinkSimulator) -> Flask:
    app = Flask("flink_sim")
    app.wsgi_app = _StripV1(app.wsgi_app)  # type: ignore[method-assign]
    app.before_request(sim._before_request)
    register(app, sim)
    return app


class _StripV1:
    """`/v1/...` and `/...` are the same API (unversioned = oldest version, which is v1)."""

    def __init__(self, inner: Callable[..., Any]) -> None:
        self.inner = inner

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        path = environ.get("PATH_INFO", "")
        environ["flink.path"] = path
        if path == "/v1" or path.startswith("/v1/"):
            environ["PATH_INFO"] = path[3:] or "/"
        return self.inner(environ, start_response)
