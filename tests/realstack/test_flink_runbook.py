"""The flink-restarting runbook's steps against the REAL Flink 2.3.0 of scripts/stack, through the emulated
Slack with four-eyes approval: stop with a savepoint and restart from it; cancel and restart from the latest
retained checkpoint; an approval made void because the job changed before it ran. Each test leaves the job
RUNNING and healthy (other real-stack tests assume it). Run with `--realstack`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from bot.sandbox.real_stack import ALICE, BOB, RealStack
from tests.realstack.control import poll
from tests.realstack.test_failures import (
    STEP_TIMEOUT_S,
    ask,
    click_newest,
    incident_root,
    post_alert,
    stack_cli,
    thread,
    wait_reply,
)

pytestmark = pytest.mark.realstack

LIVE = {"INITIALIZING", "CREATED", "RUNNING", "FAILING", "CANCELLING", "RESTARTING", "RECONCILING"}


def flink(real: RealStack, path: str, method: str = "GET") -> Any:
    resp = httpx.request(method, real.env["FLINK_URL"] + path, timeout=10)
    resp.raise_for_status()
    return resp.json()


def jobs_named(real: RealStack) -> list[dict[str, Any]]:
    """Jobs of the stack's job name, newest first."""
    jobs = [j for j in flink(real, "/jobs/overview")["jobs"] if j["name"] == real.job]
    return sorted(jobs, key=lambda j: j["start-time"], reverse=True)


def live_jid(real: RealStack) -> str | None:
    return next((str(j["jid"]) for j in jobs_named(real) if j["state"] in LIVE), None)


def state_of(real: RealStack, jid: str) -> str:
    return str(flink(real, f"/jobs/{jid}")["state"])


def restored_from(real: RealStack, jid: str) -> str | None:
    restored = flink(real, f"/jobs/{jid}/checkpoints")["latest"]["restored"]
    return str(restored["external_path"]) if restored else None


def completed_checkpoint(real: RealStack, jid: str) -> str | None:
    completed = flink(real, f"/jobs/{jid}/checkpoints")["latest"]["completed"]
    return str(completed["external_path"]) if completed else None


@pytest.fixture
def job_running_after(real: RealStack) -> Iterator[None]:
    """After the test: a live job of the name, RUNNING and healthy (resubmitted by the stack if none)."""
    yield
    if live_jid(real) is None:
        stack_cli("job", "submit")
    poll(lambda: real.flink_healthy(), 180, "the Flink job healthy again", interval=3)


def open_incident(real: RealStack) -> tuple[str, str]:
    post_alert(real, "FlinkJobRestarting", {"job_name": real.job, "table": real.table}, {"summary": "restarts"})
    return incident_root(real, "FlinkJobRestarting")


def run_approved(real: RealStack, ts: str, inc: str, step: str, needle: str) -> str:
    """ALICE asks for `step`, BOB approves: the thread line containing `needle`."""
    ask(real, ALICE, f"run {step} {inc}", f"Approval requested for `{step}`")
    click_newest(real, ts, BOB, "approve_step")
    return wait_reply(real, ts, needle, timeout=STEP_TIMEOUT_S)


@pytest.mark.covers_step("flink-restarting", "flink-status")
@pytest.mark.covers_step("flink-restarting", "connector-status")
@pytest.mark.covers_step("flink-restarting", "downstream-logs")
@pytest.mark.covers_step("flink-restarting", "stop-with-savepoint")
@pytest.mark.covers_step("flink-restarting", "restart-from-savepoint")
@pytest.mark.covers_step("flink-restarting", "check-flink")
def test_stop_with_a_savepoint_then_restart_from_it(real: RealStack, job_running_after: None) -> None:
    ts, inc = open_incident(real)
    old = live_jid(real)
    assert old is not None
    real.slack.slash_command(ALICE, f"run flink-status {inc}")
    assert "RUNNING" in wait_reply(real, ts, "(`flink-status`")
    real.slack.slash_command(ALICE, f"run connector-status {inc}")
    assert real.connector in wait_reply(real, ts, "(`connector-status`")
    # No Docker on the local stack: the step says where it looked and why it found nothing.
    real.slack.slash_command(ALICE, f"run downstream-logs {inc}")
    logs = wait_reply(real, ts, "(`downstream-logs`")
    assert "Docker" in logs and ":warning:" in logs, logs

    stopped = run_approved(real, ts, inc, "stop-with-savepoint", "stopped with savepoint")
    found = re.search(r"savepoint `(file:[^`]+)`", stopped)
    assert found and old in stopped and "*FINISHED*" in stopped, stopped
    savepoint = found.group(1)
    assert state_of(real, old) == "FINISHED"
    assert "/savepoints/savepoint-" in savepoint     # the cluster's execution.checkpointing.savepoint-dir

    # One job per name: nothing left to stop now.
    refusal = ask(real, ALICE, f"run stop-with-savepoint {inc}", "Refused")
    assert "no live Flink job named" in refusal

    restarted = run_approved(real, ts, inc, "restart-from-savepoint", "is RUNNING again as")
    new = live_jid(real)
    assert new is not None and new != old and new in restarted
    assert f"restored from its savepoint `{savepoint}`" in restarted
    assert restored_from(real, new) == savepoint, "Flink itself says the new job restored that savepoint"

    real.slack.slash_command(ALICE, f"run check-flink {inc}")
    assert "not healthy" not in wait_reply(real, ts, "(`check-flink`", timeout=STEP_TIMEOUT_S)


@pytest.mark.covers_step("flink-restarting", "cancel-job")
@pytest.mark.covers_step("flink-restarting", "restart-from-savepoint")
def test_cancel_then_restart_from_the_latest_retained_checkpoint(real: RealStack, job_running_after: None) -> None:
    ts, inc = open_incident(real)
    old = live_jid(real)
    assert old is not None
    poll(lambda: completed_checkpoint(real, old), 60, "a completed checkpoint of the running job", interval=1)

    # While the job is live the restart is refused (one job per name).
    assert "still live" in ask(real, ALICE, f"run restart-from-savepoint {inc}", "Refused")

    cancelled = run_approved(real, ts, inc, "cancel-job", "is *CANCELED*")
    assert old in cancelled and state_of(real, old) == "CANCELED"
    checkpoint = completed_checkpoint(real, old)
    assert checkpoint is not None and f"/{old}/chk-" in checkpoint   # retained on cancellation

    restarted = run_approved(real, ts, inc, "restart-from-savepoint", "is RUNNING again as")
    new = live_jid(real)
    assert new is not None and new != old
    assert f"restored from its latest checkpoint `{checkpoint}`" in restarted
    assert restored_from(real, new) == checkpoint


@pytest.mark.covers_step("flink-restarting", "cancel-job")
def test_an_approval_is_void_when_the_job_changed_before_it_ran(real: RealStack, job_running_after: None) -> None:
    ts, inc = open_incident(real)
    old = live_jid(real)
    assert old is not None
    ask(real, ALICE, f"run cancel-job {inc}", "Approval requested for `cancel-job`")
    flink(real, f"/jobs/{old}?mode=cancel", method="PATCH")       # someone cancels it by hand meanwhile
    poll(lambda: state_of(real, old) == "CANCELED", 60, "the job CANCELED by hand", interval=1)
    click_newest(real, ts, BOB, "approve_step")
    void = wait_reply(real, ts, "is void, it did not run", timeout=STEP_TIMEOUT_S)
    assert "no live Flink job named" in void
    assert not any("is *CANCELED*" in line for line in thread(real, ts)), "the cancel did not run"
