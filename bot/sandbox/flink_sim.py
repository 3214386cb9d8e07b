"""A stateful, scriptable Flink JobManager REST API (protocols.md section 4) for the demo and the tests.

Time moves lazily: a job restarting since `fail_and_restart` turns RUNNING again on the first request
(or `advance()`) after `restart_delay` seconds, which keeps the simulator free of timer threads and lets
tests drive it with a fake clock. While `health_check(job_name)` returns an error text the restart
fails again instead: numRestarts climbs and a new exception is recorded, as in a real restart loop.
A job added with `restart_attempts` ends FAILED once they run out ("Recovery is suppressed ...").

Job metrics over REST come from a cache, as in Flink (`metrics.fetcher.update-interval`, 10 s there): with
`metrics_update_interval` > 0 a request finding the cache older than that triggers a refresh but is
answered from the old values; a new job has no metrics (`[]`) until a refresh, and a job that ended keeps
its last values. The default 0 serves current values. /jobs/<unknown>/metrics answers 200 [] as Flink does.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, abort, request

from bot.sandbox import flink_jobs as flink_shapes
from bot.sandbox.faults import FaultPlan
from bot.sandbox.flink_control import JobControl, register_control
from bot.sandbox.flink_jobs import JOB_STATES, TERMINAL_STATES, MetricCache, SimCheckpoint, SimJob
from bot.sandbox.flink_routes import check_job_id, error_response, register, stack_trace
from bot.sandbox.server import BackgroundServer, SandboxService

_VERSIONS = {"1.x": "1.18.1", "2.x": "2.3.0"}
# The build a cluster names in /overview (`flink-commit`) and /config (`flink-revision`). 2.x: what the real
# Flink 2.3.0 answered (reference/real-stack/captures); 1.x: the simulator's own, not from a capture.
_BUILDS = {"1.x": ("a8c8b1c", "2023-12-19T21:53:42+01:00"), "2.x": ("c0f8d1a", "2026-06-14T16:29:03+02:00")}
_GRAPH_HANDLER = ("org.apache.flink.runtime.rest.handler.job.AbstractExecutionGraphHandler.lambda$handleRequest$1"
                  "(AbstractExecutionGraphHandler.java:99)")
_NOT_FOUND_EXCEPTION = "org.apache.flink.runtime.rest.NotFoundException"
FLINK_METRICS_UPDATE_INTERVAL = 10.0   # Flink's default metrics.fetcher.update-interval, in seconds


class FlinkSimulator(SandboxService):
    """Flink REST on 127.0.0.1:`port`. `api_version` "1.x" keeps the deprecated exception fields."""

    def __init__(self, port: int = 0, api_version: str = "1.x", restart_delay: float = 1.0,
                 clock: Callable[[], float] = time.time, metrics_update_interval: float = 0.0) -> None:
        if api_version not in _VERSIONS:
            raise ValueError(f"api_version must be one of {sorted(_VERSIONS)}")
        self.api_version = api_version
        self.flink_version = _VERSIONS[api_version]
        self.flink_commit, self.build_date = _BUILDS[api_version]
        self.restart_delay = restart_delay
        self.clock = clock
        # Wired by the demo to the Connect simulator: an error text keeps the job failing.
        self.health_check: Callable[[str], str | None] | None = None
        self.requests: list[tuple[str, str]] = []          # (method, path) as received
        self._jobs: dict[str, SimJob] = {}
        self._metrics = MetricCache(metrics_update_interval)
        self._faults = FaultPlan()
        self._lock = threading.RLock()
        self.control = JobControl(self)    # jars, runs, stop-with-savepoint, cancel
        self.app = _build_app(self)
        self._server = BackgroundServer(self.app, port=port)

    # -- lifecycle ---------------------------------------------------------------------------------
    # -- scripting ---------------------------------------------------------------------------------
    def add_job(self, name: str, state: str = "RUNNING", restart_attempts: int | None = None) -> str:
        """A new job (32-hex id); a second job of the same name is newer, as after a resubmission.
        With `restart_attempts` its failures stop restarting it after that many restarts."""
        _check_state(state)
        now = self._now_ms()
        with self._lock:
            # Later jobs get a strictly later start so "newest of that name" is well defined.
            start = max([now, *(j.start_time + 1 for j in self._jobs.values())])
            job = SimJob(jid=uuid.uuid4().hex, name=name, state=state, start_time=start,
                         restart_attempts=restart_attempts, restart_delay_ms=int(self.restart_delay * 1000))
            job.timestamps["INITIALIZING"] = job.timestamps["CREATED"] = start
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
                         task_name: str | None = None) -> None:
        """A task failure: numRestarts + 1, an exception in the history, RESTARTING until restart_delay.
        A restart loop never enters FAILING; a job out of restart attempts goes FAILING -> FAILED instead.
        Without a task name, the previous failure's task fails again (Flink's `... - execution #N` counts
        on), or the job's source chain the first time."""
        with self._lock:
            job = self.job(jid_or_name)
            if task_name is None and job.exceptions:
                task_name = job.next_task_name(job.exceptions[0].get("taskName"))
            self._fail(job, exception_name, stacktrace, task_name, self.clock())

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
            self._metrics.clear()
            self._faults.clear()
            self.health_check = None
            self.requests.clear()
            self.control.clear()

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

    def _fail(self, job: SimJob, exception_name: str, stacktrace: str, task_name: str | None,
              now: float) -> None:
        now_ms = int(now * 1000)
        if job.record_failure(exception_name, stacktrace, task_name, now_ms):
            job.move_to("RESTARTING", now_ms)
            job.restart_due = now + self.restart_delay
            return
        job.move_to("FAILING", now_ms)
        job.move_to("FAILED", now_ms)
        job.restart_due = None

    def _finish_restart(self, job: SimJob, now: float) -> None:
        error = self.health_check(job.name) if self.health_check else None
        now_ms = int(now * 1000)
        job.restore(now_ms)
        if error is None:
            job.move_to("RUNNING", now_ms)
            job.restart_due = None
            return
        last = job.exceptions[0] if job.exceptions else {}
        name = last.get("exceptionName", "org.apache.flink.util.FlinkRuntimeException")
        self._fail(job, name, f"{name}: {error}", job.next_task_name(last.get("taskName")), now)

    def _metric_values(self, jid: str) -> dict[str, str] | None:
        """What /jobs/<jid>/metrics knows of the job (through the cache); None: nothing (`[]`)."""
        with self._lock:
            now_ms = self._now_ms()
            legacy = self.api_version == "1.x"
            live = {j.jid: flink_shapes.metric_values(j, now_ms, legacy) for j in self._jobs.values()
                    if j.state not in TERMINAL_STATES}
            if self._metrics.interval <= 0:
                job = self._jobs.get(jid)
                return None if job is None else flink_shapes.metric_values(job, now_ms, legacy)
            return self._metrics.read(jid, self.clock(), live)

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

    def _job_for_request(self, jid: str, handler_frame: str = _GRAPH_HANDLER) -> SimJob:
        """The job, else Flink's 404: the id in lower case (Flink parses it), the handler's stack trace."""
        check_job_id(jid)
        with self._lock:
            job = self._jobs.get(jid.lower())
        if job is None:
            abort(error_response(404, f"{_NOT_FOUND_EXCEPTION}: Job {jid.lower()} not found"
                                 + stack_trace(handler_frame)))
        return job


def _check_state(state: str) -> None:
    if state not in JOB_STATES:
        raise ValueError(f"unknown Flink job state {state!r}")


def _build_app(sim: FlinkSimulator) -> Flask:
    app = Flask("flink_sim")
    app.wsgi_app = _StripV1(app.wsgi_app)  # type: ignore[method-assign]
    app.before_request(sim._before_request)
    register(app, sim)
    register_control(app, sim.control)
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
