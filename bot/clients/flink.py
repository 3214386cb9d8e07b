"""Flink JobManager REST client: job state, restarts, last exception and last checkpoint.

Branches on status codes and field names, never on message texts. The parsing is in flink_parse.py.
"""

from __future__ import annotations

import re
from typing import Any, Self
from urllib.parse import urlsplit

import httpx

from bot.clients.breaker import breaker_for
from bot.clients.flink_health import STABLE_SECONDS, judge
from bot.clients.flink_models import ClusterOverview
from bot.clients.flink_parse import (
    CheckpointInfo,
    ExceptionInfo,
    JobHealth,
    JobSummary,
    newest_named,
    parse_job_summary,
    parse_jobs_overview,
    parse_last_checkpoint,
    parse_last_exception,
    parse_num_restarts,
)
from bot.clients.http import json_client
from bot.errors import BackendError, NotFoundError

__all__ = ["CheckpointInfo", "ExceptionInfo", "FlinkClient", "JobHealth", "JobSummary"]

JOB_ID = re.compile(r"^[0-9a-f]{32}$")


class FlinkClient:
    """Synchronous client; every transport or protocol failure is a BackendError("Flink", ...)."""

    def __init__(self, base_url: str, timeout: float = 5.0,
                 transport: httpx.BaseTransport | None = None, stable_seconds: float = STABLE_SECONDS) -> None:
        self.where = safe_where(base_url)
        self._timeout = timeout
        self._stable = stable_seconds
        self._http = json_client(base_url.rstrip("/"), timeout, transport)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def ping(self) -> str:
        """The cluster's Flink version."""
        body = self._get("/overview")
        try:
            return ClusterOverview.model_validate(body).flink_version
        except ValueError:
            raise BackendError("Flink", self.where, "unexpected /overview answer") from None

    def jobs(self) -> list[JobSummary]:
        """Every job the JobManager knows, newest first."""
        try:
            return parse_jobs_overview(self._get("/jobs/overview"))
        except ValueError as exc:
            raise BackendError("Flink", self.where, str(exc)) from None

    def job_health(self, name_or_jid: str) -> JobHealth:
        """The job with this id, or the newest job with this name. NotFoundError if there is none."""
        if JOB_ID.match(name_or_jid):
            # JobDetailsInfo has the same jid/name/state/start-time/duration fields as the overview.
            details = self._get(f"/jobs/{name_or_jid}", not_found=f"no Flink job {name_or_jid}")
            try:
                job = parse_job_summary(details)
            except ValueError as exc:
                raise BackendError("Flink", self.where, str(exc)) from None
            return self._health(job)
        newest = newest_named(self.jobs(), name_or_jid)
        if newest is None:
            raise NotFoundError(f"no Flink job named {name_or_jid!r}")
        return self._health(newest)

    def find_jobs(self, names: list[str]) -> list[JobHealth]:
        """Health of the newest job of each name; names with no job are left out."""
        jobs = self.jobs()
        found = [job for job in (newest_named(jobs, name) for name in names) if job is not None]
        return [self._health(job) for job in found]

    # -- internals ---------------------------------------------------------------------------------
    def _health(self, job: JobSummary) -> JobHealth:
        if not JOB_ID.match(job.jid):
            raise BackendError("Flink", self.where, f"malformed job id {job.jid[:40]!r}")
        base = f"/jobs/{job.jid}"
        details = self._get(base)
        exceptions = self._get(f"{base}/exceptions", params={"maxExceptions": "16"})
        metrics = self._get(f"{base}/metrics", params={"get": "numRestarts,fullRestarts"})
        # Jobs without checkpointing (or older versions) may answer 404 here: no checkpoint info.
        checkpoints = self._get(f"{base}/checkpoints", optional=True)
        verdict = judge(details, exceptions, stable_s=self._stable)
        return JobHealth(job.jid, job.name, verdict.state if verdict.state != "UNKNOWN" else job.state,
                         parse_num_restarts(metrics), parse_last_exception(exceptions),
                         parse_last_checkpoint(checkpoints), verdict)

    def _get(self, path: str, params: dict[str, str] | None = None, not_found: str | None = None,
             optional: bool = False) -> Any:
        """GET and decode JSON. A 404 is NotFoundError(not_found) when given, None when `optional`."""
        return self._request("GET", path, params=params, not_found=not_found, optional=optional)

    def _request(self, method: str, path: str, params: dict[str, str] | None = None, body: Any = None,
                 not_found: str | None = None, optional: bool = False, timeout: float | None = None) -> Any:
        """One call through the Flink breaker; transport failures are BackendError, 4xx/5xx too (decode)."""
        try:
            with breaker_for("Flink", self.where).call():
                resp = self._http.request(method, path, params=params, json=body,
                                          timeout=timeout if timeout is not None else self._timeout)
        except httpx.TimeoutException:
            took = timeout if timeout is not None else self._timeout
            raise BackendError("Flink", self.where, f"timed out after {took} s") from None
        except httpx.HTTPError as exc:
            raise BackendError("Flink", self.where, transport_reason(exc)) from None
        if resp.status_code == 404 and optional:
            return None
        if resp.status_code == 404 and not_found:
            raise NotFoundError(not_found)
        return decode(resp, self.where)


def safe_where(url: str) -> str:
    """scheme://host:port of a URL, without user, password, path or query."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    return f"{parts.scheme}://{host}:{parts.port}" if parts.port else f"{parts.scheme}://{host}"


def transport_reason(exc: httpx.HTTPError) -> str:
    if isinstance(exc, httpx.ConnectError):
        # Branch on the OS error type that httpx chains, not on its text.
        return "connection refused" if _caused_by(exc, ConnectionRefusedError) else "connection failed"
    return f"request failed ({type(exc).__name__})"


def decode(resp: httpx.Response, where: str) -> Any:
    """The JSON body of a 2xx answer; BackendError naming the status and the first `errors[]` entry."""
    ctype = resp.headers.get("content-type", "").split(";")[0].strip() or "no content type"
    try:
        body = resp.json()
    except ValueError:
        raise BackendError("Flink", where, f"HTTP {resp.status_code}: not JSON ({ctype})") from None
    if resp.is_success:
        return body
    errors = body.get("errors") if isinstance(body, dict) else None
    first = str(errors[0]).splitlines()[0][:300] if isinstance(errors, list) and errors else ""
    reason = f"HTTP {resp.status_code}"
    raise BackendError("Flink", where, f"{reason}: {first}" if first else reason)


def _caused_by(exc: BaseException, kind: type[BaseException]) -> bool:
    seen: BaseException | None = exc
    for _ in range(10):   # bounded walk down __cause__/__context__
        if seen is None:
            return False
        if isinstance(seen, kind):
            return True
        seen = seen.__cause__ or seen.__context__
    return False
