"""The Flink simulator (2.x) answers with the field names of the real Flink 2.3.0 captures
(tests/fixtures/captures/flink/). tests/contract checks the same against a live Flink; this covers what the
live job cannot show there: completed, failed and restored checkpoints (the real job does not checkpoint)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.sandbox.flink_sim import FlinkSimulator

CAPTURES = Path(__file__).resolve().parents[1] / "fixtures" / "captures" / "flink"
EXC = "java.lang.IllegalStateException"


def capture(name: str) -> Any:
    return json.loads((CAPTURES / name).read_text())


@pytest.fixture(scope="module")
def sim() -> Iterator[FlinkSimulator]:
    with FlinkSimulator(api_version="2.x", restart_delay=0.0) as flink:
        yield flink


@pytest.fixture
def http(sim: FlinkSimulator) -> Iterator[httpx.Client]:
    sim.reset()
    with httpx.Client(base_url=sim.url) as client:
        yield client


def test_config_is_the_captured_one(http: httpx.Client) -> None:
    assert http.get("/config").json() == capture("config.json")


def test_overview_and_job_keys_match_the_captures(sim: FlinkSimulator, http: httpx.Client) -> None:
    jid = sim.add_job("cdc-orders-enrich")
    assert http.get("/overview").json().keys() == capture("overview.json").keys()
    entry = http.get("/jobs/overview").json()["jobs"][0]
    real_entry = capture("jobs_overview.json")["jobs"][0]
    assert set(entry) == set(real_entry) and set(entry["tasks"]) == set(real_entry["tasks"])
    details, real = http.get(f"/jobs/{jid}").json(), capture("job_healthy.json")
    assert set(details) == set(real)
    assert set(details["timestamps"]) == set(real["timestamps"])
    assert set(details["vertices"][0]) == set(real["vertices"][0])
    assert set(details["vertices"][0]["metrics"]) == set(real["vertices"][0]["metrics"])


def test_exception_entry_keys_match_the_captures(sim: FlinkSimulator, http: httpx.Client) -> None:
    jid = sim.add_job("cdc-orders-enrich")
    sim.fail_and_restart(jid, EXC, f"{EXC}: unknown column x in oltp.orders")
    entry = http.get(f"/jobs/{jid}/exceptions").json()["exceptionHistory"]["entries"][0]
    assert set(entry) == set(capture("exceptions_loop.json")["exceptionHistory"]["entries"][0])


def test_checkpoint_entries_carry_class_name_as_captured(sim: FlinkSimulator, http: httpx.Client) -> None:
    """`className` (not `@class`), the same keys for completed, failed and restored checkpoints."""
    jid = sim.add_job("cdc-orders-enrich")
    sim.complete_checkpoint(jid)
    sim.fail_checkpoint(jid)
    sim.fail_and_restart(jid, EXC, f"{EXC}: boom")
    http.get("/overview")                          # the restart (delay 0) is applied on the next request
    ours, real = http.get(f"/jobs/{jid}/checkpoints").json(), capture("checkpoints_failed.json")
    assert set(ours) == set(real) and set(ours["counts"]) == set(real["counts"])
    for kind in ("completed", "failed", "restored"):
        assert set(ours["latest"][kind]) == set(real["latest"][kind]), kind
    assert ours["latest"]["completed"]["className"] == "completed"
    assert ours["latest"]["failed"]["className"] == "failed"
    assert all("@class" not in entry for entry in ours["history"])
    for key, stats in ours["summary"].items():
        assert set(stats) == set(real["summary"][key])
        assert all(isinstance(stats[p], float) for p in ("p50", "p90", "p95", "p99", "p999")), key
