"""A task failure as Flink reports it (differences 3 and 5): the exception history entry, the job's
timestamps during the restart loop, and the bot's verdict. On the real stack the failure is schema drift
on oltp.orders (the job's strict decoder fails); it is undone before the test ends."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from bot.clients.flink import FlinkClient
from tests.contract.targets import DRIFT_COLUMN, DRIFT_EXCEPTION, Target

FAILURE_TIMEOUT_S = 60.0
RECOVERY_TIMEOUT_S = 60.0
ENTRY_KEYS = {"exceptionName", "stacktrace", "timestamp", "failureLabels", "taskName", "endpoint", "taskManagerId",
              "concurrentExceptions"}
TASK_NAME = re.compile(r"^Source: cdc-orders -> decode-orders -> .+ \(1/1\) - execution #\d+$")
ENDPOINT = re.compile(r"^localhost:\d+$")                     # the TaskManager's data endpoint, by host name
TASK_MANAGER_ID = re.compile(r"^[\d.]+:\d+-[0-9a-f]{6}$")      # its resource id: RPC address + suffix


def newest_entry_since(flink: httpx.Client, job_id: str, since_ms: int) -> dict[str, Any] | None:
    entries = flink.get(f"/jobs/{job_id}/exceptions", params={"maxExceptions": "16"}).json()[
        "exceptionHistory"]["entries"]
    fresh = [e for e in entries if e["timestamp"] >= since_ms]
    return max(fresh, key=lambda e: e["timestamp"]) if fresh else None


@pytest.fixture
def failing_job(target: Target, flink: httpx.Client, job_id: str) -> Iterator[int]:
    """The job in a restart loop; yields the JobManager's time just before. Undone afterwards, and the
    job must be RUNNING again."""
    since = int(flink.get(f"/jobs/{job_id}").json()["now"])
    target.start_job_failure()
    try:
        yield since
    finally:
        target.end_job_failure()
    deadline = time.monotonic() + RECOVERY_TIMEOUT_S
    while flink.get(f"/jobs/{job_id}").json()["state"] != "RUNNING":
        assert time.monotonic() < deadline, "the job did not run again after the failure was undone"
        time.sleep(0.5)


def test_task_failure_entry_timestamps_and_verdict(target: Target, flink: httpx.Client, job_id: str,
                                                   failing_job: int) -> None:
    deadline = time.monotonic() + FAILURE_TIMEOUT_S
    while (entry := newest_entry_since(flink, job_id, failing_job)) is None:
        assert time.monotonic() < deadline, "no failure in the exception history"
        time.sleep(0.5)
    assert set(entry) == ENTRY_KEYS
    assert entry["exceptionName"] == DRIFT_EXCEPTION
    first_line = entry["stacktrace"].splitlines()[0]
    assert first_line.startswith(f"{DRIFT_EXCEPTION}: unknown column {DRIFT_COLUMN} in oltp.orders (")
    assert TASK_NAME.match(entry["taskName"]), entry["taskName"]
    assert ENDPOINT.match(entry["endpoint"]) and TASK_MANAGER_ID.match(entry["taskManagerId"])
    assert entry["concurrentExceptions"] == [] and entry["failureLabels"] == {}

    details = flink.get(f"/jobs/{job_id}").json()
    assert details["state"] in ("RESTARTING", "RUNNING")
    assert details["timestamps"]["FAILING"] == 0              # a restart loop never enters FAILING
    assert details["timestamps"]["RESTARTING"] >= failing_job

    with FlinkClient(target.flink_url, timeout=10) as client:
        health = client.job_health(target.job_name)
    assert not health.healthy
    assert health.last_exception is not None
    assert (health.last_exception.name, health.last_exception.endpoint) == (DRIFT_EXCEPTION, entry["endpoint"])
    assert health.last_exception.task_name is not None and TASK_NAME.match(health.last_exception.task_name)
