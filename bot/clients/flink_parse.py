"""Typed results of the Flink client and the pure functions that build them from REST JSON.

Handles both exception shapes: Flink 1.x (deprecated `root-exception` next to `exceptionHistory`) and
2.x (`exceptionHistory` only). Missing or mistyped fields give None, never a crash.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

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
    num_restarts: int | None
    last_exception: ExceptionInfo | None
    last_checkpoint: CheckpointInfo | None

    @property
    def healthy(self) -> bool:
        return self.state == "RUNNING"


def parse_job_summary(entry: Any) -> JobSummary:
    entry = field_of(entry, dict)
    return JobSummary(str(entry.get("jid", "")), str(entry.get("name", "")),
                      str(entry.get("state", "UNKNOWN")),
                      _int(entry.get("start-time")) or 0, _int(entry.get("duration")) or 0)


def parse_num_restarts(metrics: Any) -> int | None:
    """numRestarts (fullRestarts on old versions); values are strings; absent ids mean unknown."""
    values = {m.get("id"): m.get("value") for m in metrics if isinstance(m, dict)} if isinstance(
        metrics, list) else {}
    for key in ("numRestarts", "fullRestarts"):
        number = _int(values.get(key))
        if number is not None:
            return number
    return None


def parse_last_exception(body: Any) -> ExceptionInfo | None:
    """The newest entry of `exceptionHistory`, else the deprecated 1.x `root-exception`."""
    if not isinstance(body, dict):
        return None
    history = body.get("exceptionHistory")
    entries = history.get("entries") if isinstance(history, dict) else None
    entries = [e for e in entries if isinstance(e, dict)] if isinstance(entries, list) else []
    if entries:
        # Order differs between versions: pick by timestamp rather than by position.
        newest = max(entries, key=lambda e: _int(e.get("timestamp")) or 0)
        trace = str(newest.get("stacktrace") or "")
        name = str(newest.get("exceptionName") or _split_exception(trace)[0])
        return ExceptionInfo(name, _first_line(trace) or name, _int(newest.get("timestamp")),
                             _str_or_none(newest.get("taskName")), _root_cause(trace))
    root = body.get("root-exception")
    if isinstance(root, str) and root.strip():
        return ExceptionInfo(_split_exception(root)[0], _first_line(root), _int(body.get("timestamp")),
                             None, _root_cause(root))
    return None


def parse_last_checkpoint(body: Any) -> CheckpointInfo | None:
    """`latest.completed` of CheckpointingStatistics, with the completed/failed counts."""
    if not isinstance(body, dict):
        return None
    latest = body.get("latest")
    completed = latest.get("completed") if isinstance(latest, dict) else None
    if not isinstance(completed, dict) or _int(completed.get("id")) is None:
        return None
    counts = field_of(body.get("counts"), dict)
    return CheckpointInfo(
        id=_int(completed.get("id")) or 0, status=str(completed.get("status", "COMPLETED")),
        trigger_timestamp=_int(completed.get("trigger_timestamp")),
        latest_ack_timestamp=_int(completed.get("latest_ack_timestamp")),
        duration_ms=_int(completed.get("end_to_end_duration")), state_size=_int(completed.get("state_size")),
        completed_total=_int(counts.get("completed")), failed_total=_int(counts.get("failed")),
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


def field_of(value: Any, kind: type) -> Any:
    """`value` if it has the expected JSON type, else an empty one (a missing field is not a crash)."""
    return value if isinstance(value, kind) else kind()


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


def _str_or_none(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None
