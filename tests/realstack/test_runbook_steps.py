"""Runbook steps end to end on the REAL pipeline, driven through the emulated Slack as the on-call engineer
would: `/dataflow run <step> INC-n`, a second person approves, the bot acts on the real Kafka Connect,
MariaDB, Flink and Prometheus, and the thread says what happened. Each test carries a covers_step mark for
every step it runs (tests/runbooks/test_step_coverage.py checks every step has one)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from bot.pipeline import topic_prefixes
from bot.sandbox.real_stack import ALICE, BOB, DRIFT_COLUMN, RealStack
from tests.realstack.control import poll
from tests.realstack.test_failures import (
    FAIL_TIMEOUT_S,
    STEP_TIMEOUT_S,
    ask,
    click_newest,
    incident_root,
    post_alert,
    thread,
    wait_reply,
)

pytestmark = pytest.mark.realstack


@dataclass
class Incident:
    real: RealStack
    ts: str
    id: str

    def read(self, step: str) -> str:
        """Run a read step; its reply in the thread."""
        seen = len(thread(self.real, self.ts))
        self.real.slack.slash_command(ALICE, f"run {step} {self.id}")
        return wait_reply(self.real, self.ts, f"(`{step}`, by <@{ALICE}>)", timeout=STEP_TIMEOUT_S, after=seen)

    def approved(self, step: str, done: str, *args: str) -> str:
        """Ask for a mutating step (Alice), approve it (Bob); the thread's line that says `done`."""
        seen = len(thread(self.real, self.ts))
        ask(self.real, ALICE, " ".join(["run", step, *args, self.id]), f"Approval requested for `{step}`")
        click_newest(self.real, self.ts, BOB, "approve_step")
        return wait_reply(self.real, self.ts, done, timeout=STEP_TIMEOUT_S, after=seen)

    def refused(self, step: str, says: str, *args: str) -> str:
        return ask(self.real, ALICE, " ".join(["run", step, *args, self.id]), says)


def open_incident(real: RealStack, alertname: str, labels: dict[str, str]) -> Incident:
    post_alert(real, alertname, labels, {"summary": f"{alertname} (runbook steps test)"})
    ts, inc = incident_root(real, alertname)
    # The enrichment done first (its links line comes last): a step's reply is then the first new line
    # that says what the step did, not an enrichment message that mentions the same DDL.
    wait_reply(real, ts, ":link: *Links*", timeout=STEP_TIMEOUT_S)
    return Incident(real, ts, inc)


def status_of(connect_url: str, name: str) -> tuple[str, list[str]]:
    body = httpx.get(f"{connect_url}/connectors/{name}/status", timeout=10).json()
    return body["connector"]["state"], [t["state"] for t in body["tasks"]]


# -- connector-failed, on a connector of its own -------------------------------------------------------------
@dataclass
class SinkProbe:
    name: str
    folder: Path


@pytest.fixture
def sink_probe(stack_env: dict[str, str], tmp_path: Path) -> Iterator[SinkProbe]:
    """A FileStreamSink reading the CDC topic into a folder that does not exist yet: its task FAILED at start
    (as the contract probe's), and it can run once the folder is made. Made before the bot starts (the bot
    discovers connectors once, at its first incident), deleted afterwards."""
    probe = SinkProbe("steps-probe", tmp_path / "sink-out")
    config = {"connector.class": "org.apache.kafka.connect.file.FileStreamSinkConnector", "tasks.max": "1",
              "topics": stack_env["CDC_TOPIC"], "file": str(probe.folder / "out.txt")}
    url = f"{stack_env['CONNECT_URL']}/connectors/{probe.name}"
    httpx.put(f"{url}/config", json=config, timeout=30).raise_for_status()
    try:
        poll(lambda: status_of(stack_env["CONNECT_URL"], probe.name) == ("RUNNING", ["FAILED"]), FAIL_TIMEOUT_S,
             "the probe's task FAILED")
        yield probe
    finally:
        httpx.delete(url, timeout=30)


@pytest.mark.covers_step("connector-failed", "connector-status")
@pytest.mark.covers_step("connector-failed", "connect-logs")
@pytest.mark.covers_step("connector-failed", "pause-connector")
@pytest.mark.covers_step("connector-failed", "restart-task")
@pytest.mark.covers_step("connector-failed", "resume-connector")
@pytest.mark.covers_step("connector-failed", "check-connector")
@pytest.mark.covers_step("connector-failed", "restart-connector")
def test_connector_failed_pause_restart_the_task_resume(sink_probe: SinkProbe, real: RealStack) -> None:
    name = sink_probe.name
    inc = open_incident(real, "ConnectorTaskFailed", {"connector": name})

    status = inc.read("connector-status")
    assert f"`{name}`" in status and "task 0: *FAILED*" in status and "Couldn't find or create file" in status
    # No Docker on the local stack: the step says where it looked and why it found nothing.
    logs = inc.read("connect-logs")
    assert "Docker" in logs and ":warning:" in logs, logs

    paused = inc.approved("pause-connector", "is PAUSED")
    assert "connector PAUSED, task 0 FAILED" in paused          # Connect does not pause a FAILED task
    assert status_of(real.env['CONNECT_URL'], name) == ("PAUSED", ["FAILED"])
    again = inc.refused("pause-connector", "is PAUSED already")
    assert f"`{name}` is PAUSED already (connector PAUSED, task 0 FAILED): nothing to pause" in again

    sink_probe.folder.mkdir()                                     # the cause fixed: the task can start now
    restarted = inc.approved("restart-task", "task 0 is PAUSED again")
    assert "task 0 PAUSED" in restarted and status_of(real.env['CONNECT_URL'], name) == ("PAUSED", ["PAUSED"])
    nothing = inc.refused("restart-task", "nothing to restart")
    assert f"No task of `{name}` is FAILED" in nothing

    resumed = inc.approved("resume-connector", "is RUNNING again")
    assert "connector RUNNING, task 0 RUNNING" in resumed
    check = inc.read("check-connector")
    assert f":white_check_mark: `{name}`: connector RUNNING, task 0 RUNNING" in check
    # restart-connector of a healthy connector restarts nothing (onlyFailed) and confirms it RUNNING.
    assert "connector RUNNING, task 0 RUNNING" in inc.approved("restart-connector", "is RUNNING again")


# -- schema-drift: the steps the seed drill (test_drift.py) does not run ----------------------------------
@pytest.mark.covers_step("schema-drift", "connector-status")
@pytest.mark.covers_step("schema-drift", "connect-logs")
@pytest.mark.covers_step("schema-drift", "schema-diff")
@pytest.mark.covers_step("schema-drift", "flink-status")
@pytest.mark.covers_step("schema-drift", "downstream-logs")
@pytest.mark.covers_step("schema-drift", "drill-create")
@pytest.mark.covers_step("schema-drift", "drill-revert")
@pytest.mark.covers_step("schema-drift", "accept-drift")
@pytest.mark.covers_step("schema-drift", "restart-connector")
@pytest.mark.covers_step("schema-drift", "resume-connector")
def test_schema_drift_reads_the_drill_and_the_remediation_steps(real: RealStack) -> None:
    real.stop_traffic()    # no row with the drill column reaches the strict Flink job while it exists
    inc = open_incident(real, "SchemaDriftDetected", {"table": real.table})

    assert f"`{real.connector}`" in inc.read("connector-status") and "RUNNING" in inc.read("connector-status")
    # The local stack's pipeline names no log service (there is no Docker): the step says what to pass.
    no_service = inc.refused("connect-logs", "needs a service")
    assert "service=&lt;value&gt;" in no_service
    assert "Docker" in inc.read("downstream-logs")
    assert real.table in inc.read("schema-diff")
    assert real.job in inc.read("flink-status")

    created = inc.approved("drill-create", f"ADD COLUMN `{DRIFT_COLUMN}`", "confirm", DRIFT_COLUMN)
    assert ":white_check_mark: ran" in created and DRIFT_COLUMN in real.columns()
    assert DRIFT_COLUMN in inc.read("schema-diff")
    inc.approved("drill-revert", f"DROP COLUMN `{DRIFT_COLUMN}`", "confirm", DRIFT_COLUMN)
    assert DRIFT_COLUMN not in real.columns()

    accepted = inc.approved("accept-drift", "*accept-drift*")
    assert ":white_check_mark:" in accepted and real.table in accepted
    # The schema is right again (the pre-check says so): the restart and the resume find it RUNNING.
    assert f"`{real.connector}` is RUNNING again" in inc.approved("restart-connector", "is RUNNING again")
    assert f"`{real.connector}` is RUNNING again" in inc.approved("resume-connector", "is RUNNING again")


# -- lag: the alert as the rule makes it, the graph and lag line, and every step ---------------------------
@pytest.mark.covers_step("lag", "lag-now")
@pytest.mark.covers_step("lag", "connector-status")
@pytest.mark.covers_step("lag", "flink-status")
@pytest.mark.covers_step("lag", "connect-logs")
@pytest.mark.covers_step("lag", "check-lag")
def test_lag_alert_joins_the_pipeline_gets_a_graph_and_runs_the_lag_steps(real: RealStack) -> None:
    (prefix,) = topic_prefixes((real.topic,))
    # DebeziumLagHigh's labels as monitoring/prometheus/rules make them: a topic.prefix, no connector.
    inc = open_incident(real, "DebeziumLagHigh", {"name": prefix, "topic_prefix": prefix})

    # The enrichment asks the stack's real Prometheus (PROMETHEUS_URL): a graph and the lag lines.
    caption = wait_reply(real, inc.ts, "*Graph*", timeout=STEP_TIMEOUT_S)
    assert "*Debezium lag*" in caption and "*Flink consumer lag*" in caption and "PROMETHEUS_URL" not in caption
    # This stack has no Connect JMX exporter: Prometheus itself was asked and has no Debezium series.
    assert "Prometheus has no `debezium_metrics_millisecondsbehindsource` series" in caption, caption
    png = real.slack.wait_for(lambda: next((f["content"] for f in real.slack.files()
                                            if f.get("name") == f"{inc.id}-graph.png" and f.get("content")), None),
                              timeout=STEP_TIMEOUT_S, what="the graph image")
    assert bytes(png).startswith(b"\x89PNG")
    connect = wait_reply(real, inc.ts, "*Kafka Connect*")
    assert f"`{real.connector}`" in connect          # joined the connector's pipeline through its prefix

    for step in ("lag-now", "check-lag"):
        lag = inc.read(step)
        assert "*Debezium lag*" in lag and "*Flink consumer lag*" in lag
    assert f"`{real.connector}`" in inc.read("connector-status")
    assert real.job in inc.read("flink-status")
    assert "service=&lt;value&gt;" in inc.refused("connect-logs", "needs a service")
