"""Flink REST payloads as pydantic models (apache/flink `rest_v1_dispatcher.yml`, checked against the
captures of a real Flink 2.3 in tests/fixtures/captures/flink/).

Lenient on purpose: unknown fields are ignored, and what differs between versions is optional:
1.x sends `root-exception` next to `exceptionHistory`, 2.x only the history (with `concurrentExceptions`
when restarts run out); a checkpoint's type field is `className` (`@class` before 1.15); summary
percentiles are floats or the string "NaN"; `timestamps` lists every job state (0 = never).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


class DashboardConfig(_Wire):
    """GET /config"""

    refresh_interval: int = Field(0, alias="refresh-interval")
    timezone_name: str = Field("", alias="timezone-name")
    timezone_offset: int = Field(0, alias="timezone-offset")
    flink_version: str = Field("unknown", alias="flink-version")
    flink_revision: str = Field("", alias="flink-revision")
    features: dict[str, bool] = Field(default_factory=dict)


class ClusterOverview(_Wire):
    """GET /overview"""

    taskmanagers: int = 0
    slots_total: int = Field(0, alias="slots-total")
    slots_available: int = Field(0, alias="slots-available")
    jobs_running: int = Field(0, alias="jobs-running")
    jobs_failed: int = Field(0, alias="jobs-failed")
    flink_version: str = Field("unknown", alias="flink-version")


class JobIdStatus(_Wire):
    id: str
    status: str


class JobIds(_Wire):
    """GET /jobs"""

    jobs: list[JobIdStatus]


class JobOverview(_Wire):
    """One entry of GET /jobs/overview; JobDetailsInfo has the same leading fields."""

    jid: str
    name: str
    state: str = "UNKNOWN"
    start_time: int = Field(0, alias="start-time")
    end_time: int = Field(-1, alias="end-time")
    duration: int = 0
    last_modification: int | None = Field(None, alias="last-modification")
    tasks: dict[str, int] = Field(default_factory=dict)


class JobsOverview(_Wire):
    """GET /jobs/overview"""

    jobs: list[JobOverview]


class Vertex(_Wire):
    id: str
    name: str
    parallelism: int = 0
    status: str = "UNKNOWN"
    tasks: dict[str, int] = Field(default_factory=dict)


class JobDetails(JobOverview):
    """GET /jobs/{jid}"""

    now: int | None = None
    timestamps: dict[str, int] = Field(default_factory=dict)   # all 11 states in 2.x; 0 = never entered
    vertices: list[Vertex] = Field(default_factory=list)
    status_counts: dict[str, int] = Field(default_factory=dict, alias="status-counts")


class JobConfig(_Wire):
    """GET /jobs/{jid}/config"""

    jid: str
    name: str
    execution_config: dict[str, Any] = Field(default_factory=dict, alias="execution-config")


class ExceptionEntry(_Wire):
    exception_name: str = Field("", alias="exceptionName")
    stacktrace: str = ""
    timestamp: int | None = None
    task_name: str | None = Field(None, alias="taskName")
    endpoint: str | None = None
    task_manager_id: str | None = Field(None, alias="taskManagerId")
    failure_labels: dict[str, str] = Field(default_factory=dict, alias="failureLabels")
    # The newest entry when restarts run out: the task's own failure is in here.
    concurrent_exceptions: list[ExceptionEntry] = Field(default_factory=list, alias="concurrentExceptions")


class ExceptionHistory(_Wire):
    entries: list[ExceptionEntry] = Field(default_factory=list)
    truncated: bool = False


class JobExceptions(_Wire):
    """GET /jobs/{jid}/exceptions"""

    exception_history: ExceptionHistory | None = Field(None, alias="exceptionHistory")
    root_exception: str | None = Field(None, alias="root-exception")       # 1.x, deprecated
    timestamp: int | None = None


class Metric(_Wire):
    """One entry of GET /jobs/{jid}/metrics: values are strings; without ?get= only ids.
    An unknown job answers 200 [] (not 404)."""

    id: str
    value: str | None = None


class StatsSummary(_Wire):
    min: float = 0
    max: float = 0
    avg: float = 0
    p50: float | None = None     # float, or the string "NaN" (parsed to nan)
    p90: float | None = None
    p95: float | None = None
    p99: float | None = None
    p999: float | None = None


class CheckpointStats(_Wire):
    class_name: str = Field("", alias="className")
    id: int
    status: str = "UNKNOWN"
    is_savepoint: bool = False
    trigger_timestamp: int | None = None
    latest_ack_timestamp: int | None = None
    checkpointed_size: int | None = None
    state_size: int | None = None
    end_to_end_duration: int | None = None
    num_subtasks: int = 0
    num_acknowledged_subtasks: int = 0
    checkpoint_type: str | None = None
    external_path: str | None = None
    discarded: bool | None = None
    failure_timestamp: int | None = None
    failure_message: str | None = None


class RestoredCheckpoint(_Wire):
    id: int
    restore_timestamp: int | None = None
    is_savepoint: bool = False
    external_path: str | None = None


class LatestCheckpoints(_Wire):
    completed: CheckpointStats | None = None
    savepoint: CheckpointStats | None = None
    failed: CheckpointStats | None = None
    restored: RestoredCheckpoint | None = None    # filled after a restart restored state


class CheckpointCounts(_Wire):
    restored: int = 0
    total: int = 0
    in_progress: int = 0
    completed: int = 0
    failed: int = 0          # includes checkpoints that never triggered ("Coordinator is suspending")


class CheckpointingStatistics(_Wire):
    """GET /jobs/{jid}/checkpoints (a job without checkpointing: 200 with zeros)."""

    counts: CheckpointCounts = Field(default_factory=CheckpointCounts)
    summary: dict[str, StatsSummary] = Field(default_factory=dict)
    latest: LatestCheckpoints = Field(default_factory=LatestCheckpoints)
    history: list[CheckpointStats] = Field(default_factory=list)


class CheckpointConfig(_Wire):
    """GET /jobs/{jid}/checkpoints/config"""

    mode: str
    interval: int
    timeout: int
    min_pause: int = 0
    max_concurrent: int = 1
    externalization: dict[str, bool] = Field(default_factory=dict)
    state_backend: str | None = None
    checkpoint_storage: str | None = None
    unaligned_checkpoints: bool = False
    tolerable_failed_checkpoints: int = 0


METRICS: TypeAdapter[list[Metric]] = TypeAdapter(list[Metric])
