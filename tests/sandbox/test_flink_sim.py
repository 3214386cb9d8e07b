"""The Flink simulator over real HTTP: shapes, lazy restarts, errors, fault injection, Prometheus."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from bot.sandbox.flink_sim import FlinkSimulator

TRACE = "org.apache.flink.util.FlinkRuntimeException: Failed to deserialize\n\tat org.x.Y.z(Y.java:1)"
EXC = "org.apache.flink.util.FlinkRuntimeException"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_741_080_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def shared_clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="module")
def server(shared_clock: FakeClock) -> Iterator[FlinkSimulator]:
    # One server for the module (stopping one costs a 0.5 s poll); each test resets its state.
    with FlinkSimulator(restart_delay=10.0, clock=shared_clock) as flink:
        yield flink


@pytest.fixture
def clock(shared_clock: FakeClock) -> FakeClock:
    return shared_clock


@pytest.fixture
def sim(server: FlinkSimulator) -> FlinkSimulator:
    server.reset()
    return server


@pytest.fixture
def http(sim: FlinkSimulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sim.url) as client:
        yield client


def restarts(http: httpx.Client, jid: str) -> str:
    return http.get(f"/jobs/{jid}/metrics", params={"get": "numRestarts"}).json()[0]["value"]


def test_jobs_listing_with_and_without_v1_prefix(sim: FlinkSimulator, http: httpx.Client) -> None:
    jid = sim.add_job("orders-enrichment")
    assert re.fullmatch(r"[0-9a-f]{32}", jid)
    assert http.get("/jobs").json() == {"jobs": [{"id": jid, "status": "RUNNING"}]}
    assert http.get("/v1/jobs").json() == http.get("/jobs").json()
    entry = http.get("/v1/jobs/overview").json()["jobs"][0]
    assert (entry["jid"], entry["name"], entry["state"], entry["end-time"]) == (
        jid, "orders-enrichment", "RUNNING", -1)
    assert entry["tasks"]["running"] == 1
    details = http.get(f"/jobs/{jid}").json()
    assert details["job-type"] == "STREAMING" and details["vertices"][0]["status"] == "RUNNING"
    assert http.get("/overview").json()["flink-version"] == "1.18.1"


def test_fail_and_restart_goes_running_after_the_delay(
        sim: FlinkSimulator, http: httpx.Client, clock: FakeClock) -> None:
    jid = sim.add_job("orders-enrichment")
    sim.fail_and_restart("orders-enrichment", EXC, TRACE)
    assert http.get(f"/jobs/{jid}").json()["state"] == "RESTARTING"
    assert restarts(http, jid) == "1"
    clock.now += 10
    assert http.get(f"/jobs/{jid}").json()["state"] == "RUNNING"
    assert restarts(http, jid) == "1"


def test_health_check_keeps_the_job_failing_and_restarts_climbing(
        sim: FlinkSimulator, http: httpx.Client, clock: FakeClock) -> None:
    broken = {"orders-enrichment": "connector mysql-oltp-orders is FAILED"}
    sim.health_check = broken.get
    jid = sim.add_job("orders-enrichment")
    sim.fail_and_restart(jid, EXC, TRACE, task_name="Source: cdc-orders (1/1)")
    for expected in ("2", "3"):
        clock.now += 10
        assert http.get(f"/jobs/{jid}").json()["state"] == "RESTARTING"
        assert restarts(http, jid) == expected
    newest = http.get(f"/jobs/{jid}/exceptions").json()["exceptionHistory"]["entries"][0]
    assert "connector mysql-oltp-orders is FAILED" in newest["stacktrace"]
    assert newest["taskName"] == "Source: cdc-orders (1/1)"
    broken.clear()
    clock.now += 10
    assert http.get(f"/jobs/{jid}").json()["state"] == "RUNNING"


@pytest.mark.parametrize("api_version", ["1.x", "2.x"])
def test_exception_shapes_per_version(api_version: str, clock: FakeClock) -> None:
    with FlinkSimulator(api_version=api_version, clock=clock) as sim:
        jid = sim.add_job("orders-enrichment")
        for n in range(3):
            clock.now += 1
            sim.fail_and_restart(jid, EXC, f"{EXC}: failure {n}")
        body = httpx.get(f"{sim.url}/jobs/{jid}/exceptions", params={"maxExceptions": "2"}).json()
    history = body["exceptionHistory"]
    assert history["truncated"] is True
    assert [e["stacktrace"] for e in history["entries"]] == [f"{EXC}: failure 2", f"{EXC}: failure 1"]
    legacy_keys = {"root-exception", "timestamp", "all-exceptions", "truncated"}
    if api_version == "1.x":
        assert legacy_keys <= body.keys() and body["root-exception"] == f"{EXC}: failure 2"
    else:
        assert set(body) == {"exceptionHistory"}


def test_metrics_are_strings_and_unknown_ids_are_omitted(sim: FlinkSimulator, http: httpx.Client) -> None:
    jid = sim.add_job("orders-enrichment")
    sim.fail_and_restart(jid, EXC, TRACE)
    got = http.get(f"/jobs/{jid}/metrics", params={"get": "numRestarts,noSuchMetric,fullRestarts"}).json()
    assert got == [{"id": "numRestarts", "value": "1"}, {"id": "fullRestarts", "value": "1"}]
    ids = {m["id"] for m in http.get(f"/jobs/{jid}/metrics").json()}
    assert {"numRestarts", "uptime"} <= ids


def test_checkpoint_statistics(sim: FlinkSimulator, http: httpx.Client) -> None:
    jid = sim.add_job("orders-enrichment")
    empty = http.get(f"/jobs/{jid}/checkpoints").json()
    assert empty["latest"]["completed"] is None and empty["counts"]["total"] == 0
    sim.complete_checkpoint(jid, state_size=1000, duration_ms=50)
    second = sim.complete_checkpoint(jid, state_size=2000, duration_ms=70)
    sim.fail_checkpoint(jid, "Checkpoint expired")
    body = http.get(f"/jobs/{jid}/checkpoints").json()
    assert body["counts"] == {"restored": 0, "total": 3, "in_progress": 0, "completed": 2, "failed": 1}
    completed = body["latest"]["completed"]
    assert (completed["id"], completed["status"], completed["state_size"], completed["end_to_end_duration"]) == (
        second, "COMPLETED", 2000, 70)
    assert completed["latest_ack_timestamp"] - completed["trigger_timestamp"] == 70
    assert body["latest"]["failed"]["failure_message"] == "Checkpoint expired"
    assert [c["id"] for c in body["history"]] == [3, 2, 1]


def test_cancel_and_errors(sim: FlinkSimulator, http: httpx.Client) -> None:
    jid = sim.add_job("orders-enrichment")
    assert http.patch(f"/jobs/{jid}", params={"mode": "cancel"}).status_code == 202
    assert http.get(f"/jobs/{jid}").json()["state"] == "CANCELED"
    missing = http.get("/jobs/" + "0" * 32)
    assert missing.status_code == 404 and missing.json()["errors"]
    assert http.get("/jobs/not-a-job-id").status_code == 400
    unknown = http.get("/jobs/x/y/z")
    assert unknown.status_code == 404 and unknown.json() == {"errors": ["Unable to load requested file /jobs/x/y/z."]}
    assert http.get("/v2/jobs").status_code == 404


def test_fault_injection_by_count_and_path(sim: FlinkSimulator, http: httpx.Client) -> None:
    sim.inject(503, "<html>busy</html>", content_type="text/html", times=2)
    sim.inject(500, path="/overview")
    first, second = http.get("/jobs"), http.get("/jobs")
    assert (first.status_code, second.status_code) == (503, 503)
    assert first.headers["content-type"].startswith("text/html")
    assert http.get("/jobs").status_code == 200
    assert http.get("/v1/overview").json() == {"errors": ["Injected failure (HTTP 500)"]}
    assert http.get("/overview").status_code == 200


def test_prometheus_metrics(sim: FlinkSimulator, http: httpx.Client) -> None:
    jid = sim.add_job("orders-enrichment")
    gone = sim.add_job("old-job")
    sim.set_state(gone, "CANCELED")
    sim.fail_and_restart(jid, EXC, TRACE)
    sim.fail_and_restart(jid, EXC, TRACE)
    text = http.get("/metrics").text
    assert (f'flink_jobmanager_job_numRestarts{{job_id="{jid}",job_name="orders-enrichment",'
            f'host="jobmanager"}} 2.0') in text
    assert "# TYPE flink_jobmanager_job_uptime gauge" in text
    assert 'flink_jobmanager_numRunningJobs{host="jobmanager"} 1.0' in text
    assert gone not in text
