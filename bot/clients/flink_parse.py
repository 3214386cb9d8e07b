"""Typed results of the Flink client and the pure functions that build them from REST JSON.

Handles both exception shapes: Flink 1.x (deprecated `root-exception` next to `exceptionHistory`) and
2.x (`exceptionHistory` only). The payloads are validated by the models of flink_models.py; a
payload that does not fit gives None (or ValueError for the job list), never a crash.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

if TYPE_CHECKING:
    from bot.clients.flink_health import Verdict

from bot.clients.flink_models import (
    METRICS,
    CheckpointingStatistics,
    JobExceptions,
    JobOverview,
    JobsOverview,
)

SUPPRESSED = "Recovery is suppressed"  # Flink's words when the restart strategy gave up
# "org.apache.flink.util.FlinkRuntimeException: message" -> class name and message.
_EXCEPTION_LINE = re.compile(r"^(?P<name>[A-Za-z_$][\w$]*(?:\.[\w$]+)+)(?::\s*(?P<message>.*))?$")


@dataclass(frozen=True, slots=True)
class JobSummary:
    jid: str
    name: str
    state: str
    start_time: int          # epoch ms
    duration: int            # ms


@dataclass(frozen=True, slots=True)
class ExceptionInfo:
    name: str                # exception class
    message: str             # first line of the stack trace
    timestamp: int | None    # epoch ms
    task_name: str | None
    root_cause: str | None = None   # the last "Caused by:" line: usually the schema error itself
    endpoint: str | None = None     # the TaskManager that ran the failing task ("localhost:18126")
    restarts_exhausted: bool = False  # Flink said "Recovery is suppressed": the job will not restart


@dataclass(frozen=True, slots=True)
class CheckpointInfo:
    id: int
    status: str
    trigger_timestamp: int | None
    latest_ack_timestamp: int | None
    duration_ms: int | None
    state_size: int | None
    completed_total: int | None = None
    failed_total: int | None = None


@dataclass(frozen=True, slots=True)
class JobHealth:
    jid: str
    name: str
    state: str
    num_restarts: int | None   # lags (a 10 s metric cache) and freezes on FAILED: shown, never judged on
    last_exception: ExceptionInfo | None
    last_checkpoint: CheckpointInfo | None
    verdict: Verdict | None = None   # from state, timestamps and exception history (flink_health.py)

    @property
    def healthy(self) -> bool:
        return self.verdict.healthy if self.verdict is not None else self.state == "RUNNING"


def parse_job_summary(entry: Any) -> JobSummary:
    """One job of /jobs/overview (or /jobs/<jid>). ValueError when it has no jid or name."""
    try:
        job = JobOverview.model_validate(entry)
    except ValidationError as exc:
        raise ValueError(f"unexpected job payload ({exc.error_count()} problem(s))") from None
    return JobSummary(job.jid, job.name, job.state, job.start_time, job.duration)


def parse_jobs_overview(body: Any) -> list[JobSummary]:
    """/jobs/overview, newest first. ValueError when it is not that shape."""
    try:
        jobs = JobsOverview.model_validate(body).jobs
    except ValidationError as exc:
        raise ValueError(f"unexpected jobs overview ({exc.error_count()} problem(s))") from None
    return sorted((JobSummary(j.jid, j.name, j.state, j.start_time, j.duration) for j in jobs),
                  key=lambda j: j.start_time, reverse=True)


def parse_num_restarts(metrics: Any) -> int | None:
    """numRestarts (fullRestarts on old versions); values are strings; `[]` (unknown job or a metric
    cache not filled yet) means unknown."""
    try:
        values = {m.id: m.value for m in METRICS.validate_python(metrics)}
    except ValidationError:
        return None
    for key in ("numRestarts", "fullRestarts"):
        number = _int(values.get(key))
        if number is not None:
            return number
    return None


def parse_last_exception(body: Any) -> ExceptionInfo | None:
    """The newest entry of `exceptionHistory`, else the deprecated 1.x `root-exception`."""
    try:
        parsed = JobExceptions.model_validate(body)
    except ValidationError:
        return None
    entries = parsed.exception_history.entries if parsed.exception_history else []
    if entries:
        # Order differs between versions: pick by timestamp rather than by position.
        newest = max(entries, key=lambda e: e.timestamp or 0)
        trace = newest.stacktrace
        name = newest.exception_name or _split_exception(trace)[0]
        # When restarts run out the newest entry is the JobManager's "Recovery is suppressed": the
        # task and its failure are in concurrentExceptions.
        task = newest.task_name or next((c.task_name for c in newest.concurrent_exceptions if c.task_name), None)
        endpoint = newest.endpoint or next((c.endpoint for c in newest.concurrent_exceptions if c.endpoint), None)
        cause = _root_cause(trace) or next((_first_line(c.stacktrace) for c in newest.concurrent_exceptions
                                            if c.stacktrace), None)
        return ExceptionInfo(name, _first_line(trace) or name, newest.timestamp, task or None, cause, endpoint,
                             SUPPRESSED in trace)
    root = parsed.root_exception
    if root and root.strip():
        return ExceptionInfo(_split_exception(root)[0], _first_line(root), parsed.timestamp, None, _root_cause(root))
    return None


def failure_times(body: Any) -> list[int]:
    """When each failure in the exception history happened (epoch ms, newest first; the history is capped)."""
    try:
        parsed = JobExceptions.model_validate(body)
    except ValidationError:
        return []
    entries = parsed.exception_history.entries if parsed.exception_history else []
    return sorted((e.timestamp for e in entries if e.timestamp), reverse=True)


def parse_last_checkpoint(body: Any) -> CheckpointInfo | None:
    """`latest.completed` of CheckpointingStatistics, with the completed/failed counts."""
    try:
        stats = CheckpointingStatistics.model_validate(body)
    except ValidationError:
        return None
    completed = stats.latest.completed
    if completed is None:
        return None
    return CheckpointInfo(
        id=completed.id, status=completed.status, trigger_timestamp=completed.trigger_timestamp,
        latest_ack_timestamp=completed.latest_ack_timestamp, duration_ms=completed.end_to_end_duration,
        state_size=completed.state_size, completed_total=stats.counts.completed, failed_total=stats.counts.failed,
    )


def newest_named(jobs: list[JobSummary], name: str) -> JobSummary | None:
    named = [j for j in jobs if j.name == name]
    return max(named, key=lambda j: j.start_time) if named else None


def _split_exception(trace: str) -> tuple[str, str]:
    line = _first_line(trace)
    match = _EXCEPTION_LINE.match(line)
    return (match["name"], match["message"] or "") if match else ("unknown", line)


def _root_cause(trace: str) -> str | None:
    causes = [line.strip()[len("Caused by:"):].strip() for line in trace.splitlines()
              if line.strip().startswith("Caused by:")]
    return causes[-1] if causes else None


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            return None
    return None


