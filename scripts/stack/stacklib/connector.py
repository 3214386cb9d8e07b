"""The Debezium connector, from deploy/connect/mysql-oltp-orders.json (the file docker-compose.yml uses).

Only the addresses change for the local stack; the password stays "${env:MYSQL_DEBEZIUM_PASSWORD}",
resolved by the worker's EnvVarConfigProvider exactly as in docker-compose.yml.
"""

from __future__ import annotations

from typing import Any

from stacklib.common import StackError
from stacklib.layout import LOGS
from stacklib.probes import http, poll
from stacklib.settings import HOST, PORTS, cdc_topic, connector_file, connector_name, url


def base_url() -> str:
    return f"{url('connect')}/connectors/{connector_name()}"


def local_config() -> dict[str, str]:
    cfg = connector_file()
    cfg.update({
        "database.hostname": HOST,
        "database.port": str(PORTS["mysql"]),
        "schema.history.internal.kafka.bootstrap.servers": f"{HOST}:{PORTS['broker']}",
    })
    return cfg


def status() -> tuple[int, Any]:
    return http("GET", f"{base_url()}/status")


def states(body: Any) -> list[str]:
    """The connector's state followed by its tasks' ([] when the body is not a status)."""
    if not isinstance(body, dict):
        return []
    return [body.get("connector", {}).get("state", "?")] + [t.get("state", "?") for t in body.get("tasks", [])]


def first_trace(body: dict[str, Any]) -> str:
    traces = [body.get("connector", {}).get("trace")] + [t.get("trace") for t in body.get("tasks", [])]
    return next((t.splitlines()[0][:300] for t in traces if t), "?")


def ensure(deadline: float) -> str:
    """Create or update the connector when its config differs; restart what FAILED; wait until RUNNING."""
    code, current = http("GET", f"{base_url()}/config")
    action = _put_config() if code != 200 or current != local_config() else _restart_failed(deadline)
    poll(_running, deadline, f"connector {connector_name()}")
    return f"{action}, RUNNING ({connector_name()} -> topic {cdc_topic()})"


def _put_config() -> str:
    code, body = http("PUT", f"{base_url()}/config", local_config(), timeout=30)
    if code not in (200, 201):
        raise StackError(f"PUT {base_url()}/config answered {code}: {str(body)[:400]}; log: {LOGS / 'connect.log'}")
    return "created" if code == 201 else "updated"


def _restart_failed(deadline: float) -> str:
    """A connector left FAILED (e.g. the database was down, or its password changed, which `up` has just
    re-applied) gets one restart of what failed."""
    if "FAILED" not in states(status()[1]):
        return "unchanged"
    http("POST", f"{base_url()}/restart?includeTasks=true&onlyFailed=true", timeout=30)
    # The 202 may still show FAILED for a moment, and RESTARTING tasks keep the old trace: wait on states.
    poll(lambda: "FAILED" not in states(status()[1]), deadline, "connector restart")
    return "unchanged, restarted its FAILED task(s)"


def _running() -> dict[str, Any] | None:
    code, body = status()
    if code != 200 or not isinstance(body, dict):
        return None
    now = states(body)
    if "FAILED" in now:
        raise StackError(f"connector FAILED: {first_trace(body)}; log: {LOGS / 'connect.log'}")
    return body if body.get("tasks") and all(s == "RUNNING" for s in now) else None
