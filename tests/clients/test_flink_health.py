"""Flink health from state, timestamps and the exception history, on the real Flink 2.3 answers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bot.clients.flink_health import judge
from bot.clients.flink_parse import JobHealth, parse_last_exception
from bot.runbooks.actions_read import cannot_recover

CAPTURES = Path(__file__).resolve().parents[1] / "fixtures" / "captures" / "flink"


def load(name: str) -> Any:
    return json.loads((CAPTURES / name).read_text())


def test_a_restart_loop_is_not_healthy_whatever_numrestarts_says() -> None:
    verdict = judge(load("job_loop.json"), load("exceptions_loop.json"))
    assert not verdict.healthy and verdict.restart_loop
    assert verdict.failures_in_window >= 5
    last = verdict.last_failure
    assert last is not None and last.task_name and "execution #9" in last.task_name
    assert last.endpoint == "localhost:18126"
    assert "restart loop" in verdict.summary()


def test_the_loop_caught_in_a_brief_running_moment_is_still_not_healthy() -> None:
    job = load("job_loop.json")
    job = {**job, "state": "RUNNING", "timestamps": {**job["timestamps"], "RUNNING": job["now"] - 2_000}}
    verdict = judge(job, load("exceptions_loop.json"))
    assert not verdict.healthy and verdict.restart_loop


def test_a_job_running_steadily_is_healthy() -> None:
    verdict = judge(load("job_healthy.json"), load("exceptions_healthy.json"))
    assert verdict.healthy and verdict.last_failure is None
    assert verdict.summary().startswith("RUNNING for")


def test_exhausted_restarts_show_the_task_failure_from_concurrent_exceptions() -> None:
    verdict = judge(load("job_failed.json"), load("exceptions_failed.json"))
    assert verdict.state == "FAILED" and not verdict.healthy
    last = verdict.last_failure
    assert last is not None and last.restarts_exhausted
    assert last.task_name and "execution #2" in last.task_name
    assert last.root_cause and "Unknown field" in last.root_cause         # the schema error itself
    assert "restarts exhausted" in verdict.summary()


def failure_at(ts: int) -> dict[str, object]:
    return {"exceptionName": "java.lang.IllegalStateException", "stacktrace": "unknown column", "timestamp": ts,
            "taskName": "decode-orders (1/1)", "endpoint": "localhost:1", "failureLabels": {},
            "concurrentExceptions": []}


def test_running_again_but_not_long_enough_is_not_yet_healthy() -> None:
    job = load("job_healthy.json")
    job = {**job, "timestamps": {**job["timestamps"], "RUNNING": job["now"] - 5_000}}
    history = {"exceptionHistory": {"entries": [failure_at(job["now"] - 6_000)], "truncated": False}}
    verdict = judge(job, history)
    assert not verdict.healthy and "not stable yet" in verdict.summary()
    assert judge(job, history, stable_s=4).healthy


def test_a_job_that_never_failed_is_healthy_from_its_first_running() -> None:
    job = load("job_healthy.json")
    job = {**job, "timestamps": {**job["timestamps"], "RUNNING": job["now"] - 1_000}}
    assert judge(job, {"exceptionHistory": {"entries": [], "truncated": False}}).healthy


def health(job: str, exceptions: str) -> JobHealth:
    verdict = judge(load(job), load(exceptions))
    return JobHealth("0" * 32, "cdc-orders-enrich", verdict.state, None,
                     parse_last_exception(load(exceptions)), None, verdict)


def test_check_flink_stops_waiting_for_a_job_out_of_restarts() -> None:
    # On the real stack check-flink polled a FAILED job for its whole 90 s window before saying so.
    assert cannot_recover(health("job_failed.json", "exceptions_failed.json"))


def test_check_flink_keeps_waiting_for_a_looping_or_healthy_job() -> None:
    assert not cannot_recover(health("job_loop.json", "exceptions_loop.json"))
    assert not cannot_recover(health("job_healthy.json", "exceptions_healthy.json"))
