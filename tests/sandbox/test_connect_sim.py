"""The Kafka Connect simulator speaks the REST protocol of reference §2, over real HTTP."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import httpx
import pytest

from bot.sandbox.connect_sim import ConnectSimulator

CONFIG = {"connector.class": "io.debezium.connector.mysql.MySqlConnector", "tasks.max": "1",
          "database.password": "dbz-secret", "topic.prefix": "dbserver1"}
TRACE = "io.debezium.DebeziumException: Encountered change event for table oltp.orders"


@pytest.fixture(scope="module")
def server() -> Iterator[ConnectSimulator]:
    with ConnectSimulator() as simulator:
        yield simulator


@pytest.fixture
def sim(server: ConnectSimulator) -> ConnectSimulator:
    # A long delay: restarted instances stay RESTARTING for the whole test unless it asks otherwise.
    server.reset(restart_delay=30)
    server.add_connector("mysql-oltp", CONFIG)
    server.add_connector("jdbc-sink", {"connector.class": "JdbcSinkConnector"}, tasks=2, type="sink")
    return server


@pytest.fixture
def http(sim: ConnectSimulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sim.url, timeout=5) as client:
        yield client


def test_root_and_list(http: httpx.Client) -> None:
    assert set(http.get("/").json()) == {"version", "commit", "kafka_cluster_id"}
    assert http.get("/connectors").json() == ["jdbc-sink", "mysql-oltp"]


def test_expand_status_and_info(http: httpx.Client) -> None:
    body = http.get("/connectors", params=[("expand", "status"), ("expand", "info"), ("expand", "x")]).json()
    running = {"id": 0, "state": "RUNNING", "worker_id": "connect:8083"}
    assert body["mysql-oltp"]["status"]["tasks"] == [running]
    assert body["mysql-oltp"]["info"]["tasks"] == [{"connector": "mysql-oltp", "task": 0}]
    assert set(http.get("/connectors", params={"expand": "status"}).json()["jdbc-sink"]) == {"status"}


def test_config_is_returned_as_stored_with_the_password(http: httpx.Client) -> None:
    # Faithful to Connect (reference §6): this is why the client must never fetch it.
    assert http.get("/connectors/mysql-oltp/config").json()["database.password"] == "dbz-secret"
    assert http.get("/connectors/mysql-oltp").json()["config"]["name"] == "mysql-oltp"


def test_status_trace_present_only_when_failed(sim: ConnectSimulator, http: httpx.Client) -> None:
    sim.fail_task("mysql-oltp", 0, TRACE)
    status = http.get("/connectors/mysql-oltp/status").json()
    assert status["connector"] == {"state": "RUNNING", "worker_id": "connect:8083"}
    assert status["tasks"][0]["trace"] == TRACE
    assert status["type"] == "source"
    assert http.get("/connectors/mysql-oltp/tasks/0/status").json()["state"] == "FAILED"
    sim.set_task_state("mysql-oltp", 0, "RUNNING")
    assert "trace" not in http.get("/connectors/mysql-oltp/tasks/0/status").json()


def test_restart_without_params_is_204_and_restarts_connector_only(sim: ConnectSimulator,
                                                                  http: httpx.Client) -> None:
    sim.fail_connector("mysql-oltp", TRACE)
    sim.fail_task("mysql-oltp", 0, TRACE)
    response = http.post("/connectors/mysql-oltp/restart")
    assert (response.status_code, response.content) == (204, b"")
    status = sim.status("mysql-oltp")
    assert status["connector"]["state"] == "RUNNING"
    assert status["tasks"][0]["state"] == "FAILED"


def test_restart_with_params_is_202_showing_restarting(sim: ConnectSimulator, http: httpx.Client) -> None:
    sim.fail_task("jdbc-sink", 1, TRACE)
    both = {"includeTasks": "true", "onlyFailed": "true"}
    response = http.post("/connectors/jdbc-sink/restart", params=both)
    assert response.status_code == 202
    states = [t["state"] for t in response.json()["tasks"]]
    assert (response.json()["connector"]["state"], states) == ("RUNNING", ["RUNNING", "RESTARTING"])
    everything = http.post("/connectors/jdbc-sink/restart", params={"includeTasks": "true"}).json()
    assert [t["state"] for t in everything["tasks"]] == ["RESTARTING", "RESTARTING"]
    assert everything["connector"]["state"] == "RESTARTING"


def test_restarted_task_settles_and_health_check_decides(sim: ConnectSimulator, http: httpx.Client) -> None:
    sim.state.restart_delay = 0
    checked = threading.Event()
    sim.fail_task("mysql-oltp", 0, TRACE)

    def still_broken(name: str) -> str:
        checked.set()
        return f"still broken: {name}"

    sim.health_check = still_broken
    assert http.post("/connectors/mysql-oltp/tasks/0/restart").status_code == 204
    assert checked.wait(5)
    _wait_for(lambda: sim.status("mysql-oltp")["tasks"][0].get("trace") == "still broken: mysql-oltp")
    assert sim.status("mysql-oltp")["tasks"][0]["state"] == "FAILED"
    sim.health_check = None
    http.post("/connectors/mysql-oltp/restart", params={"includeTasks": "true"})
    _wait_for(lambda: sim.status("mysql-oltp")["tasks"][0]["state"] == "RUNNING")


def test_pause_resume(sim: ConnectSimulator, http: httpx.Client) -> None:
    assert http.put("/connectors/jdbc-sink/resume").status_code == 202  # not paused: no-op
    assert sim.status("jdbc-sink")["connector"]["state"] == "RUNNING"
    response = http.put("/connectors/jdbc-sink/pause")
    assert (response.status_code, response.content) == (202, b"")
    status = sim.status("jdbc-sink")
    assert [status["connector"]["state"], *(t["state"] for t in status["tasks"])] == ["PAUSED"] * 3
    http.put("/connectors/jdbc-sink/resume")
    assert sim.status("jdbc-sink")["tasks"][1]["state"] == "RUNNING"


def test_put_config_create_update_and_mismatch(http: httpx.Client) -> None:
    created = http.put("/connectors/new-one/config", json={"connector.class": "X", "tasks.max": "2"})
    assert created.status_code == 201
    assert [t["task"] for t in created.json()["tasks"]] == [0, 1]
    assert http.put("/connectors/new-one/config", json={"tasks.max": "1"}).status_code == 200
    mismatch = http.put("/connectors/new-one/config", json={"name": "other"})
    assert mismatch.status_code == 400
    assert mismatch.json()["error_code"] == 400


def test_delete_then_404_messages(http: httpx.Client) -> None:
    assert http.delete("/connectors/mysql-oltp").status_code == 204
    status = http.get("/connectors/mysql-oltp/status")
    assert status.status_code == 404
    assert status.json() == {"error_code": 404, "message": "No status found for connector mysql-oltp"}
    assert http.get("/connectors/mysql-oltp").json()["message"] == "Connector mysql-oltp not found"
    assert http.post("/connectors/mysql-oltp/restart").status_code == 404
    assert http.get("/no/such/route").json()["error_code"] == 404


def test_injected_faults_are_consumed(sim: ConnectSimulator, http: httpx.Client) -> None:
    sim.inject(500, "<html>bad gateway</html>", content_type="text/html", path_contains="/status")
    sim.inject(409, times=2)
    assert http.get("/connectors").status_code == 409
    first = http.get("/connectors/mysql-oltp/status")
    assert (first.status_code, first.headers["content-type"]) == (500, "text/html")
    rebalance = http.get("/connectors/mysql-oltp/status")
    assert rebalance.json()["message"].startswith("Cannot complete request because of a conflicting")
    assert http.get("/connectors/mysql-oltp/status").status_code == 200


def test_metrics_count_failed_and_running_tasks(sim: ConnectSimulator, http: httpx.Client) -> None:
    sim.fail_task("jdbc-sink", 0, TRACE)
    response = http.get("/metrics")
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    lines = response.text.splitlines()
    assert 'kafka_connect_worker_connector_failed_task_count{connector="jdbc-sink"} 1' in lines
    assert 'kafka_connect_worker_connector_failed_task_count{connector="mysql-oltp"} 0' in lines
    assert 'kafka_connect_worker_connector_running_task_count{connector="jdbc-sink"} 1' in lines
    assert "# TYPE kafka_connect_worker_connector_failed_task_count gauge" in lines


def test_metric_name_is_configurable() -> None:
    with ConnectSimulator(failed_task_metric="kafka_connect_connector_failed_task_count") as custom:
        custom.add_connector("c", CONFIG)
        text = httpx.get(f"{custom.url}/metrics").text
        assert 'kafka_connect_connector_failed_task_count{connector="c"} 0' in text


def test_calls_are_recorded(sim: ConnectSimulator, http: httpx.Client) -> None:
    http.post("/connectors/mysql-oltp/restart", params={"includeTasks": "true", "onlyFailed": "false"})
    assert sim.calls[-1] == ("POST", "/connectors/mysql-oltp/restart", "includeTasks=true&onlyFailed=false")


def _wait_for(condition: Callable[[], bool]) -> None:
    """Poll a condition (no timing assertion: the pytest timeout is the only limit)."""
    while not condition():
        time.sleep(0.01)
