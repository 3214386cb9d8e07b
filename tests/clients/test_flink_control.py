"""FlinkControl (stop with a savepoint, cancel, resubmit a jar) against the Flink simulator over real HTTP,
and what the real Flink 2.3.0 answered for the same calls (tests/fixtures/captures/flink/control_*.json)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.clients.flink_control import FlinkControl, SavepointStatus
from bot.clients.flink_models import CheckpointingStatistics
from bot.errors import BackendError, NotFoundError, UserInputError
from bot.sandbox.flink_sim import FlinkSimulator

CAPTURES = Path(__file__).resolve().parents[1] / "fixtures" / "captures" / "flink"
JOB = "cdc-orders-enrich"
ENTRY = "com.dataflow.flink.CdcOrdersEnrichJob"


@pytest.fixture(scope="module")
def server() -> Iterator[FlinkSimulator]:
    with FlinkSimulator(api_version="2.x", restart_delay=3600.0) as flink:
        yield flink


@pytest.fixture
def sim(server: FlinkSimulator) -> FlinkSimulator:
    server.reset()
    return server


@pytest.fixture
def client(sim: FlinkSimulator) -> Iterator[FlinkControl]:
    with FlinkControl(sim.url, timeout=2.0, poll_seconds=0.01) as flink:   # the simulator answers at once
        yield flink


def capture(name: str) -> object:
    return json.loads((CAPTURES / name).read_text())


def test_stop_with_savepoint_polls_the_trigger_until_completed(sim: FlinkSimulator, client: FlinkControl) -> None:
    jid = sim.add_job(JOB)
    trigger = client.stop_with_savepoint(jid, None)
    path = client.wait_savepoint(jid, trigger, timeout=5)
    assert path.startswith("file:/flink/savepoints/savepoint-" + jid[:6])
    assert client.job_state(jid).state == "FINISHED"
    reads = [p for m, p in sim.requests if p == f"/jobs/{jid}/savepoints/{trigger}"]
    assert len(reads) == 2, "IN_PROGRESS once, then COMPLETED"
    latest = client.checkpoints(jid).latest
    assert latest.savepoint is not None and latest.savepoint.external_path == path and latest.savepoint.is_savepoint


def test_a_stop_of_a_job_that_ended_fails_in_its_trigger_not_in_its_status_code(
        sim: FlinkSimulator, client: FlinkControl) -> None:
    jid = sim.add_job(JOB, state="FINISHED")
    trigger = client.stop_with_savepoint(jid, "file:/tmp/sp")   # 202, as the real one answers
    with pytest.raises(BackendError, match=r"the savepoint failed \(java.util.concurrent.CompletionException\)"):
        client.wait_savepoint(jid, trigger, timeout=5)


def test_run_a_jar_from_a_savepoint_then_it_reports_what_it_restored(sim: FlinkSimulator,
                                                                     client: FlinkControl) -> None:
    old = sim.add_job(JOB)
    path = client.wait_savepoint(old, client.stop_with_savepoint(old, None), timeout=5)
    jar = sim.control.upload_jar("cdc-orders-job.jar")
    assert [(j.id, j.name) for j in client.jars()] == [(jar, "cdc-orders-job.jar")]
    new = client.run_jar(jar, ENTRY, ["--job-name", JOB], 1, path)
    assert new != old and client.wait_state(new, frozenset({"RUNNING"}), timeout=5).state == "RUNNING"
    restored = client.checkpoints(new).latest.restored
    assert restored is not None and (restored.external_path, restored.is_savepoint) == (path, True)
    assert sim.control.submissions == [{"entryClass": ENTRY, "programArgsList": ["--job-name", JOB],
                                        "allowNonRestoredState": False, "parallelism": 1, "savepointPath": path}]


def test_run_from_a_path_flink_does_not_have_is_a_400_and_leaves_a_failed_job(
        sim: FlinkSimulator, client: FlinkControl) -> None:
    jar = sim.control.upload_jar("cdc-orders-job.jar")
    with pytest.raises(BackendError, match=r"HTTP 400: .*Could not execute application\."):
        client.run_jar(jar, ENTRY, ["--job-name", JOB], None, "file:/nonexistent/sp")
    assert [(j.name, j.state) for j in client.jobs()] == [(JOB, "FAILED")]
    with pytest.raises(BackendError, match=r"HTTP 500: Internal server error\."):
        client.run_jar("nosuch.jar", ENTRY, [], None, None)


def test_cancel_then_a_second_cancel_is_409(sim: FlinkSimulator, client: FlinkControl) -> None:
    jid = sim.add_job(JOB)
    client.cancel(jid)
    assert client.wait_state(jid, frozenset({"CANCELED"}), timeout=5).state == "CANCELED"
    assert client.live_jobs(JOB) == []
    with pytest.raises(BackendError, match=r"HTTP 409: .*already reached another terminal state"):
        client.cancel(jid)


def test_unknown_and_malformed_job_ids(sim: FlinkSimulator, client: FlinkControl) -> None:
    with pytest.raises(NotFoundError):
        client.job_state("0" * 32)
    with pytest.raises(UserInputError, match="not a Flink job id"):
        client.cancel("../jars")


def test_live_jobs_are_newest_first_and_skip_terminal_ones(sim: FlinkSimulator, client: FlinkControl) -> None:
    sim.add_job(JOB, state="CANCELED")
    older = sim.add_job(JOB, state="RESTARTING")
    newer = sim.add_job(JOB)
    assert [j.jid for j in client.live_jobs(JOB)] == [newer, older]


# -- the real answers ---------------------------------------------------------------------------------
def test_real_savepoint_trigger_answers() -> None:
    progress = SavepointStatus.model_validate(capture("control_savepoint_in_progress.json"))
    done = SavepointStatus.model_validate(capture("control_savepoint_completed.json"))
    failed = SavepointStatus.model_validate(capture("control_savepoint_failed.json"))
    assert (progress.done, progress.failure()) == (False, None)
    assert done.done and done.failure() is None and done.operation and done.operation.location
    assert failed.done and failed.failure() == "java.util.concurrent.CompletionException"


def test_real_checkpoints_after_a_stop_discard_the_last_checkpoint_and_keep_the_savepoint() -> None:
    stopped = CheckpointingStatistics.model_validate(capture("control_checkpoints_stopped.json")).latest
    assert stopped.completed is not None and stopped.completed.discarded is True
    assert stopped.savepoint is not None and stopped.savepoint.is_savepoint and stopped.savepoint.discarded is False
    cancelled = CheckpointingStatistics.model_validate(capture("control_checkpoints_restored_cancelled.json")).latest
    assert cancelled.completed is not None and cancelled.completed.discarded is False   # retained on cancel
    assert cancelled.restored is not None and cancelled.restored.is_savepoint
