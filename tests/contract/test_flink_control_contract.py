"""Flink REST calls that change a job (the flink-restarting runbook's steps), asserted the same way on the
simulator and on Flink 2.3.0: the jar in /jars, stop with a savepoint and its trigger, resubmit from that
savepoint, cancel's 409, an unknown jar's 500. Leaves a RUNNING job of the name (restored from the savepoint)."""

from __future__ import annotations

import time
from typing import Any

import httpx

from tests.contract.targets import ENTRY_CLASS, JOB_JAR, Target
from tests.contract.test_flink_contract import completed_checkpoints, json_of, one_error

WAIT_S = 60.0


def wait(read: Any, good: Any, what: str) -> Any:
    deadline = time.monotonic() + WAIT_S
    while not good(value := read()):
        assert time.monotonic() < deadline, f"{what}: last {value!r}"
        time.sleep(0.3)
    return value


def jar_id(flink: httpx.Client) -> str:
    body = json_of(flink.get("/jars"))
    assert isinstance(body, dict) and set(body) == {"address", "files"}
    named = [f for f in body["files"] if f["name"] == JOB_JAR]
    assert named, body
    newest = max(named, key=lambda f: f["uploaded"])
    assert set(newest) == {"id", "name", "uploaded", "entry"} and newest["id"].endswith("_" + JOB_JAR)
    assert newest["entry"] == [{"name": ENTRY_CLASS, "description": None}]
    return str(newest["id"])


def savepoint_status(flink: httpx.Client, jid: str, trigger: str) -> dict[str, Any]:
    body = json_of(flink.get(f"/jobs/{jid}/savepoints/{trigger}"))
    assert isinstance(body, dict) and set(body) == {"status", "operation"}
    return body


def stop(flink: httpx.Client, jid: str) -> str:
    body = json_of(flink.post(f"/jobs/{jid}/stop", json={"drain": False}), 202)
    assert isinstance(body, dict) and set(body) == {"request-id"}
    return str(body["request-id"])


def test_stop_with_savepoint_then_run_the_jar_from_it(target: Target, flink: httpx.Client, job_id: str) -> None:
    jar = jar_id(flink)
    completed_checkpoints(flink, job_id)                 # a checkpoint before the stop, to see it discarded
    trigger = stop(flink, job_id)
    done = wait(lambda: savepoint_status(flink, job_id, trigger), lambda b: b["status"]["id"] == "COMPLETED",
                "the savepoint trigger")
    location = done["operation"]["location"]
    assert set(done["operation"]) == {"location"} and location.startswith("file:") and "/savepoint-" in location
    wait(lambda: json_of(flink.get(f"/jobs/{job_id}"))["state"], lambda s: s == "FINISHED", "the job FINISHED")  # type: ignore[index]

    # Resubmitted at once (the suite's later tests need a RUNNING job), then the details are checked.
    run = json_of(flink.post(f"/jars/{jar}/run", json={"entryClass": ENTRY_CLASS, "programArgsList": target.job_args,
                                                       "parallelism": 1, "savepointPath": location,
                                                       "allowNonRestoredState": False}))
    assert isinstance(run, dict) and set(run) == {"jobid", "applicationId"} and run["jobid"] == run["applicationId"]
    new = str(run["jobid"])
    wait(lambda: json_of(flink.get(f"/jobs/{new}"))["state"], lambda s: s == "RUNNING", "the new job RUNNING")  # type: ignore[index]
    restored = wait(lambda: json_of(flink.get(f"/jobs/{new}/checkpoints"))["latest"]["restored"],  # type: ignore[index]
                    lambda r: r is not None, "latest.restored of the new job")
    assert set(restored) == {"id", "restore_timestamp", "is_savepoint", "external_path"}
    assert (restored["is_savepoint"], restored["external_path"]) == (True, location)

    # The stopped job's statistics show the savepoint a moment after the job is FINISHED (seen: null at first).
    latest = wait(lambda: json_of(flink.get(f"/jobs/{job_id}/checkpoints"))["latest"],  # type: ignore[index]
                  lambda la: la["savepoint"] is not None, "latest.savepoint of the stopped job")
    savepoint = latest["savepoint"]
    assert (savepoint["is_savepoint"], savepoint["checkpoint_type"], savepoint["savepointFormat"],
            savepoint["external_path"], savepoint["discarded"]) == (True, "SYNC_SAVEPOINT", "CANONICAL", location, False)
    assert latest["completed"]["is_savepoint"] is False and latest["completed"]["discarded"] is True

    # A stop of a job that ended is accepted (202); its trigger fails. A cancel of it is a 409.
    again = stop(flink, job_id)
    failed = wait(lambda: savepoint_status(flink, job_id, again), lambda b: b["status"]["id"] == "COMPLETED",
                  "the failing trigger")
    assert set(failed["operation"]) == {"failure-cause"}
    assert set(failed["operation"]["failure-cause"]) >= {"class", "stack-trace"}
    assert one_error(flink.patch(f"/jobs/{job_id}", params={"mode": "cancel"}), 409).startswith(
        "org.apache.flink.runtime.rest.handler.RestHandlerException: Job cancellation failed because the job has "
        "already reached another terminal state (FINISHED).")


def test_run_of_an_unknown_jar_is_500(flink: httpx.Client) -> None:
    body = json_of(flink.post("/jars/nosuch.jar/run", json={}), 500)
    assert isinstance(body, dict) and body["errors"][0] == "Internal server error."
    assert "Jar file" in body["errors"][1] and "nosuch.jar does not exist" in body["errors"][1]
