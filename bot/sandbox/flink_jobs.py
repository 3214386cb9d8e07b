"""State of one simulated Flink job and the JSON shapes the Flink REST API gives for it.

Kept apart from the HTTP layer (flink_sim.py) so the shapes are plain functions of the state.
Field names follow Flink's generated REST schema (protocols.md section 4).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

JOB_STATES = frozenset({
    "INITIALIZING", "CREATED", "RUNNING", "FAILING", "FAILED", "CANCELLING", "CANCELED",
    "FINISHED", "RESTARTING", "SUSPENDED", "RECONCILING",
})
TERMINAL_STATES = frozenset({"FAILED", "CANCELED", "FINISHED", "SUSPENDED"})
# Job state -> the execution state its tasks show (note CANCELLING vs CANCELING).
_TASK_STATE = {"RUNNING": "running", "RESTARTING": "canceled", "FAILING": "canceling",
               "CANCELLING": "canceling", "CANCELED": "canceled", "FAILED": "failed",
               "FINISHED": "finished", "INITIALIZING": "initializing", "CREATED": "created"}
_TASK_KEYS = ("created", "scheduled", "deploying", "running", "finished", "canceling", "canceled",
              "failed", "reconciling", "initializing")
TASK_MANAGER = "172.18.0.9:41235"


@dataclass
class SimCheckpoint:
    id: int
    status: str                      # COMPLETED | FAILED
    trigger_timestamp: int
    ack_timestamp: int
    state_size: int
    failure_message: str | None = None


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

    def move_to(self, state: str, now_ms: int) -> None:
        self.state = state
        self.timestamps[state] = now_ms
        self.running_since = now_ms if state == "RUNNING" else None
        self.end_time = now_ms if state in TERMINAL_STATES else -1

    def record_failure(self, exception_name: str, stacktrace: str, task_name: str, now_ms: int) -> None:
        self.exceptions.insert(0, {
            "exceptionName": exception_name, "stacktrace": stacktrace, "timestamp": now_ms,
            "taskName": task_name, "endpoint": TASK_MANAGER, "taskManagerId": f"{TASK_MANAGER}-7a1c2e",
            "failureLabels": {}, "concurrentExceptions": [],
        })
        self.num_restarts += 1

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
        "jid": job.jid, "name": job.name, "start-time": job.start_time, "end-time": job.end_time,
        "duration": job.duration(now_ms), "last-modification": max(job.timestamps.values()),
        "state": job.state, "tasks": {"total": 1, **task_counts(job)},
    }


def details(job: SimJob, now_ms: int) -> dict[str, Any]:
    vertex_state = _TASK_STATE.get(job.state, "created").upper()
    vertex = {
        "id": job.vertex_id, "name": f"Source: {job.name}-source -> Sink: {job.name}-sink",
        "maxParallelism": 128, "parallelism": 1, "slotSharingGroupId": job.jid[:16] + job.vertex_id[:16],
        "status": vertex_state, "start-time": job.start_time, "end-time": job.end_time,
        "duration": job.duration(now_ms), "tasks": {k.upper(): v for k, v in task_counts(job).items()},
        "metrics": dict.fromkeys(("read-bytes", "write-bytes", "read-records", "write-records"), 0),
    }
    return {
        "jid": job.jid, "name": job.name, "isStoppable": False, "state": job.state,
        "job-type": "STREAMING", "start-time": job.start_time, "end-time": job.end_time,
        "duration": job.duration(now_ms), "maxParallelism": -1, "now": now_ms,
        "timestamps": dict(job.timestamps), "vertices": [vertex],
        "status-counts": {k.upper(): v for k, v in task_counts(job).items()},
        "plan": {"jid": job.jid, "name": job.name, "type": "STREAMING", "nodes": []},
    }


def exceptions(job: SimJob, max_exceptions: int, legacy: bool) -> dict[str, Any]:
    """JobExceptionsInfoWithHistory. `legacy` (Flink 1.x) adds the deprecated first-level members."""
    entries = [dict(e, location=e["endpoint"]) if legacy else dict(e) for e in job.exceptions]
    body: dict[str, Any] = {
        "exceptionHistory": {"entries": entries[:max_exceptions], "truncated": len(entries) > max_exceptions},
    }
    if legacy:
        newest = job.exceptions[0] if job.exceptions else None
        body["root-exception"] = newest["stacktrace"] if newest else None
        body["timestamp"] = newest["timestamp"] if newest else None
        body["all-exceptions"] = [
            {"exception": newest["stacktrace"], "task": newest["taskName"], "location": TASK_MANAGER,
             "timestamp": newest["timestamp"], "taskManagerId": newest["taskManagerId"]},
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
    """CheckpointingStatistics: counts, summary, latest{completed,savepoint,failed,restored}, history."""
    stats = [_checkpoint_stats(c) for c in job.checkpoints]
    completed = [s for s in stats if s["status"] == "COMPLETED"]
    failed = [s for s in stats if s["status"] == "FAILED"]
    return {
        "counts": {"restored": 0, "total": len(stats), "in_progress": 0,
                   "completed": len(completed), "failed": len(failed)},
        "summary": {key: _summary([s[key] for s in completed])
                    for key in ("checkpointed_size", "state_size", "end_to_end_duration",
                                "alignment_buffered", "processed_data", "persisted_data")},
        "latest": {"completed": completed[0] if completed else None, "savepoint": None,
                   "failed": failed[0] if failed else None, "restored": None},
        "history": stats,
    }


def _duration(c: SimCheckpoint) -> int:
    return c.ack_timestamp - c.trigger_timestamp


def _checkpoint_stats(c: SimCheckpoint) -> dict[str, Any]:
    stats: dict[str, Any] = {
        "@class": "completed" if c.status == "COMPLETED" else "failed",
        "id": c.id, "status": c.status, "is_savepoint": False, "savepointFormat": None,
        "trigger_timestamp": c.trigger_timestamp, "latest_ack_timestamp": c.ack_timestamp,
        "checkpointed_size": c.state_size, "state_size": c.state_size,
        "end_to_end_duration": _duration(c), "alignment_buffered": 0, "processed_data": 0,
        "persisted_data": 0, "num_subtasks": 1, "num_acknowledged_subtasks": 1,
        "checkpoint_type": "CHECKPOINT", "tasks": {},
    }
    if c.status == "COMPLETED":
        stats.update(external_path=f"file:/flink/checkpoints/chk-{c.id}", discarded=False)
    else:
        stats.update(failure_timestamp=c.ack_timestamp, failure_message=c.failure_message)
    return stats


def _summary(values: list[int]) -> dict[str, float | int]:
    if not values:
        return dict.fromkeys(("min", "max", "avg", "p50", "p90", "p95", "p99", "p999"), 0)
    ordered = sorted(values)
    pick = {q: ordered[min(len(ordered) - 1, int(len(ordered) * f))]
            for q, f in (("p50", 0.5), ("p90", 0.9), ("p95", 0.95), ("p99", 0.99), ("p999", 0.999))}
    return {"min": ordered[0], "max": ordered[-1], "avg": sum(ordered) // len(ordered), **pick}
