"""Flink REST: what the bot relies on, asserted the same way on the simulator and on Flink 2.3.0."""

from __future__ import annotations

import re
import time
from typing import Any

import httpx

from tests.contract.targets import Target

JSON = "application/json; charset=UTF-8"
JOB_STATES = {"INITIALIZING", "CREATED", "RUNNING", "FAILING", "FAILED", "CANCELLING", "CANCELED",
              "FINISHED", "RESTARTING", "SUSPENDED", "RECONCILING"}
TASK_KEYS = {"created", "scheduled", "deploying", "running", "finished", "canceling", "canceled", "failed",
             "reconciling", "initializing"}
OVERVIEW_ENTRY_KEYS = {"jid", "name", "jobType", "schedulerType", "start-time", "end-time", "duration", "state",
                       "last-modification", "tasks", "pending-operators"}
SUMMARY_KEYS = {"checkpointed_size", "state_size", "end_to_end_duration", "alignment_buffered", "processed_data",
                "persisted_data"}
PERCENTILES = ("p50", "p90", "p95", "p99", "p999")
UNKNOWN_JOB = "ABCDEF0123456789ABCDEF0123456789"   # well-formed, upper case: Flink names it in lower case
CHECKPOINT_WAIT_S = 30.0
BAD_REQUEST = "org.apache.flink.runtime.rest.handler.RestHandlerException: Bad request, could not parse parameters: "


def json_of(response: httpx.Response, status: int = 200) -> object:
    assert response.status_code == status, response.text[:300]
    assert response.headers["content-type"] == JSON
    return response.json()


def one_error(response: httpx.Response, status: int) -> str:
    """Flink's 400/404 body: `{"errors": [one entry]}`, the exception and its stack trace."""
    body = json_of(response, status)
    assert isinstance(body, dict) and set(body) == {"errors"}
    assert isinstance(body["errors"], list) and len(body["errors"]) == 1
    return str(body["errors"][0])


def test_overview_and_config_name_flink_2_3_0(flink: httpx.Client) -> None:
    overview = json_of(flink.get("/overview"))
    assert isinstance(overview, dict)
    assert set(overview) == {"taskmanagers", "slots-total", "slots-available", "jobs-running", "jobs-finished",
                             "jobs-cancelled", "jobs-failed", "flink-version", "flink-commit"}
    assert overview["flink-version"] == "2.3.0"
    assert re.fullmatch(r"[0-9a-f]{7}", overview["flink-commit"])
    assert overview["taskmanagers"] >= 1 and overview["jobs-running"] >= 1
    config = json_of(flink.get("/config"))
    assert isinstance(config, dict)
    assert set(config) == {"refresh-interval", "timezone-name", "timezone-offset", "flink-version",
                           "flink-revision", "features"}
    assert config["flink-version"] == "2.3.0"
    assert config["flink-revision"].startswith(overview["flink-commit"] + " @ ")
    assert set(config["features"]) == {"web-submit", "web-cancel", "web-rescale", "web-history"}


def test_jobs_overview_entry(target: Target, flink: httpx.Client, job_id: str) -> None:
    body = json_of(flink.get("/jobs/overview"))
    assert isinstance(body, dict) and set(body) == {"jobs"}
    entry = next(j for j in body["jobs"] if j["jid"] == job_id)
    assert set(entry) == OVERVIEW_ENTRY_KEYS
    assert entry["name"] == target.job_name and entry["state"] == "RUNNING"
    assert (entry["jobType"], entry["schedulerType"], entry["pending-operators"]) == ("STREAMING", "Default", 0)
    assert entry["end-time"] == -1
    assert set(entry["tasks"]) == TASK_KEYS | {"total"}
    assert entry["tasks"]["total"] == sum(v for k, v in entry["tasks"].items() if k != "total")
    assert entry["tasks"]["running"] == entry["tasks"]["total"] >= 1
    assert json_of(flink.get("/v1/jobs/overview"))["jobs"][0].keys() == entry.keys()  # type: ignore[index]


def test_job_details_with_now_and_every_state_timestamp(flink: httpx.Client, job_id: str) -> None:
    details = json_of(flink.get(f"/jobs/{job_id}"))
    assert isinstance(details, dict)
    assert {"jid", "application-id", "name", "isStoppable", "state", "job-type", "schedulerType", "start-time",
            "end-time", "duration", "maxParallelism", "now", "timestamps", "vertices", "status-counts", "plan",
            "pending-operators"} == set(details)
    assert details["application-id"] == details["jid"] == job_id
    assert details["state"] == "RUNNING" and details["job-type"] == "STREAMING"
    timestamps = details["timestamps"]
    assert set(timestamps) == JOB_STATES                      # difference 5: all 11, 0 = never
    assert timestamps["RUNNING"] > 0 and timestamps["INITIALIZING"] > 0
    assert timestamps["FAILED"] == timestamps["CANCELED"] == timestamps["FINISHED"] == 0
    assert details["now"] >= timestamps["RUNNING"] >= details["start-time"]
    assert set(details["status-counts"]) == {k.upper() for k in TASK_KEYS}
    assert details["vertices"]
    for vertex in details["vertices"]:
        assert {"id", "name", "parallelism", "status", "tasks", "metrics"} <= set(vertex)
        assert vertex["status"] == "RUNNING"
        # A float, or "NaN" while there is no sample yet (seen on the real job right after a restart).
        busy = vertex["metrics"]["accumulated-busy-time"]
        assert isinstance(busy, float) or busy == "NaN"


def test_exception_history_shape_and_bad_parameter(flink: httpx.Client, job_id: str) -> None:
    body = json_of(flink.get(f"/jobs/{job_id}/exceptions", params={"maxExceptions": "16"}))
    assert isinstance(body, dict)
    assert set(body) == {"exceptionHistory"}                  # 2.x: no root-exception / all-exceptions
    assert set(body["exceptionHistory"]) == {"entries", "truncated"}
    assert isinstance(body["exceptionHistory"]["entries"], list)
    assert isinstance(body["exceptionHistory"]["truncated"], bool)
    error = one_error(flink.get(f"/jobs/{job_id}/exceptions", params={"maxExceptions": "abc"}), 400)
    assert error.startswith(BAD_REQUEST + 'Cannot resolve query parameter (maxExceptions) from value "abc".\n\tat ')


def completed_checkpoints(flink: httpx.Client, job_id: str) -> dict[str, Any]:
    """CheckpointingStatistics once the job has a completed checkpoint (the real one checkpoints every 5 s)."""
    deadline = time.monotonic() + CHECKPOINT_WAIT_S
    while True:
        body = json_of(flink.get(f"/jobs/{job_id}/checkpoints"))
        assert isinstance(body, dict)
        if body["latest"]["completed"] is not None or time.monotonic() > deadline:
            return body
        time.sleep(0.5)


def test_checkpoints_of_a_checkpointing_job(flink: httpx.Client, job_id: str) -> None:
    """(A job without checkpointing answers 200 with zeros, difference 4: tests/clients/test_captures.py.)"""
    body = completed_checkpoints(flink, job_id)
    assert set(body) == {"counts", "summary", "latest", "history"}
    assert set(body["counts"]) == {"restored", "total", "in_progress", "completed", "failed"}
    assert body["counts"]["completed"] >= 1
    assert set(body["summary"]) == SUMMARY_KEYS
    for stats in body["summary"].values():
        assert all(isinstance(stats[p], float) for p in PERCENTILES)     # floats once there are samples
    assert set(body["latest"]) == {"completed", "savepoint", "failed", "restored"}
    completed = body["latest"]["completed"]
    assert {k: completed[k] for k in ("className", "status", "is_savepoint", "checkpoint_type", "discarded")} == {
        "className": "completed", "status": "COMPLETED", "is_savepoint": False, "checkpoint_type": "CHECKPOINT",
        "discarded": False}
    assert completed["external_path"].startswith("file:") and completed["external_path"].endswith(
        f"/chk-{completed['id']}")
    assert body["history"][0]["id"] >= completed["id"]
    assert all(h["discarded"] for h in body["history"] if h["status"] == "COMPLETED" and h["id"] < completed["id"]
               and not h["is_savepoint"]), "older checkpoints are discarded"


def test_metrics_answer_200_even_for_an_unknown_job(flink: httpx.Client, job_id: str) -> None:
    unknown = json_of(flink.get(f"/jobs/{UNKNOWN_JOB.lower()}/metrics", params={"get": "numRestarts"}))
    assert unknown == []                                                # difference 2
    known = json_of(flink.get(f"/jobs/{job_id}/metrics", params={"get": "numRestarts,fullRestarts,noSuchMetric"}))
    assert isinstance(known, list)
    # Only numRestarts exists in 2.x (fullRestarts is gone); unknown ids are left out. The cache may still
    # be empty right after a submit (difference 1), so [] is a valid answer too.
    assert [m["id"] for m in known] in ([], ["numRestarts"])
    assert all(re.fullmatch(r"\d+", m["value"]) for m in known)


def test_bad_job_id_is_400_with_one_error(flink: httpx.Client) -> None:
    for path in ("/jobs/nothex", "/jobs/nothex/checkpoints", "/jobs/nothex/metrics"):
        error = one_error(flink.get(path), 400)
        assert error.startswith(BAD_REQUEST + 'Cannot resolve path parameter (jobid) from value "nothex".\n\tat ')


def test_unknown_job_is_404_with_a_stack_trace(flink: httpx.Client) -> None:
    graph, stats = "job.AbstractExecutionGraphHandler", "job.checkpoints.AbstractCheckpointStatsHandler"
    for path, handler in (("", graph), ("/exceptions", graph), ("/checkpoints", stats)):
        error = one_error(flink.get(f"/jobs/{UNKNOWN_JOB}{path}"), 404)
        assert error.startswith(f"org.apache.flink.runtime.rest.NotFoundException: Job {UNKNOWN_JOB.lower()} "
                                f"not found\n\tat org.apache.flink.runtime.rest.handler.{handler}."), path


def test_unknown_path_names_the_file(flink: httpx.Client) -> None:
    for path in ("/nosuch", "/v1/nosuch"):
        assert one_error(flink.get(path), 404) == f"Unable to load requested file {path}."
