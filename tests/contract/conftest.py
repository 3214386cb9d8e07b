"""Every contract test runs twice: against our simulators ("sim") and the local real stack ("real", only
with --realstack; then a stack that cannot come up fails the tests, see tests/conftest.py)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import AbstractContextManager

import httpx
import pytest

from tests.contract.real_pipeline import real
from tests.contract.targets import PROBE_NAME, Target, probe_config, simulated

PROBE_TIMEOUT_S = 20.0


@pytest.fixture(scope="session", params=["sim", pytest.param("real", marks=pytest.mark.realstack)])
def target(request: pytest.FixtureRequest) -> Iterator[Target]:
    systems: AbstractContextManager[Target] = simulated() if request.param == "sim" else real()
    with systems as system:
        yield system


@pytest.fixture
def connect(target: Target) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=target.connect_url, timeout=10) as client:
        yield client


@pytest.fixture
def flink(target: Target) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=target.flink_url, timeout=10) as client:
        yield client


@pytest.fixture
def job_id(target: Target, flink: httpx.Client) -> str:
    """The id of the newest job named target.job_name."""
    jobs = [j for j in flink.get("/jobs/overview").json()["jobs"] if j["name"] == target.job_name]
    assert jobs, f"no Flink job named {target.job_name}"
    return str(max(jobs, key=lambda j: j["start-time"])["jid"])


def task_states(connect: httpx.Client, name: str) -> list[str]:
    return [t["state"] for t in connect.get(f"/connectors/{name}/status").json()["tasks"]]


@pytest.fixture
def probe(target: Target, connect: httpx.Client) -> Iterator[str]:
    """A throwaway FileStreamSink connector whose task is FAILED; deleted afterwards (the worker is left
    as it was: the probe never reaches the broker, its task fails before its first poll)."""
    created = connect.put(f"/connectors/{PROBE_NAME}/config", json=probe_config(target.cdc_topic))
    assert created.status_code == 201, created.text
    assert created.json() == {"name": PROBE_NAME, "config": {**probe_config(target.cdc_topic), "name": PROBE_NAME},
                              "tasks": [{"connector": PROBE_NAME, "task": 0}], "type": "sink"}
    try:
        target.after_probe_created(PROBE_NAME)
        deadline = time.monotonic() + PROBE_TIMEOUT_S
        while task_states(connect, PROBE_NAME) != ["FAILED"]:
            assert time.monotonic() < deadline, f"probe task not FAILED: {task_states(connect, PROBE_NAME)}"
            time.sleep(0.2)
        yield PROBE_NAME
    finally:
        deleted = connect.delete(f"/connectors/{PROBE_NAME}")
        assert deleted.status_code == 204, deleted.text
