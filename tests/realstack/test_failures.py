"""Failure scenarios against the REAL pipeline (scripts/stack): only Slack is emulated.

Each test breaks one thing for real (a DDL Debezium's parser rejects, a wrong database password, a Flink
job out of restarts, a backend stopped), drives the bot through the emulated Slack like the on-call
engineer would, and checks what the thread says. Each one puts the stack back in a finalizer, so the next
test starts healthy. Run with `--realstack` (see tests/realstack/conftest.py).
"""

from __future__ import annotations

import json
import re
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from bot.clients.flink import FlinkClient
from bot.clients.mysql import connect
from bot.runbooks import restart_safety
from bot.sandbox.real_stack import ALICE, BOB, DRIFT_COLUMN, RealStack
from tests.realstack.control import (
    REPO,
    STACK_PY,
    ensure_streaming,
    poll,
    row_reaches_topic,
    stack,
    stack_dir,
    start_all,
    stop_piece,
)

pytestmark = pytest.mark.realstack

CHANNEL = "C0INCIDENT"
FAIL_TIMEOUT_S = 60.0      # a real failure shows in Connect/Flink within seconds; generous for a loaded CI box
THREAD_TIMEOUT_S = 60.0    # enrichment asks every backend with its own timeout
STEP_TIMEOUT_S = 120.0
PROBE_TIMEOUT_S = 40.0     # two background probes (HEALTH_PROBE_INTERVAL_SECONDS, 15 s) and their timeouts


# -- the world -------------------------------------------------------------------------------------------
def connect_url(real: RealStack) -> str:
    return f"{real.env['CONNECT_URL']}/connectors/{real.connector}"


def connector_status(real: RealStack) -> dict[str, Any]:
    body: dict[str, Any] = httpx.get(connect_url(real) + "/status", timeout=10).json()
    return body


def failed_trace(real: RealStack) -> str | None:
    """The trace of the first FAILED task, or None while none is FAILED."""
    tasks = connector_status(real).get("tasks", [])
    return next((t.get("trace") or "" for t in tasks if t.get("state") == "FAILED"), None)


def stack_cli(*args: str, timeout: float = 240) -> str:
    proc = subprocess.run([sys.executable, str(STACK_PY), *args], cwd=REPO, capture_output=True, text=True,
                          timeout=timeout, check=False)
    assert proc.returncode == 0, f"stack.py {' '.join(args)} failed:\n{(proc.stdout + proc.stderr)[-2000:]}"
    return proc.stdout


def debezium_password() -> str:
    """The connector's real password (the stack's secrets.env); only to prove it never reaches Slack."""
    for line in (stack_dir() / "secrets.env").read_text().splitlines():
        key, _, value = line.partition("=")
        if key.strip().removeprefix("export ") == "MYSQL_DEBEZIUM_PASSWORD":
            return value.strip().strip("'\"")
    raise AssertionError("no MYSQL_DEBEZIUM_PASSWORD in secrets.env")


def put_connector_config(real: RealStack, changes: dict[str, str]) -> None:
    config = httpx.get(connect_url(real) + "/config", timeout=10).json()
    resp = httpx.put(connect_url(real) + "/config", json={**config, **changes}, timeout=30)
    assert resp.status_code in (200, 201), resp.text


def resnapshot_connector(real: RealStack) -> None:
    """What got the connector past the bad DDL on the real stack: stop, forget its offsets, resume (a new
    snapshot from the current binlog position)."""
    for method, path in (("PUT", "/stop"), ("DELETE", "/offsets"), ("PUT", "/resume")):
        if path == "/offsets":
            poll(lambda: connector_status(real)["connector"]["state"] == "STOPPED", 30, "connector STOPPED")
        resp = httpx.request(method, connect_url(real) + path, timeout=30)
        assert resp.status_code < 300, f"{method} {path}: {resp.status_code} {resp.text}"
    poll(lambda: _all_running(connector_status(real)), FAIL_TIMEOUT_S, "connector RUNNING after the snapshot")


def _all_running(status: dict[str, Any]) -> bool:
    states = [status["connector"]["state"], *(t["state"] for t in status.get("tasks", []))]
    return len(states) > 1 and all(s == "RUNNING" for s in states)


# -- Slack, as the on-call engineer sees it --------------------------------------------------------------
def post_alert(real: RealStack, alertname: str, labels: dict[str, str], annotations: dict[str, str],
               status: str = "firing", fingerprint: str | None = None) -> str:
    """POST one alert to the bot's /alerts as Alertmanager would; returns its fingerprint."""
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    alert_labels = {"alertname": alertname, "severity": "critical", **labels}
    fingerprint = fingerprint or secrets.token_hex(8)
    body = {"version": "4", "status": status, "receiver": "dataflow-bot", "truncatedAlerts": 0,
            "groupKey": "{}:" + json.dumps(alert_labels, sort_keys=True), "groupLabels": {"alertname": alertname},
            "commonLabels": alert_labels, "commonAnnotations": annotations, "externalURL": "http://am:9093",
            "alerts": [{"status": status, "labels": alert_labels, "annotations": annotations, "startsAt": now,
                        "endsAt": now if status == "resolved" else "0001-01-01T00:00:00Z",
                        "generatorURL": "http://prometheus:9090/graph", "fingerprint": fingerprint}]}
    resp = httpx.post(real.bot_url + "/alerts", json=body, timeout=10,
                      headers={"Authorization": f"Bearer {real.webhook_token}"})
    assert resp.status_code < 300, resp.text
    return fingerprint


def incident_root(real: RealStack, alertname: str) -> tuple[str, str]:
    """(ts, INC-n) of the incident opened for `alertname` (Alertmanager may open others meanwhile)."""
    def found() -> tuple[str, str] | None:
        for msg in real.slack.messages(CHANNEL):
            text = msg.get("text", "")
            if "INC-" in text and alertname in text:
                return str(msg["ts"]), next(w for w in text.replace("*", " ").split() if w.startswith("INC-"))
        return None

    root: tuple[str, str] = real.slack.wait_for(found, timeout=THREAD_TIMEOUT_S, what=f"the {alertname} incident")
    return root[0], root[1].rstrip(":,")


def thread(real: RealStack, ts: str) -> list[str]:
    return [m.get("text", "") for m in real.slack.replies(CHANNEL, ts)]


def wait_reply(real: RealStack, ts: str, needle: str, timeout: float = THREAD_TIMEOUT_S,
               after: int = 0) -> str:
    """The first reply (from index `after` on) containing `needle`."""
    return str(real.slack.wait_for(lambda: next((t for t in thread(real, ts)[after:] if needle in t), None),
                                   timeout=timeout, what=f"{needle!r} in the thread"))


def command_answers(real: RealStack, user: str) -> list[str]:
    """What the bot told `user` privately: slash-command answers and ephemerals."""
    posts = [str(p.get("text", "")) for p in real.slack.response_posts() if p.get("user") == user]
    return posts + [str(e.get("text", "")) for e in real.slack.ephemerals(user)]


def ask(real: RealStack, user: str, command: str, needle: str, timeout: float = THREAD_TIMEOUT_S) -> str:
    """Run a slash command; the first new private answer containing `needle`."""
    seen = set(command_answers(real, user))
    real.slack.slash_command(user, command)

    def answered() -> str | None:
        return next((t for t in command_answers(real, user) if t not in seen and needle in t), None)

    try:
        return str(real.slack.wait_for(answered, timeout=timeout, what=f"{needle!r} answered to {user}"))
    except AssertionError as exc:   # say what the bot answered instead
        raise AssertionError(f"{exc}\nanswers: {[t for t in command_answers(real, user) if t not in seen]}") from None


def click_newest(real: RealStack, ts: str, user: str, action_id: str) -> None:
    def newest() -> dict[str, Any] | None:
        found = [m for m in real.slack.replies(CHANNEL, ts) if f'"action_id": "{action_id}"' in json.dumps(m.get("blocks"))]
        return found[-1] if found else None

    message = real.slack.wait_for(newest, timeout=STEP_TIMEOUT_S, what=f"a button {action_id}")
    real.slack.click(user, CHANNEL, message["ts"], action_id)


def everything_sent_to_slack(real: RealStack) -> str:
    """Every Web API call the emulator recorded (messages, updates, uploads) and every uploaded file."""
    calls = json.dumps([{"method": c.method, "args": c.args} for c in real.slack.calls()], default=str)
    files = "\n".join(bytes(f.get("content") or b"").decode("utf-8", "replace") for f in real.slack.files())
    return calls + "\n" + files + "\n" + json.dumps(real.slack.response_posts(), default=str)


def uploaded(real: RealStack, prefix: str) -> str:
    """The bytes of the first file named `prefix`*, once they have arrived (upload v2 is three calls)."""
    def content() -> bytes | None:
        return next((f["content"] for f in real.slack.files()
                     if str(f.get("name")).startswith(prefix) and f.get("content")), None)

    return bytes(real.slack.wait_for(content, timeout=THREAD_TIMEOUT_S, what=f"a file {prefix}*")).decode()


# -- fixtures that put the stack back ----------------------------------------------------------------------
def task_fails_within(real: RealStack, seconds: float) -> bool:
    """Watch the connector for `seconds`: a restarted task that meets the same failure goes FAILED in ~3 s."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if failed_trace(real) is not None:
            return True
        time.sleep(0.5)
    return False


@pytest.fixture
def restore_connector(real: RealStack) -> Iterator[None]:
    """After the test: the table as designed, the connector's config as `stack.py up` writes it (right
    password, no skip options) and RUNNING, with a new snapshot when a restart alone cannot get it there."""
    yield
    versioned = real.sql(f"SELECT TABLE_TYPE FROM information_schema.TABLES WHERE TABLE_SCHEMA='oltp' "
                         f"AND TABLE_NAME='{real.table.split('.')[1]}'")
    if versioned and str(versioned[0][0]).upper() == "SYSTEM VERSIONED":
        real.sql(f"ALTER TABLE {real.table} DROP SYSTEM VERSIONING")
    stack("up")   # re-applies the config and restarts what FAILED; may fail while the DDL is still ahead
    if task_fails_within(real, 10):
        resnapshot_connector(real)
    start_all()


@pytest.fixture
def restore_flink_job(real: RealStack) -> Iterator[None]:
    yield
    if DRIFT_COLUMN in real.columns():
        real.sql(f"ALTER TABLE {real.table} DROP COLUMN {DRIFT_COLUMN}")
    # The resubmitted job skips the drifted events only once the newest event on the topic is clean
    # (KafkaCdcSource): wait for a clean row there, not for the traffic thread to win the race against a
    # REST submission (under a second).
    assert row_reaches_topic(real, within=60), "a clean row did not reach the topic"
    stack_cli("job", "submit", "--replace")


# -- 1. a DDL Debezium's parser rejects -------------------------------------------------------------------
@pytest.mark.covers_step("connector-failed", "restart-connector")
def test_ddl_parse_failure_is_diagnosed_redacted_and_restart_refused_until_the_cause_is_gone(
        real: RealStack, restore_connector: None) -> None:
    planted = "S3cr3t-" + secrets.token_hex(8)
    real.sql(f"ALTER TABLE {real.table} ADD SYSTEM VERSIONING")
    real.insert_order()
    trace = str(poll(lambda: failed_trace(real), FAIL_TIMEOUT_S, "the connector task FAILED"))
    assert "io.debezium.text.ParsingException" in trace and "ADD SYSTEM VERSIONING" in trace

    post_alert(real, "ConnectorTaskFailed", {"connector": real.connector, "table": real.table},
               {"summary": f"Task failed; debug: database.password={planted}",
                "description": f"token={planted}"})
    ts, inc = incident_root(real, "ConnectorTaskFailed")
    connect_reply = wait_reply(real, ts, "*Kafka Connect*")
    assert "task 0: *FAILED*" in connect_reply
    assert "Debezium could not parse a DDL statement on oltp.orders" in connect_reply
    assert "ParsingException" in connect_reply and "a plain restart reads it again" in connect_reply
    assert "ADD SYSTEM VERSIONING" in uploaded(real, "connect-trace-")

    # While the table is versioned and the statement is ahead of the connector's position: refused.
    refusal = ask(real, ALICE, f"run restart-connector {inc}", "refused by its pre-check")
    assert "still SYSTEM VERSIONED" in refusal and "still ahead of the connector's binlog position" in refusal

    # Reverting the table is not enough: Debezium would read the same statement again (observed).
    real.sql(f"ALTER TABLE {real.table} DROP SYSTEM VERSIONING")
    second = ask(real, ALICE, f"run restart-connector {inc}", "refused by its pre-check")
    assert "still SYSTEM VERSIONED" not in second and "still ahead of the connector's binlog position" in second
    assert "written while it was SYSTEM VERSIONED" in second

    # The cause removed as the real stack needed it: a new snapshot past the statement and its rows.
    resnapshot_connector(real)
    ask(real, ALICE, f"run restart-connector {inc}", "Approval requested for `restart-connector`")
    click_newest(real, ts, BOB, "approve_step")
    wait_reply(real, ts, "is RUNNING again", timeout=STEP_TIMEOUT_S)

    sent = everything_sent_to_slack(real)
    assert "database.password=********" in sent, "the annotation reached Slack, redacted"
    assert planted not in sent, "the planted secret reached Slack"
    assert debezium_password() not in sent


# -- 2. the connector's database password is wrong ------------------------------------------------------
@pytest.fixture
def restore_password(real: RealStack) -> Iterator[str]:
    """The debezium user's real password, put back on the database after the test."""
    password = debezium_password()
    yield password
    real.sql(f"ALTER USER 'debezium'@'%' IDENTIFIED BY '{password}'")


def test_auth_failure_is_classified_and_no_password_reaches_slack(real: RealStack, restore_connector: None,
                                                                   restore_password: str) -> None:
    wrong = "Wr0ng-" + secrets.token_hex(8)
    # Connect validates a new config by logging in (Debezium's validate): a wrong password is refused with
    # 400 and never reaches the task. Its message names the user, not the password.
    config = httpx.get(connect_url(real) + "/config", timeout=10).json()
    refused = httpx.put(connect_url(real) + "/config", json={**config, "database.password": wrong}, timeout=30)
    assert refused.status_code == 400 and "Access denied" in refused.text and wrong not in refused.text
    # So the password goes wrong where it does in production: rotated on the database, not in the connector.
    real.sql(f"ALTER USER 'debezium'@'%' IDENTIFIED BY '{wrong}'")
    httpx.post(connect_url(real) + "/restart", params={"includeTasks": "true", "onlyFailed": "false"}, timeout=30)
    trace = str(poll(lambda: failed_trace(real), FAIL_TIMEOUT_S, "the connector task FAILED"))
    assert "Access denied for user 'debezium'" in trace

    post_alert(real, "ConnectorTaskFailed", {"connector": real.connector, "table": real.table},
               {"summary": "Connector task failed", "description": f"rotated: password={wrong}"})
    ts, inc = incident_root(real, "ConnectorTaskFailed")
    reply = wait_reply(real, ts, "*Kafka Connect*")
    assert "task 0: *FAILED*" in reply
    assert "MySQL refused the connector's login or privileges" in reply and "Access denied" in reply
    assert "Access denied" in status_reply(real, ts, inc)

    sent = everything_sent_to_slack(real)
    assert "(using password: YES)" in sent   # the trace went to Slack; only Connect's words about it
    assert wrong not in sent and restore_password not in sent


# -- 3. Flink runs out of restarts ----------------------------------------------------------------------
@pytest.mark.covers_step("flink-restarting", "check-flink")
def test_flink_restarts_exhausted_shows_the_task_failure_and_check_flink_says_not_healthy(
        real: RealStack, restore_flink_job: None) -> None:
    stack_cli("job", "submit", "--replace", "--restart-attempts", "2", "--restart-delay-ms", "1000")
    real.sql(f"ALTER TABLE {real.table} ADD COLUMN {DRIFT_COLUMN} VARCHAR(64) NULL")
    real.insert_order()
    flink = real.env["FLINK_URL"]

    def failed_job() -> str | None:
        jobs = httpx.get(flink + "/jobs/overview", timeout=10).json()["jobs"]
        newest = max((j for j in jobs if j["name"] == real.job), key=lambda j: j["start-time"])
        return str(newest["jid"]) if newest["state"] == "FAILED" else None

    jid = poll(failed_job, 120, "the Flink job FAILED", interval=1)
    history = httpx.get(f"{flink}/jobs/{jid}/exceptions", timeout=10).json()["exceptionHistory"]["entries"]
    assert "Recovery is suppressed" in max(history, key=lambda e: e["timestamp"])["stacktrace"]

    post_alert(real, "FlinkJobRestarting", {"job_name": real.job, "table": real.table}, {"summary": "restarts"})
    ts, inc = incident_root(real, "FlinkJobRestarting")
    reply = wait_reply(real, ts, "*Flink*")
    assert "*FAILED*" in reply and "restarts exhausted" in reply
    assert "Source: " in reply and "(1/1)" in reply, "the failing task (from concurrentExceptions) is named"
    assert "*Root cause*" in reply

    real.slack.slash_command(ALICE, f"run check-flink {inc}")
    # A FAILED job cannot recover: the verdict comes well before the step's 90 s window would end.
    verdict = wait_reply(real, ts, "Confirm Flink healthy", timeout=45)
    assert "not healthy" in verdict and "restarts exhausted" in verdict


def test_a_restart_looping_job_is_never_called_healthy(real: RealStack, restore_flink_job: None) -> None:
    """Difference 1: numRestarts lags; the verdict comes from state, timestamps and exception history. Sampled
    every second for 40 s, RUNNING moments of the loop included, with the bot's stability window (20 s)."""
    real.sql(f"ALTER TABLE {real.table} ADD COLUMN {DRIFT_COLUMN} VARCHAR(64) NULL")
    real.insert_order()
    with FlinkClient(real.env["FLINK_URL"], timeout=5, stable_seconds=20) as flink:
        poll(lambda: not flink.job_health(real.job).healthy, FAIL_TIMEOUT_S, "the job failing on the drift", 1)
        deadline, samples = time.monotonic() + 40, []
        while time.monotonic() < deadline:
            job = flink.job_health(real.job)
            samples.append((job.state, job.num_restarts, job.verdict.summary() if job.verdict else "", job.healthy))
            time.sleep(1)
    called_healthy = [sample for sample in samples if sample[3]]
    assert samples and not called_healthy, f"called healthy while looping: {called_healthy} of {samples}"


# -- 4. a backend stops in the middle of an incident ------------------------------------------------------
@pytest.fixture
def restart_pieces(real: RealStack) -> Iterator[None]:
    yield
    start_all()
    ensure_streaming(real)   # a connector whose MariaDB restarted may say RUNNING and read nothing


def all_replies(real: RealStack) -> list[str]:
    return [t for m in real.slack.messages(CHANNEL) for t in thread(real, str(m["ts"]))]


def healthz(real: RealStack) -> dict[str, Any]:
    # A hang would end in httpx's timeout, failing the test (speed itself is for bench/, not tests).
    body: dict[str, Any] = httpx.get(real.bot_url + "/healthz", timeout=15).json()
    return body


def command_replies(real: RealStack, ts: str) -> list[str]:
    """Thread replies that answer a slash command (not enrichment, not runbook steps)."""
    return [m.get("text", "") for m in real.slack.replies(CHANNEL, ts)
            if (m.get("metadata") or {}).get("event_payload", {}).get("kind") == "command"]


def status_reply(real: RealStack, ts: str, inc: str) -> str:
    """`/dataflow status INC-n`, answered in the thread: Connect, Flink and discovery in one message."""
    before = len(command_replies(real, ts))
    real.slack.slash_command(ALICE, f"status {inc}")
    # A status that hangs on the dead backend never comes: the wait's deadline fails the test.
    return str(real.slack.wait_for(lambda: command_replies(real, ts)[before:] and command_replies(real, ts)[before],
                                   timeout=THREAD_TIMEOUT_S, what="the status answer in the thread"))


@pytest.mark.parametrize(("piece", "backend", "check", "where_key"), [
    ("connect", "Kafka Connect", "kafka-connect", "CONNECT_URL"),
    ("flink-jobmanager", "Flink", "flink", "FLINK_URL"),
    ("mariadb", "MySQL", "mysql", "MYSQL_URL"),
])
def test_a_stopped_backend_is_named_with_where_and_why(real: RealStack, restart_pieces: None, piece: str,
                                                        backend: str, check: str, where_key: str) -> None:
    labels = {"connector": real.connector, "table": real.table}
    first = post_alert(real, "ConnectorTaskFailed", labels, {"summary": "s"})
    ts, inc = incident_root(real, "ConnectorTaskFailed")
    wait_reply(real, ts, "*Schema*")
    stop_piece(piece)
    url = urlsplit(real.env[where_key])
    where = f"{url.hostname}:{url.port}"   # never the credentials of MYSQL_URL

    text = status_reply(real, ts, inc)   # answers, whichever backend is down
    assert "Traceback" not in text
    if piece != "mariadb":   # `status` asks Connect and Flink, not MySQL
        assert re.search(rf"\*{backend}\* at `(?:http://)?{where}` did not answer: connection refused", text), text

    # A new alert on the pipeline: the incident was resolved meanwhile, so it reopens and is enriched anew
    # (alerts folded into an incident that is still open are not enriched again).
    seen = set(all_replies(real))
    post_alert(real, "ConnectorTaskFailed", labels, {"summary": "s"}, status="resolved", fingerprint=first)
    post_alert(real, "ConnectorTaskFailed", labels, {"summary": "again"})
    line = real.slack.wait_for(lambda: next((t for t in all_replies(real) if t not in seen
                                             and f"*{backend}*" in t and "did not answer" in t), None),
                               timeout=THREAD_TIMEOUT_S, what=f"{backend} named in the new alert's enrichment")
    assert where in line and "connection refused" in line.lower() and "Traceback" not in line

    # /healthz shows the background prober's last result (HEALTH_PROBE_INTERVAL_SECONDS) and its age.
    probe = poll(lambda: (p := healthz(real)["checks"][check])["ok"] is False and p, PROBE_TIMEOUT_S,
                 f"/healthz showing {check} down")
    assert probe["detail"] in ("connection refused", "cannot connect") and probe["age_seconds"] is not None

    start_all()
    poll(lambda: healthz(real)["checks"][check]["ok"] is True, PROBE_TIMEOUT_S, f"/healthz showing {check} up")
    text = status_reply(real, ts, inc)
    assert "did not answer" not in text and ":red_circle:" not in text


# -- the restart pre-check reads the real binlog ---------------------------------------------------------------
def test_binlog_is_read_from_any_position_and_a_short_budget_says_unknown(stack_env: dict[str, str]) -> None:
    conn = connect(stack_env["MYSQL_URL"])
    try:
        with conn.cursor() as cur:
            cur.execute("SHOW BINARY LOGS")
            first = str(cur.fetchall()[0][0])
        from_start = restart_safety.events_from(conn, first, 4)
        mid_event = restart_safety.events_from(conn, first, 5)   # not an event's start: MariaDB says 1220
        cut_short = restart_safety.events_from(conn, first, 4, max_events=3)
    finally:
        conn.close()
    assert from_start and from_start[0].pos == 4 and from_start[0].kind == "Format_desc"
    assert mid_event is not None
    # Newer files are read from their start; the file may still grow (traffic) between the two reads.
    expected = [e for e in from_start if e.log_file == first and e.pos >= 5]
    assert expected and [e for e in mid_event if e.log_file == first][:len(expected)] == expected
    assert cut_short is None
