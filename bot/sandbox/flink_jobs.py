"""State of one simulated Flink job and the JSON shapes the Flink REST API gives for it.

Kept apart from the HTTP layer (flink_sim.py) so the shapes are plain functions of the state.
Field names follow Flink's generated REST schema (protocols.md section 4) and what Flink 2.3.0 really
answered (reference/real-stack/captures; tests/contract runs the same assertions against both).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from typing import Any

JOB_STATES = frozenset({
    "INITIALIZING", "CREATED", "RUNNING", "FAILING", "FAILED", "CANCELLING", "CANCELED",
    "FINISHED", "RESTARTING", "SUSPENDED", "RECONCILING",
})
TERMINAL_STATES = frozenset({"FAILED", "CANCELED", "FINISHED", "SUSPENDED"})
# Job state -> the execution state its tasks show (note CANCELLING vs CANCELING). While a job restarts
# after a task failure, the failed task shows FAILED.
_TASK_STATE = {"RUNNING": "running", "RESTARTING": "failed", "FAILING": "canceling",
               "CANCELLING": "canceling", "CANCELED": "canceled", "FAILED": "failed",
               "FINISHED": "finished", "INITIALIZING": "initializing", "CREATED": "created"}
_TASK_KEYS = ("created", "scheduled", "deploying", "running", "finished", "canceling", "canceled",
              "failed", "reconciling", "initializing")
# Where a task failed: the history's `endpoint` is the TaskManager's data endpoint (host name), its
# `taskManagerId` the resource id (RPC address + suffix): not the same host:port, as in Flink.
TASK_ENDPOINT = "localhost:41236"
TASK_MANAGER_ID = "172.18.0.9:41235-7a1c2e"
TASK_MANAGER = TASK_ENDPOINT
DEFAULT_TASK = "Source: cdc-orders -> decode-orders -> enrich-orders (1/1)"
EXCEPTION_HISTORY_SIZE = 16     # web.exception-history-size
CHECKPOINT_HISTORY_SIZE = 10    # web.checkpoints.history
SUPPRESSED = "org.apache.flink.runtime.JobException"
_EXECUTION = re.compile(r"^(.*) - execution #\d+$")
_TRACE_TAIL = "\n\tat org.apache.flink.runtime.executiongraph.failover.ExecutionFailureHandler.handleFailure" \
              "(ExecutionFailureHandler.java:213)\n"


@dataclass
class SimCheckpoint:
    id: int
    status: str                      # COMPLETED | FAILED
    trigger_timestamp: int
    ack_timestamp: int
    state_size: int
    failure_message: str | None = None
    savepoint: bool = False          # a (stop-with-)savepoint: never discarded by newer checkpoints
    path: str | None = None          # external path when not the default chk-<id> one


@dataclass
class SimJob:
    jid: str
    name: str
    state: str
    start_time: int
    end_time: int = -1
    num_restarts: int = 0
    running_since: int | None = None
    exceptions: list[dict[str, Any]] = field(default_factory=list)   # newest first
    checkpoints: list[SimCheckpoint] = field(default_factory=list)   # newest first
    timestamps: dict[str, int] = field(default_factory=dict)
    restart_due: float | None = None                                 # clock() seconds
    vertex_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    num_failures: int = 0                                            # task failures, restarted or not
    restart_attempts: int | None = None                              # None: restarts never run out
    restart_delay_ms: int = 1000
    restored: dict[str, Any] | None = None                           # the checkpoint the last restart used
    restored_count: int = 0

    def move_to(self, state: str, now_ms: int) -> None:
        self.state = state
        self.timestamps[state] = now_ms
        self.running_since = now_ms if state == "RUNNING" else None
        self.end_time = now_ms if state in TERMINAL_STATES else -1

    def record_failure(self, exception_name: str, stacktrace: str, task_name: str | None, now_ms: int) -> bool:
        """A task failure in the history (capped). True when the job restarts; False when its restart
        strategy has run out: then the newest entry says so, with the task's failure inside it."""
        entry = self._task_failure(exception_name, stacktrace, task_name, now_ms)
        if self.restart_attempts is not None and self.num_restarts >= self.restart_attempts:
            self._remember(self._suppressed(entry, now_ms))
            return False
        self._remember({**entry, "concurrentExceptions": []})
        self.num_restarts += 1
        return True

    def next_task_name(self, previous: str | None) -> str | None:
        """The task name for the next failure: a `- execution #N` suffix counts on, other names stay."""
        match = _EXECUTION.match(previous or "")
        return f"{match.group(1)} - execution #{self.num_failures}" if match else previous

    def restore(self, now_ms: int) -> None:
        """A restart restores the newest completed checkpoint, if any."""
        completed = next((c for c in self.checkpoints if c.status == "COMPLETED"), None)
        if completed is not None:
            self.restored = {"id": completed.id, "restore_timestamp": now_ms, "is_savepoint": False,
                             "external_path": _external_path(completed)}
            self.restored_count += 1

    def _task_failure(self, exception_name: str, stacktrace: str, task_name: str | None,
                      now_ms: int) -> dict[str, Any]:
        name = task_name or f"{DEFAULT_TASK} - execution #{self.num_failures}"
        self.num_failures += 1
        return {"exceptionName": exception_name, "stacktrace": stacktrace, "timestamp": now_ms,
                "failureLabels": {}, "taskName": name, "endpoint": TASK_ENDPOINT, "taskManagerId": TASK_MANAGER_ID}

    def _suppressed(self, task: dict[str, Any], now_ms: int) -> dict[str, Any]:
        """No task, no endpoint: the job's own exception, the task's failure in concurrentExceptions."""
        strategy = (f"FixedDelayRestartBackoffTimeStrategy(maxNumberRestartAttempts={self.restart_attempts}, "
                    f"backoffTimeMS={self.restart_delay_ms})")
        trace = f"{SUPPRESSED}: Recovery is suppressed by {strategy}{_TRACE_TAIL}Caused by: {task['stacktrace']}"
        return {"exceptionName": SUPPRESSED, "stacktrace": trace, "timestamp": now_ms, "failureLabels": {},
                "concurrentExceptions": [task]}

    def _remember(self, entry: dict[str, Any]) -> None:
        self.exceptions.insert(0, entry)
        del self.exceptions[EXCEPTION_HISTORY_SIZE:]

    def duration(self, now_ms: int) -> int:
        return (self.end_time if self.end_time >= 0 else now_ms) - self.start_time

    def uptime(self, now_ms: int) -> int:
        return now_ms - self.running_since if self.running_since is not None else 0


def task_counts(job: SimJob) -> dict[str, int]:
    counts = dict.fromkeys(_TASK_KEYS, 0)
    counts[_TASK_STATE.get(job.state, "created")] = 1
    return counts


def overview_entry(job: SimJob, now_ms: int) -> dict[str, Any]:
    return {
        "jid": job.jid, "name": job.name, "jobType": "STREAMING", "schedulerType": "Default",
        "start-time": job.start_time, "end-time": job.end_time,
        "duration": job.duration(now_ms), "last-modification": max(job.timestamps.values()),
        "state": job.state, "tasks": {"total": 1, **task_counts(job)}, "pending-operators": 0,
    }


def all_timestamps(job: SimJob) -> dict[str, int]:
    """Every one of the 11 job states, 0 for those never entered (as Flink 2.x answers)."""
    return {state: job.timestamps.get(state, 0) for state in sorted(JOB_STATES)}


def details(job: SimJob, now_ms: int) -> dict[str, Any]:
    vertex_state = _TASK_STATE.get(job.state, "created").upper()
    vertex = {
        "id": job.vertex_id, "name": f"Source: {job.name}-source -> Sink: {job.name}-sink",
        "maxParallelism": 128, "parallelism": 1, "slotSharingGroupId": job.jid[:16] + job.vertex_id[:16],
        "status": vertex_state, "start-time": job.start_time, "end-time": job.end_time,
        "duration": job.duration(now_ms), "tasks": {k.upper(): v for k, v in task_counts(job).items()},
        "metrics": _vertex_metrics(job),
    }
    return {
        "jid": job.jid, "application-id": job.jid, "name": job.name, "isStoppable": False, "state": job.state,
        "job-type": "STREAMING", "schedulerType": "Default", "start-time": job.start_time,
        "end-time": job.end_time, "duration": job.duration(now_ms), "maxParallelism": -1, "now": now_ms,
        "timestamps": all_timestamps(job), "vertices": [vertex],
        "status-counts": {k.upper(): v for k, v in task_counts(job).items()},
        "plan": {"jid": job.jid, "name": job.name, "type": "STREAMING", "nodes": []},
        "pending-operators": 0,
    }


def _vertex_metrics(job: SimJob) -> dict[str, Any]:
    metrics: dict[str, Any] = {}
    for name in ("read-bytes", "write-bytes", "read-records", "write-records"):
        metrics[name], metrics[f"{name}-complete"] = 0, True
    busy = "NaN" if job.state == "RUNNING" else 0.0   # a float, or "NaN" while Flink has no sample yet
    return {**metrics, "accumulated-backpressured-time": 0, "accumulated-idle-time": 0, "accumulated-busy-time": busy}


def exceptions(job: SimJob, max_exceptions: int, legacy: bool) -> dict[str, Any]:
    """JobExceptionsInfoWithHistory. `legacy` (Flink 1.x) adds the deprecated first-level members."""
    entries = [dict(e, location=e.get("endpoint")) if legacy else dict(e) for e in job.exceptions]
    body: dict[str, Any] = {
        "exceptionHistory": {"entries": entries[:max_exceptions], "truncated": len(entries) > max_exceptions},
    }
    if legacy:
        newest = job.exceptions[0] if job.exceptions else None
        body["root-exception"] = newest["stacktrace"] if newest else None
        body["timestamp"] = newest["timestamp"] if newest else None
        body["all-exceptions"] = [
            {"exception": newest["stacktrace"], "task": newest.get("taskName"), "location": newest.get("endpoint"),
             "timestamp": newest["timestamp"], "taskManagerId": newest.get("taskManagerId")},
        ] if newest else []
        body["truncated"] = False
    return body


def metric_values(job: SimJob, now_ms: int, legacy: bool) -> dict[str, str]:
    """Job-scope metrics; the REST API reports every value as a string."""
    completed = [c for c in job.checkpoints if c.status == "COMPLETED"]
    values = {
        "numRestarts": str(job.num_restarts), "uptime": str(job.uptime(now_ms)),
        "downtime": "0" if job.state == "RUNNING" else str(job.duration(now_ms) - job.uptime(now_ms)),
        "numberOfCompletedCheckpoints": str(len(completed)),
        "numberOfFailedCheckpoints": str(len(job.checkpoints) - len(completed)),
        "lastCheckpointSize": str(completed[0].state_size if completed else -1),
        "lastCheckpointDuration": str(_duration(completed[0]) if completed else -1),
    }
    if legacy:
        values["fullRestarts"] = values["numRestarts"]   # deprecated, gone from 2.x
    return values


def checkpoints(job: SimJob) -> dict[str, Any]:
    """CheckpointingStatistics: counts, summary, latest{completed,savepoint,failed,restored}, history
    (the newest 10). A job without checkpoints answers 200 with zeros and "NaN" percentiles. As in Flink
    2.3.0: `latest.completed` is the newest checkpoint that is not a savepoint, and a checkpoint older than
    the newest completed checkpoint or savepoint is `discarded` (so after a stop-with-savepoint the last
    checkpoint is)."""
    newest_done = next((c.id for c in job.checkpoints if c.status == "COMPLETED"), None)
    stats = [_checkpoint_stats(c, discarded=c.id != newest_done and not c.savepoint) for c in job.checkpoints]
    completed = [s for s in stats if s["status"] == "COMPLETED"]
    failed = [s for s in stats if s["status"] == "FAILED"]
    checkpoints_only = [s for s in completed if not s["is_savepoint"]]
    savepoints = [s for s in completed if s["is_savepoint"]]
    return {
        "counts": {"restored": job.restored_count, "total": len(stats), "in_progress": 0,
                   "completed": len(completed), "failed": len(failed)},
        "summary": {key: _summary([s[key] for s in completed], nan=key != "alignment_buffered")
                    for key in ("checkpointed_size", "state_size", "end_to_end_duration",
                                "alignment_buffered", "processed_data", "persisted_data")},
        "latest": {"completed": checkpoints_only[0] if checkpoints_only else None,
                   "savepoint": savepoints[0] if savepoints else None,
                   "failed": failed[0] if failed else None, "restored": job.restored},
        "history": stats[:CHECKPOINT_HISTORY_SIZE],
    }


def _duration(c: SimCheckpoint) -> int:
    return c.ack_timestamp - c.trigger_timestamp


def _external_path(c: SimCheckpoint) -> str:
    return c.path or f"file:/flink/checkpoints/chk-{c.id}"


def _checkpoint_stats(c: SimCheckpoint, discarded: bool = False) -> dict[str, Any]:
    stats: dict[str, Any] = {
        "className": "completed" if c.status == "COMPLETED" else "failed",   # `@class` before Flink 1.15
        "id": c.id, "status": c.status, "is_savepoint": c.savepoint, "savepointFormat": "CANONICAL" if c.savepoint else None,
        "trigger_timestamp": c.trigger_timestamp, "latest_ack_timestamp": c.ack_timestamp,
        "checkpointed_size": c.state_size, "state_size": c.state_size,
        "end_to_end_duration": _duration(c), "alignment_buffered": 0, "processed_data": 0,
        "persisted_data": 0, "num_subtasks": 1, "num_acknowledged_subtasks": 1,
        "checkpoint_type": "SYNC_SAVEPOINT" if c.savepoint else "CHECKPOINT", "tasks": {},
    }
    if c.status == "COMPLETED":
        stats.update(external_path=_external_path(c), discarded=discarded)
    else:
        stats.update(failure_timestamp=c.ack_timestamp, failure_message=c.failure_message)
    return stats


_QUANTILES = (("p50", 0.5), ("p90", 0.9), ("p95", 0.95), ("p99", 0.99), ("p999", 0.999))


def _summary(values: list[int], nan: bool = True) -> dict[str, float | int | str]:
    """min/max/avg are integers, percentiles floats; with no completed checkpoint Flink answers 0s and
    the string "NaN" for the percentiles (0.0 for alignment_buffered, which has no histogram)."""
    if not values:
        return {"min": 0, "max": 0, "avg": 0, **{q: "NaN" if nan else 0.0 for q, _ in _QUANTILES}}
    ordered = sorted(values)
    pick = {q: float(ordered[min(len(ordered) - 1, int(len(ordered) * f))]) for q, f in _QUANTILES}
    return {"min": ordered[0], "max": ordered[-1], "avg": sum(ordered) // len(ordered), **pick}


class MetricCache:
    """Flink's MetricFetcher: values refreshed at most every `interval` s, lazily, by a request that is
    itself answered from the old values. Jobs that ended keep the last values fetched for them."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.fetched_at: float | None = None
        self.values: dict[str, dict[str, str]] = {}

    def read(self, jid: str, now: float, live: dict[str, dict[str, str]]) -> dict[str, str] | None:
        served = self.values.get(jid)
        if self.fetched_at is None or now - self.fetched_at >= self.interval:
            self.values = {**self.values, **live}
            self.fetched_at = now
        return served

    def clear(self) -> None:
        self.fetched_at, self.values = None, {}
