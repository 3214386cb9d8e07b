"""HTTP routes of the Flink simulator: REST endpoints plus a Prometheus `/metrics` page."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from flask import Flask, Response, abort, request
from werkzeug.exceptions import HTTPException

from bot.sandbox import flink_jobs as shapes
from bot.sandbox.flink_jobs import TERMINAL_STATES

if TYPE_CHECKING:
    from bot.sandbox.flink_sim import FlinkSimulator

_DEFAULT_MAX_EXCEPTIONS = 20
# The checkpoint statistics handler's frame in its 404 (Flink 2.3.0).
_CHECKPOINT_HANDLER = ("org.apache.flink.runtime.rest.handler.job.checkpoints.AbstractCheckpointStatsHandler"
                       ".lambda$handleRequest$2(AbstractCheckpointStatsHandler.java:102)")


_BAD_REQUEST = "org.apache.flink.runtime.rest.handler.RestHandlerException: Bad request, could not parse parameters"
_JID_CHARS = frozenset("0123456789abcdefABCDEF")
# Flink answers JSON as application/json; charset=UTF-8.
JSON = "application/json; charset=UTF-8"


def error_response(status: int, *messages: str) -> Response:
    """Flink's error body: `{"errors": [...]}` (one entry for a 400 or 404, with the stack trace)."""
    return Response(json.dumps({"errors": list(messages)}), status=status, content_type=JSON)


def stack_trace(*frames: str) -> str:
    """Flink's error bodies carry the Java stack trace after the message."""
    return "".join(f"\n\tat {frame}" for frame in frames) + "\n"


def bad_request(detail: str) -> Response:
    """Flink's 400: one `errors` entry, the handler's exception with its stack trace."""
    return error_response(400, f"{_BAD_REQUEST}: {detail}" + stack_trace(
        "org.apache.flink.runtime.rest.handler.AbstractHandler.respondAsLeader(AbstractHandler.java:188)",
        "org.apache.flink.runtime.rest.handler.LeaderRetrievalHandler.lambda$channelRead0$0"
        "(LeaderRetrievalHandler.java:87)"))


def check_job_id(jid: str) -> None:
    if len(jid) != 32 or not set(jid) <= _JID_CHARS:
        abort(bad_request(f'Cannot resolve path parameter (jobid) from value "{jid}".'))


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, content_type=JSON)


def register(app: Flask, sim: FlinkSimulator) -> None:
    """Every endpoint; `/v1/` is stripped before routing by the simulator's WSGI wrapper."""

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response:
        if exc.code == 404:   # an unknown path: Flink's static file handler answers
            return error_response(404, f"Unable to load requested file {request.environ.get('flink.path', request.path)}.")
        return error_response(exc.code or 500, exc.description or "error")

    @app.get("/overview")
    def overview() -> Response:
        return _json(_cluster_overview(sim))

    @app.get("/config")
    def dashboard_config() -> Response:
        return _json(_dashboard_config(sim))

    @app.get("/jobs")
    def jobs() -> Response:
        return _json({"jobs": [{"id": j.jid, "status": j.state} for j in sim._jobs_snapshot()]})

    @app.get("/jobs/overview")
    def jobs_overview() -> Response:
        now = sim._now_ms()
        return _json({"jobs": [shapes.overview_entry(j, now) for j in sim._jobs_snapshot()]})

    @app.get("/jobs/<jid>")
    def job_details(jid: str) -> Response:
        return _json(shapes.details(sim._job_for_request(jid), sim._now_ms()))

    @app.get("/jobs/<jid>/exceptions")
    def job_exceptions(jid: str) -> Response:
        job = sim._job_for_request(jid)
        raw = request.args.get("maxExceptions", str(_DEFAULT_MAX_EXCEPTIONS))
        if not raw.isdigit():
            abort(bad_request(f'Cannot resolve query parameter (maxExceptions) from value "{raw}".'))
        with sim._lock:
            return _json(shapes.exceptions(job, int(raw), legacy=sim.api_version == "1.x"))

    @app.get("/jobs/<jid>/metrics")
    def job_metrics(jid: str) -> Response:
        check_job_id(jid)
        # An unknown job, or one the metric cache has not fetched yet, answers 200 [] (not 404).
        values = sim._metric_values(jid.lower()) or {}
        wanted = [m for m in request.args.get("get", "").split(",") if m]
        if not wanted:
            return _json([{"id": key} for key in values])
        # Unknown metric ids are omitted, not an error.
        return _json([{"id": key, "value": values[key]} for key in wanted if key in values])

    @app.get("/jobs/<jid>/checkpoints")
    def job_checkpoints(jid: str) -> Response:
        job = sim._job_for_request(jid, _CHECKPOINT_HANDLER)
        with sim._lock:
            return _json(shapes.checkpoints(job))

    @app.get("/metrics")
    def prometheus() -> Response:
        return Response(_prometheus_text(sim), content_type="text/plain; version=0.0.4; charset=utf-8")


def _cluster_overview(sim: FlinkSimulator) -> dict[str, Any]:
    jobs = sim._jobs_snapshot()
    active = [j for j in jobs if j.state not in TERMINAL_STATES]
    return {
        "taskmanagers": 1, "slots-total": 4, "slots-available": 4 - min(4, len(active)),
        "jobs-running": len(active),
        "jobs-finished": sum(j.state == "FINISHED" for j in jobs),
        "jobs-cancelled": sum(j.state == "CANCELED" for j in jobs),
        "jobs-failed": sum(j.state == "FAILED" for j in jobs),
        "flink-version": sim.flink_version,
        "flink-commit": sim.flink_commit,
    }


def _dashboard_config(sim: FlinkSimulator) -> dict[str, Any]:
    """GET /config as Flink 2.3.0 answered it (a cluster in UTC, web submit and cancel on)."""
    return {
        "refresh-interval": 3000, "timezone-name": "Coordinated Universal Time", "timezone-offset": 0,
        "flink-version": sim.flink_version, "flink-revision": f"{sim.flink_commit} @ {sim.build_date}",
        "features": {"web-submit": True, "web-cancel": True, "web-rescale": False, "web-history": False},
    }


def _prometheus_text(sim: FlinkSimulator) -> str:
    """What Flink's PrometheusReporter exposes for the job-level gauges the alerts use."""
    now = sim._now_ms()
    # A finished or cancelled job's metric group is unregistered: its series disappear.
    active = [j for j in sim._jobs_snapshot() if j.state not in TERMINAL_STATES]
    lines = _family("flink_jobmanager_numRunningJobs", [('host="jobmanager"', len(active))])
    for metric, value_of in (("numRestarts", lambda j: j.num_restarts), ("uptime", lambda j: j.uptime(now))):
        samples = [(f'job_id="{j.jid}",job_name="{_escape(j.name)}",host="jobmanager"', value_of(j))
                   for j in active]
        lines += _family(f"flink_jobmanager_job_{metric}", samples)
    return "\n".join(lines) + "\n"


def _family(name: str, samples: list[tuple[str, int]]) -> list[str]:
    head = [f"# HELP {name} {name.rsplit('_', 1)[-1]}", f"# TYPE {name} gauge"]
    return head + [f"{name}{{{labels}}} {float(value)}" for labels, value in samples]


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
