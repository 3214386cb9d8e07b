"""What the stack tells its users: the status table, and stack.env / stack.json (URLs and credentials
for tests and `dataflow-bot demo --stack real`)."""

from __future__ import annotations

import json
import shlex

from stacklib import connector, job
from stacklib.common import write_text
from stacklib.layout import JOB_JAR, LOGS, MYSQL_SOCKET, STACK_ENV, STACK_JSON, WEBHOOK_TOKEN_FILE
from stacklib.proc import Proc, rss_mb
from stacklib.settings import (
    BOT_URL,
    CDC_TABLE,
    FLINK_JOB_NAME,
    HOST,
    JOB_MAIN,
    PORTS,
    STACK_DIR,
    cdc_topic,
    connector_name,
    metric_name,
    topic_prefix,
    url,
)

COLUMNS = ["piece", "state", "pid", "rss", "url", "log"]


def stack_values(secret: dict[str, str]) -> dict[str, str]:
    mysql = f"{HOST}:{PORTS['mysql']}"
    return {
        "STACK_DIR": str(STACK_DIR),
        "STACK_BOT_URL": BOT_URL,
        "MYSQL_URL": f"mysql://dataflow_bot:{secret['MYSQL_BOT_PASSWORD']}@{mysql}/",
        "MYSQL_ADMIN_URL": f"mysql://root:{secret['MYSQL_ROOT_PASSWORD']}@{mysql}/",
        # STACK_-prefixed: the mariadb client itself reads MYSQL_HOST (and would default to port 3306).
        "STACK_MYSQL_HOST": HOST,
        "STACK_MYSQL_PORT": str(PORTS["mysql"]),
        "STACK_MYSQL_SOCKET": str(MYSQL_SOCKET),
        "MYSQL_DEBEZIUM_USER": "debezium",
        "CONNECT_URL": url("connect"),
        "CONNECTOR_NAME": connector_name(),
        "FLINK_URL": url("flink_rest"),
        "FLINK_JOB_NAME": FLINK_JOB_NAME,
        "FLINK_JOB_METRIC_NAME": metric_name(FLINK_JOB_NAME),
        # How the job is submitted (POST /jars/<id>/run): the bot's per-job submission spec.
        "FLINK_JOB_JAR": JOB_JAR.name,
        "FLINK_JOB_ENTRY_CLASS": JOB_MAIN,
        "FLINK_JOB_PROGRAM_ARGS": json.dumps(job.program_args()),
        "FLINK_JOB_PARALLELISM": "1",
        "FLINK_PROMETHEUS_JM": f"{url('flink_prom_jm')}/metrics",
        "FLINK_PROMETHEUS_TM": f"{url('flink_prom_tm')}/metrics",
        "PROMETHEUS_URL": url("prometheus"),
        "ALERTMANAGER_URL": url("alertmanager"),
        "KAFKA_BOOTSTRAP_SERVERS": f"{HOST}:{PORTS['broker']}",
        "CDC_TABLE": CDC_TABLE,
        "CDC_TOPIC": cdc_topic(),
        "SCHEMA_CHANGES_TOPIC": topic_prefix(),
        "ALERT_WEBHOOK_TOKEN": secret["ALERT_WEBHOOK_TOKEN"],
        "ALERT_WEBHOOK_TOKEN_FILE": str(WEBHOOK_TOKEN_FILE),
        "LOG_DIR": str(LOGS),
    }


def write_stack_env(secret: dict[str, str], procs: dict[str, Proc]) -> None:
    """stack.env (shell-quoted KEY=value) and stack.json (the same values, ports, pieces); both 0600."""
    values = stack_values(secret)
    write_text(STACK_ENV, "# Local real stack (scripts/stack/stack.py). Holds local-only credentials: mode 0600.\n"
               + "".join(f"{k}={shlex.quote(v)}\n" for k, v in values.items()), 0o600)
    pieces = {name: {"pid": p.pid(), "url": p.url, "log": str(p.log), "ports": p.ports} for name, p in procs.items()}
    doc = {"env": values, "ports": PORTS, "pieces": pieces}
    write_text(STACK_JSON, json.dumps(doc, indent=2) + "\n", 0o600)


# --- the status table ----------------------------------------------------------------------------------

def rows(procs: dict[str, Proc]) -> tuple[list[tuple[str, ...]], int]:
    """One row per piece plus the connector and the job; and how many of them are not up."""
    table = [_proc_row(name, p) for name, p in procs.items()]
    table.append(_connector_row(procs["connect"]))
    table.append(_job_row(procs["flink-jobmanager"]))
    down = sum(1 for r in table if not _is_up(r))
    return table, down


def _is_up(row: tuple[str, ...]) -> bool:
    piece, state = row[0], row[1]
    if piece == "connector":
        return state.startswith("RUNNING (tasks RUNNING")
    if piece == "flink-job":
        return state.startswith("RUNNING ")
    return state == "up"


def _proc_row(name: str, p: Proc) -> tuple[str, ...]:
    pid = p.pid()
    ok = pid is not None and p.healthy()
    rss = rss_mb(pid) if pid else None
    state = "up" if ok else ("starting/unhealthy" if pid else "down")
    return (name, state, str(pid or "-"), f"{rss:.0f} MB" if rss else "-", p.url, str(p.log))


def _connector_row(connect: Proc) -> tuple[str, ...]:
    state = "down"
    if connect.pid():
        code, body = connector.status()
        if code == 200 and isinstance(body, dict):
            tasks = ",".join(t.get("state", "?") for t in body.get("tasks", [])) or "no tasks"
            state = f"{body.get('connector', {}).get('state')} (tasks {tasks})"
        else:
            state = f"absent (HTTP {code})"
    return ("connector", state, "-", "-", f"{connect.url}/connectors/{connector_name()}", "-")


def _job_row(jobmanager: Proc) -> tuple[str, ...]:
    live = job.live_job() if jobmanager.pid() else None
    state = f"{live['state']} {live['jid']}" if live else "not running"
    return ("flink-job", state, "-", "-", f"{jobmanager.url}/jobs", "-")


def render(table: list[tuple[str, ...]], as_json: bool) -> str:
    if as_json:
        return json.dumps([dict(zip(COLUMNS, r, strict=True)) for r in table], indent=2)
    widths = [max(len(r[i]) for r in table) for i in range(5)]
    lines = ["  ".join(r[i].ljust(widths[i]) for i in range(5)).rstrip() for r in table]
    return "\n".join([*lines, f"STACK_DIR={STACK_DIR}  env: {STACK_ENV}"])
