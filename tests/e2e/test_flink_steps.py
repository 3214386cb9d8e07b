"""The flink-restarting runbook's mutating steps through Slack: a real bot process, the Slack emulator, the
Flink simulator (2.x shapes), real Redis; approval by another approver, bound to the exact call, re-checked
when it runs."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator

import pytest
import yaml

from bot.sandbox.flink_sim import FlinkSimulator
from bot.sandbox.slack_emulator import SlackEmulator
from tests.e2e.alerting import alert, notification, post
from tests.e2e.test_alert_intake import wait_thread
from tests.e2e.test_runbook import ALICE, BOB, _json, button_message, ephemeral_for, text_in_thread
from tests.harness import CHANNEL, REPO, BotProcess

JOB = "cdc-orders-enrich"
JAR = "cdc-orders-job.jar"
ENTRY = "com.dataflow.flink.CdcOrdersEnrichJob"
STEP_TIMEOUT_S = 30.0


def submit_spec() -> dict[str, object]:
    """The job's flink_submit in config/pipelines.yml (the file the bot reads in these tests)."""
    pipelines = yaml.safe_load((REPO / "config" / "pipelines.yml").read_text())["pipelines"]
    spec: dict[str, object] = next(p for p in pipelines if p["name"] == "orders")["flink_submit"][JOB]
    return spec


@pytest.fixture
def flink() -> Iterator[FlinkSimulator]:
    """A RUNNING job with a completed checkpoint, its jar uploaded."""
    with FlinkSimulator(api_version="2.x") as sim:
        jid = sim.add_job(JOB)
        sim.complete_checkpoint(jid)
        sim.control.upload_jar(JAR, ENTRY)
        yield sim


@pytest.fixture
def incident(start_bot: Callable[..., BotProcess], slack: SlackEmulator, flink: FlinkSimulator) -> BotProcess:
    bot = start_bot(FLINK_URL=flink.url, APPROVERS=f"{ALICE},{BOB}")
    assert post(bot.url, notification(alert("FlinkJobRestarting", job_name=JOB))).status_code == 200
    wait_thread(slack, "*Flink*")
    return bot


def approve(slack: SlackEmulator, step: str) -> str:
    """ALICE asks for `step`, BOB approves; the exact call the approval was bound to."""
    assert slack.slash_command(ALICE, f"run {step}").status_code == 200
    request = button_message(slack, "approve_step")
    slack.click(BOB, CHANNEL, request["ts"], "approve_step")
    return _json(request["blocks"])


def running(flink: FlinkSimulator) -> list[str]:
    return [j.jid for j in flink._jobs_snapshot() if j.name == JOB and j.state == "RUNNING"]


def test_stop_with_a_savepoint_then_restart_from_it(incident: BotProcess, slack: SlackEmulator,
                                                    flink: FlinkSimulator) -> None:
    old = running(flink)[0]
    bound = approve(slack, "stop-with-savepoint")
    assert f"/jobs/{old}/stop" in bound and "drain" in bound
    stopped = text_in_thread(slack, "stopped with savepoint", timeout=STEP_TIMEOUT_S)
    path = re.search(r"savepoint `(file:[^`]+)`", stopped)
    assert path and "*FINISHED*" in stopped and flink.job(old).state == "FINISHED"

    bound = approve(slack, "restart-from-savepoint")
    assert f"/jars/{next(iter(flink.control.jars))}/run" in bound
    restarted = text_in_thread(slack, "is RUNNING again as", timeout=STEP_TIMEOUT_S)
    assert f"restored from its savepoint `{path.group(1)}`" in restarted
    spec = submit_spec()
    assert flink.control.submissions == [{
        "entryClass": spec["entry_class"], "programArgsList": spec["program_args"], "parallelism": spec["parallelism"],
        "savepointPath": path.group(1), "allowNonRestoredState": False}]
    assert len(running(flink)) == 1 and running(flink)[0] != old


def test_cancel_then_restart_from_the_latest_retained_checkpoint(incident: BotProcess, slack: SlackEmulator,
                                                                 flink: FlinkSimulator) -> None:
    old = running(flink)[0]
    refusal = slack.slash_command(ALICE, "run restart-from-savepoint")
    assert refusal.status_code == 200
    assert "still live" in ephemeral_for(slack, ALICE, "Refused")
    assert f"PATCH {flink.url}/jobs/{old}?mode=cancel" in approve(slack, "cancel-job")
    text_in_thread(slack, "is *CANCELED*", timeout=STEP_TIMEOUT_S)
    approve(slack, "restart-from-savepoint")
    restarted = text_in_thread(slack, "is RUNNING again as", timeout=STEP_TIMEOUT_S)
    assert "restored from its latest checkpoint `file:/flink/checkpoints/chk-1`" in restarted
    assert json.dumps(flink.control.submissions[0]["savepointPath"]) == '"file:/flink/checkpoints/chk-1"'


def test_an_approved_stop_is_void_when_the_job_restarts_meanwhile(incident: BotProcess, slack: SlackEmulator,
                                                                  flink: FlinkSimulator) -> None:
    old = running(flink)[0]
    assert slack.slash_command(ALICE, "run stop-with-savepoint").status_code == 200
    request = button_message(slack, "approve_step")
    flink.set_state(old, "RESTARTING")              # the world changed before the approver clicked
    slack.click(BOB, CHANNEL, request["ts"], "approve_step")
    void = text_in_thread(slack, "is void, it did not run", timeout=STEP_TIMEOUT_S)
    assert "is RESTARTING; stop-with-savepoint needs a RUNNING job" in void
    assert not [p for m, p in flink.requests if m == "POST" and p.endswith("/stop")], "no stop was sent"


def test_restart_is_refused_without_the_jar_or_a_retained_checkpoint(incident: BotProcess, slack: SlackEmulator,
                                                                    flink: FlinkSimulator) -> None:
    flink.set_state(running(flink)[0], "CANCELED")
    flink.control.jars.clear()
    slack.slash_command(ALICE, "run restart-from-savepoint")
    assert f"`{JAR}` is not uploaded on the JobManager" in ephemeral_for(slack, ALICE, "Refused")
    flink.control.upload_jar(JAR, ENTRY)
    flink.add_job(JOB, state="FAILED")              # newest job of the name: no checkpoint at all
    slack.slash_command(ALICE, "run restart-from-savepoint")
    assert "has no retained checkpoint or savepoint" in ephemeral_for(slack, ALICE, "no retained")
    assert flink.control.submissions == []
