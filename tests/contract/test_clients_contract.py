"""The bot's own clients (ConnectClient, FlinkClient) and its discovery, run against both systems: they
parse every answer and draw the same conclusions. Nothing here is mocked."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest

from bot.clients.connect import ConnectClient, ConnectorNotRunning
from bot.clients.flink import FlinkClient
from bot.config import Settings
from bot.discovery import discover_connectors, discover_jobs
from bot.errors import BackendError, NotFoundError
from tests.contract.targets import PROBE_PASSWORD, PROBE_TRACE, Target

UNKNOWN_JOB = "abcdef0123456789abcdef0123456789"
# The real job may have failed in an earlier run of this suite (its history keeps that); the suite's own
# recovery waits until it has run 10 s with no failure, so 5 s is always met here.
STABLE_S = 5.0


@pytest.fixture
def connect_client(target: Target) -> Iterator[ConnectClient]:
    with ConnectClient(target.connect_url, timeout=10) as client:
        yield client


@pytest.fixture
def flink_client(target: Target) -> Iterator[FlinkClient]:
    with FlinkClient(target.flink_url, timeout=10, stable_seconds=STABLE_S) as client:
        yield client


def settings_for(target: Target) -> Settings:
    return Settings(_env_file=None, connect_url=target.connect_url, flink_url=target.flink_url)


# -- Kafka Connect ---------------------------------------------------------------------------------------
def test_connect_client_reads_a_healthy_connector(target: Target, connect_client: ConnectClient) -> None:
    assert connect_client.ping() == "3.9.0"
    assert target.connector in connect_client.list_connectors()
    status = connect_client.status(target.connector)
    assert status.is_healthy and status.type == "source"
    assert [(t.id, t.state, t.trace) for t in status.tasks] == [(0, "RUNNING", None)]
    assert connect_client.statuses()[target.connector] == status
    restarted = connect_client.restart(target.connector)   # includeTasks + onlyFailed: nothing to restart
    assert restarted is not None and restarted.is_healthy


def test_connect_client_unknown_connector_is_not_found(connect_client: ConnectClient) -> None:
    with pytest.raises(NotFoundError):
        connect_client.status("nosuch")
    with pytest.raises(NotFoundError):
        connect_client.restart("nosuch")


def test_connect_client_failed_task_restart_and_fail_again(connect_client: ConnectClient, probe: str) -> None:
    status = connect_client.status(probe)
    assert (status.state, status.type, [t.id for t in status.failed_tasks]) == ("RUNNING", "sink", [0])
    assert (status.failed_tasks[0].trace or "").splitlines()[0] == PROBE_TRACE.splitlines()[0]
    restarted = connect_client.restart(probe)
    assert restarted is not None and [t.state for t in restarted.tasks] == ["RESTARTING"]
    with pytest.raises(ConnectorNotRunning, match="failed again after restart"):
        connect_client.wait_until_running(probe, timeout=15, interval=0.1, restarted=restarted)


def test_connect_client_pause_then_one_task_restarted_while_paused(connect_client: ConnectClient, probe: str) -> None:
    connect_client.pause(probe)
    paused = connect_client.wait_until_paused(probe, timeout=15, interval=0.1)
    assert paused.is_paused and [t.state for t in paused.tasks] == ["FAILED"]   # Connect does not pause it
    connect_client.restart_task(probe, 0)
    back = connect_client.wait_for_task(probe, 0, "PAUSED", timeout=15, interval=0.1)
    assert back.is_paused and back.task(0) == replace(paused.tasks[0], state="PAUSED", trace=None)
    connect_client.resume(probe)


def test_connect_client_task_restart_that_fails_again_and_an_unknown_task(
        connect_client: ConnectClient, probe: str) -> None:
    connect_client.restart_task(probe, 0)
    with pytest.raises(ConnectorNotRunning):     # "failed again", or still FAILED when the wait gives up
        connect_client.wait_for_task(probe, 0, "RUNNING", timeout=5, interval=0.1)
    with pytest.raises(BackendError, match=f"HTTP 404: Task {probe}-5 not found"):
        connect_client.restart_task(probe, 5)   # on the probe: it leaves a phantom task (see the REST contract)


def test_capture_configs_and_discovery_never_hold_the_password(
        target: Target, connect_client: ConnectClient, probe: str) -> None:
    """Connect returns `database.password` in plain text (difference 11); what the bot builds from it must
    not carry it (nor the CDC connector's configured value)."""
    infos = connect_client.capture_configs()
    assert {target.connector, probe} <= set(infos)
    secrets = (PROBE_PASSWORD, target.connector_password)
    dumped = repr(infos) + "".join(info.model_dump_json() for info in infos.values())
    assert not any(secret in dumped for secret in secrets)
    captures, note = discover_connectors(settings_for(target), timeout=10)
    assert note == "" and captures is not None
    by_name = {c.name: c for c in captures}
    cdc = by_name[target.connector]
    assert (cdc.cdc_source, cdc.topic_prefix, cdc.table_include) == (True, "dbserver1", ("oltp.orders",))
    assert cdc.captures("oltp.orders") and not cdc.captures("oltp.customers")
    assert by_name[probe].sink_topics == (target.cdc_topic,)
    shown = repr(captures) + "\n".join(c.describe() for c in captures)
    assert not any(secret in shown for secret in secrets)


# -- Flink -----------------------------------------------------------------------------------------------
def test_flink_client_judges_the_job_healthy(target: Target, flink_client: FlinkClient) -> None:
    assert flink_client.ping() == "2.3.0"
    named = [j for j in flink_client.jobs() if j.name == target.job_name]
    assert named and named[0].state == "RUNNING"
    health = flink_client.job_health(target.job_name)
    assert (health.name, health.state, health.healthy) == (target.job_name, "RUNNING", True)
    assert health.verdict is not None and health.verdict.summary().startswith("RUNNING for ")
    # The job checkpoints (every 5 s on the real stack): a completed one unless it was just (re)submitted.
    assert health.last_checkpoint is None or health.last_checkpoint.status == "COMPLETED"
    assert health.num_restarts is None or health.num_restarts >= 0
    by_id = flink_client.job_health(health.jid)
    assert (by_id.jid, by_id.name, by_id.state) == (health.jid, target.job_name, "RUNNING")
    assert [j.name for j in flink_client.find_jobs([target.job_name, "no-such-job"])] == [target.job_name]


def test_flink_client_unknown_job_is_not_found(flink_client: FlinkClient) -> None:
    with pytest.raises(NotFoundError):
        flink_client.job_health("no-such-job")
    with pytest.raises(NotFoundError):
        flink_client.job_health(UNKNOWN_JOB)


def test_discovery_lists_the_job(target: Target) -> None:
    jobs, note = discover_jobs(settings_for(target), timeout=10)
    assert note == "" and jobs is not None
    assert any(j.name == target.job_name and j.state == "RUNNING" for j in jobs)
