"""Kafka Connect REST: what the bot relies on, asserted the same way on the simulator and on Connect 3.9.0."""

from __future__ import annotations

import re
import time

import httpx

from tests.contract.conftest import task_states
from tests.contract.targets import PROBE_PASSWORD, PROBE_TRACE, Target, probe_config

WORKER_ID = re.compile(r"^[\w.-]+:\d+$")
STATUS_KEYS = {"name", "connector", "tasks", "type"}
INFO_KEYS = {"name", "config", "tasks", "type"}


def first_line(text: str) -> str:
    return text.splitlines()[0]


def assert_status_shape(status: dict[str, object], name: str) -> None:
    assert set(status) == STATUS_KEYS
    assert status["name"] == name
    connector = status["connector"]
    assert isinstance(connector, dict) and {"state", "worker_id"} <= set(connector)
    assert WORKER_ID.match(connector["worker_id"])
    tasks = status["tasks"]
    assert isinstance(tasks, list) and tasks
    for i, task in enumerate(tasks):
        assert {"id", "state", "worker_id"} <= set(task) <= {"id", "state", "worker_id", "trace"}
        assert task["id"] == i and WORKER_ID.match(task["worker_id"])
        if task["state"] in ("FAILED", "RUNNING"):   # a RESTARTING task may keep its old trace
            assert ("trace" in task) == (task["state"] == "FAILED")


def test_root_names_version_commit_and_cluster(connect: httpx.Client) -> None:
    response = connect.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"version", "commit", "kafka_cluster_id"}
    assert body["version"] == "3.9.0"
    assert re.fullmatch(r"[0-9a-f]{16}", body["commit"])
    assert isinstance(body["kafka_cluster_id"], str) and body["kafka_cluster_id"]


def test_connector_list_and_healthy_status(target: Target, connect: httpx.Client) -> None:
    assert target.connector in connect.get("/connectors").json()
    status = connect.get(f"/connectors/{target.connector}/status").json()
    assert_status_shape(status, target.connector)
    assert status["type"] == "source"
    assert status["connector"]["state"] == "RUNNING"
    assert [t["state"] for t in status["tasks"]] == ["RUNNING"]
    assert "trace" not in status["connector"] and "trace" not in status["tasks"][0]
    task = connect.get(f"/connectors/{target.connector}/tasks/0/status").json()
    assert task == status["tasks"][0]


def test_expand_status_and_info_returns_the_password_in_plain_text(
        target: Target, connect: httpx.Client, probe: str) -> None:
    response = connect.get("/connectors", params=[("expand", "status"), ("expand", "info")])
    assert response.status_code == 200
    expanded = response.json()
    assert {target.connector, probe} <= set(expanded)
    for name, entry in expanded.items():
        assert set(entry) == {"status", "info"}
        assert_status_shape(entry["status"], name)
        assert set(entry["info"]) == INFO_KEYS and entry["info"]["name"] == name
        assert entry["info"]["tasks"] == [{"connector": name, "task": 0}]
    # Difference 11: the configured value comes back as it was given, a secret included.
    assert expanded[probe]["info"]["config"] == {**probe_config(target.cdc_topic), "name": probe}
    assert expanded[probe]["info"]["config"]["database.password"] == PROBE_PASSWORD
    assert expanded[target.connector]["info"]["config"]["database.password"] == target.connector_password
    assert expanded[probe]["info"]["type"] == "sink"


def test_task_configs_carry_task_class_and_the_password(connect: httpx.Client, probe: str) -> None:
    tasks = connect.get(f"/connectors/{probe}/tasks").json()
    assert [t["id"] for t in tasks] == [{"connector": probe, "task": 0}]
    assert tasks[0]["config"]["task.class"] == "org.apache.kafka.connect.file.FileStreamSinkTask"
    assert tasks[0]["config"]["database.password"] == PROBE_PASSWORD


def test_failed_task_status(connect: httpx.Client, probe: str) -> None:
    status = connect.get(f"/connectors/{probe}/status").json()
    assert_status_shape(status, probe)
    assert status["type"] == "sink" and status["connector"]["state"] == "RUNNING"
    task = status["tasks"][0]
    assert task["state"] == "FAILED"
    assert first_line(task["trace"]) == first_line(PROBE_TRACE)
    assert "\n\tat " in task["trace"]


def test_restart_only_failed_answers_202_with_restarting_tasks_keeping_their_trace(
        connect: httpx.Client, probe: str) -> None:
    response = connect.post(f"/connectors/{probe}/restart", params={"includeTasks": "true", "onlyFailed": "true"})
    assert response.status_code == 202
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert_status_shape(body, probe)
    assert body["connector"]["state"] == "RUNNING"            # not failed, so not restarted
    assert [t["state"] for t in body["tasks"]] == ["RESTARTING"]
    assert first_line(body["tasks"][0]["trace"]) == first_line(PROBE_TRACE)   # difference 9: the old trace
    # ... and the task fails again: its folder still does not exist.
    deadline = time.monotonic() + 10
    while task_states(connect, probe) != ["FAILED"] and time.monotonic() < deadline:
        time.sleep(0.1)
    assert task_states(connect, probe) == ["FAILED"]


def test_restart_only_failed_of_a_healthy_connector_restarts_nothing(target: Target, connect: httpx.Client) -> None:
    response = connect.post(f"/connectors/{target.connector}/restart",
                            params={"includeTasks": "true", "onlyFailed": "true"})
    assert response.status_code == 202
    body = response.json()
    assert_status_shape(body, target.connector)
    assert body["connector"]["state"] == "RUNNING" and [t["state"] for t in body["tasks"]] == ["RUNNING"]


def test_unknown_connector_answers_404_json(connect: httpx.Client) -> None:
    expected = {
        ("GET", "/connectors/nosuch"): "Connector nosuch not found",
        ("GET", "/connectors/nosuch/config"): "Connector nosuch not found",
        ("GET", "/connectors/nosuch/tasks"): "Connector nosuch not found",
        ("GET", "/connectors/nosuch/status"): "No status found for connector nosuch",
        ("GET", "/connectors/nosuch/tasks/0/status"): "No status found for task nosuch-0",
        ("POST", "/connectors/nosuch/restart?includeTasks=true&onlyFailed=true"): "Unknown connector: nosuch",
        ("PUT", "/connectors/nosuch/pause"): "Unknown connector nosuch",
        ("PUT", "/connectors/nosuch/resume"): "Unknown connector nosuch",
    }
    for (method, path), message in expected.items():
        response = connect.request(method, path)
        assert response.status_code == 404, (method, path)
        assert response.headers["content-type"] == "application/json", (method, path)
        assert response.json() == {"error_code": 404, "message": message}, (method, path)


def test_unknown_task_answers_404(target: Target, connect: httpx.Client) -> None:
    response = connect.get(f"/connectors/{target.connector}/tasks/5/status")
    assert response.status_code == 404
    assert response.json() == {"error_code": 404, "message": f"No status found for task {target.connector}-5"}


def test_unknown_path_answers_404_without_content_type(connect: httpx.Client) -> None:
    response = connect.get("/nosuch")
    assert response.status_code == 404
    assert "content-type" not in response.headers          # difference 9
    assert response.json() == {"error_code": 404, "message": "HTTP 404 Not Found"}


def connector_state(connect: httpx.Client, name: str) -> str:
    return str(connect.get(f"/connectors/{name}/status").json()["connector"]["state"])


def wait_states(connect: httpx.Client, name: str, connector: str, tasks: list[str], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while (connector_state(connect, name), task_states(connect, name)) != (connector, tasks):
        assert time.monotonic() < deadline, (connector_state(connect, name), task_states(connect, name))
        time.sleep(0.1)


def assert_empty(response: httpx.Response, code: int) -> None:
    assert response.status_code == code, response.text
    assert response.content == b"" and "content-type" not in response.headers


def test_pause_answers_202_and_leaves_a_failed_task_failed_then_a_task_restart_comes_back_paused(
        connect: httpx.Client, probe: str) -> None:
    assert_empty(connect.put(f"/connectors/{probe}/pause"), 202)
    wait_states(connect, probe, "PAUSED", ["FAILED"])
    assert_empty(connect.put(f"/connectors/{probe}/pause"), 202)        # pausing again: accepted, a no-op
    # One task restarted while its connector is paused: it comes back PAUSED, its trace gone.
    assert_empty(connect.post(f"/connectors/{probe}/tasks/0/restart"), 204)
    wait_states(connect, probe, "PAUSED", ["PAUSED"])
    assert "trace" not in connect.get(f"/connectors/{probe}/tasks/0/status").json()
    # Resumed, the task starts for real, and fails as it did (its folder still does not exist).
    assert_empty(connect.put(f"/connectors/{probe}/resume"), 202)
    wait_states(connect, probe, "RUNNING", ["FAILED"])


def test_a_task_restart_of_a_running_connector_fails_the_task_again(connect: httpx.Client, probe: str) -> None:
    assert_empty(connect.post(f"/connectors/{probe}/tasks/0/restart"), 204)
    wait_states(connect, probe, "RUNNING", ["FAILED"])
    task = connect.get(f"/connectors/{probe}/tasks/0/status").json()
    assert first_line(task["trace"]) == first_line(PROBE_TRACE)


def test_restart_of_an_unknown_task_is_404_but_leaves_a_failed_phantom_task(connect: httpx.Client,
                                                                          probe: str) -> None:
    """Observed on Connect 3.9.0 (standalone): the worker tries to start the task it has no config for,
    answers 404, and the status lists that task FAILED until the connector is deleted. Never on the CDC
    connector: the bot only restarts a task its status lists."""
    unknown_task = connect.post(f"/connectors/{probe}/tasks/5/restart")
    assert unknown_task.status_code == 404 and unknown_task.headers["content-type"] == "application/json"
    assert unknown_task.json() == {"error_code": 404, "message": f"Task {probe}-5 not found"}
    phantom = connect.get(f"/connectors/{probe}/status").json()["tasks"][-1]
    assert (phantom["id"], phantom["state"]) == (5, "FAILED") and "NullPointerException" in phantom["trace"]
    unknown_connector = connect.post("/connectors/nosuch/tasks/0/restart")
    assert unknown_connector.status_code == 500
    assert unknown_connector.json() == {"error_code": 500, "message": "Failed to start task nosuch-0 since it is "
                                                                      "not a recognizable type (source or sink)"}
