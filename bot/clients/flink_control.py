"""Flink JobManager REST calls that change a job: stop with a savepoint, cancel, resubmit an uploaded jar.

Shapes from apache/flink `rest_v1_dispatcher.yml`, checked against Flink 2.3.0 (tests/fixtures/captures/
flink/control_*.json). What the real one does that the schema does not say:
- `POST /jobs/<jid>/stop` answers 202 with a trigger id even for a job that ended; the failure shows in
  the trigger's status, which is then `COMPLETED` with `operation.failure-cause` (not a 4xx). So a savepoint
  is done only when its status is COMPLETED *and* it has a `location`.
- A run from a missing savepoint answers 400 "Could not execute application." and leaves a FAILED job.
Branches on status codes and fields, never on message texts.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.clients.flink import JOB_ID, FlinkClient
from bot.clients.flink_models import CheckpointingStatistics, JobDetails
from bot.errors import BackendError, UserInputError

POLL_SECONDS = 1.0
M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")
LIVE_STATES = frozenset({"INITIALIZING", "CREATED", "RUNNING", "FAILING", "CANCELLING", "RESTARTING",
                         "RECONCILING", "SUSPENDED"})
SUBMIT_TIMEOUT_S = 60.0   # POST /jars/<id>/run runs the job's main() in the JobManager


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


class JarFile(_Wire):
    """One entry of GET /jars: `id` is the stored file name (<uuid>_<name>), `name` the uploaded one."""

    id: str
    name: str
    uploaded: int = 0


class JarList(_Wire):
    files: list[JarFile] = Field(default_factory=list)


class TriggerResponse(_Wire):
    """202 of POST /jobs/<jid>/stop"""

    request_id: str = Field(alias="request-id", min_length=1)


class JarRunResponse(_Wire):
    """200 of POST /jars/<id>/run"""

    jobid: str = Field(pattern=r"^[0-9a-f]{32}$")


class _TriggerStatus(_Wire):
    id: str


class _SavepointOperation(_Wire):
    location: str | None = None
    failure_cause: dict[str, object] | None = Field(None, alias="failure-cause")


class SavepointStatus(_Wire):
    """GET /jobs/<jid>/savepoints/<triggerid>"""

    status: _TriggerStatus
    operation: _SavepointOperation | None = None

    @property
    def done(self) -> bool:
        return self.status.id == "COMPLETED"

    def failure(self) -> str | None:
        """The failure's exception class (its text can hold paths and trace lines: not shown)."""
        cause = self.operation.failure_cause if self.operation else None
        if self.done and (cause or not (self.operation and self.operation.location)):
            return str((cause or {}).get("class") or "no savepoint location")
        return None


@dataclass(frozen=True)
class JobState:
    jid: str
    name: str
    state: str

    @property
    def live(self) -> bool:
        return self.state in LIVE_STATES


class FlinkControl(FlinkClient):
    """The mutating calls; every one goes through the Flink breaker with a timeout (FlinkClient._request).
    Waits ask again every `poll_seconds`."""

    def __init__(self, base_url: str, timeout: float = 5.0, poll_seconds: float = POLL_SECONDS) -> None:
        super().__init__(base_url, timeout)
        self.poll_seconds = poll_seconds

    def job_state(self, jid: str) -> JobState:
        details = self._parse(JobDetails, self._get(f"/jobs/{_checked(jid)}", not_found=f"no Flink job {jid}"))
        return JobState(details.jid, details.name, details.state)

    def live_jobs(self, name: str) -> list[JobState]:
        """Jobs of this name that are not in a terminal state, newest first."""
        return [JobState(j.jid, j.name, j.state) for j in self.jobs() if j.name == name and j.state in LIVE_STATES]

    def checkpoints(self, jid: str) -> CheckpointingStatistics:
        body = self._get(f"/jobs/{_checked(jid)}/checkpoints", not_found=f"no Flink job {jid}")
        return self._parse(CheckpointingStatistics, body)

    def jars(self) -> list[JarFile]:
        return list(self._parse(JarList, self._get("/jars")).files)

    def stop_with_savepoint(self, jid: str, target_directory: str | None) -> str:
        """POST /jobs/<jid>/stop (drain false): the savepoint trigger id."""
        body: dict[str, object] = {"drain": False}
        if target_directory:
            body["targetDirectory"] = target_directory
        answer = self._request("POST", f"/jobs/{_checked(jid)}/stop", body=body, not_found=f"no Flink job {jid}")
        return self._parse(TriggerResponse, answer).request_id

    def savepoint_status(self, jid: str, trigger: str) -> SavepointStatus:
        return self._parse(SavepointStatus, self._get(f"/jobs/{_checked(jid)}/savepoints/{trigger}"))

    def wait_savepoint(self, jid: str, trigger: str, timeout: float) -> str:
        """The savepoint's location once COMPLETED; BackendError if it failed or took longer than `timeout`."""
        status = poll_until(lambda: self.savepoint_status(jid, trigger), lambda s: s.done, timeout,
                            self.poll_seconds)
        if status is None:
            raise BackendError("Flink", self.where, f"the savepoint did not complete within {timeout:.0f} s")
        failure = status.failure()
        if failure or status.operation is None or status.operation.location is None:
            raise BackendError("Flink", self.where, f"the savepoint failed ({failure})")
        return status.operation.location

    def cancel(self, jid: str) -> None:
        """PATCH /jobs/<jid>?mode=cancel (202)."""
        self._request("PATCH", f"/jobs/{_checked(jid)}", params={"mode": "cancel"}, not_found=f"no Flink job {jid}")

    def run_jar(self, jar_id: str, entry_class: str, args: list[str], parallelism: int | None,
                restore_from: str | None) -> str:
        """POST /jars/<id>/run; the new job's id. Never allows non-restored state: a savepoint whose state
        does not map onto the job is refused rather than silently dropped."""
        body: dict[str, object] = {"entryClass": entry_class, "programArgsList": args,
                                   "allowNonRestoredState": False}
        if parallelism is not None:
            body["parallelism"] = parallelism
        if restore_from:
            body["savepointPath"] = restore_from
        answer = self._request("POST", f"/jars/{jar_id}/run", body=body, timeout=SUBMIT_TIMEOUT_S,
                               not_found=f"no jar {jar_id} on the JobManager")
        return self._parse(JarRunResponse, answer).jobid

    def wait_state(self, jid: str, wanted: frozenset[str], timeout: float,
                   on_progress: Callable[[JobState], None] | None = None) -> JobState:
        """The job's state once it is one of `wanted` (or terminal); the last one seen after `timeout`."""
        def check(job: JobState) -> bool:
            if on_progress:
                on_progress(job)
            return job.state in wanted or not job.live

        found = poll_until(lambda: self.job_state(jid), check, timeout, self.poll_seconds)
        return found if found is not None else self.job_state(jid)

    # -- parsing -----------------------------------------------------------------------------------
    def _parse(self, model: type[M], body: object) -> M:
        try:
            return model.model_validate(body)
        except ValidationError:
            raise BackendError("Flink", self.where, f"unexpected answer ({model.__name__})") from None


def poll_until(read: Callable[[], T], good: Callable[[T], bool], timeout: float,
               interval: float = POLL_SECONDS) -> T | None:
    """read() every `interval` s until good(); None if `timeout` seconds pass first."""
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if good(value):
            return value
        if time.monotonic() >= deadline:
            return None
        time.sleep(interval)


def _checked(jid: str) -> str:
    if not JOB_ID.match(jid):
        raise UserInputError(f"`{jid[:40]}` is not a Flink job id (32 hex characters).")
    return jid
