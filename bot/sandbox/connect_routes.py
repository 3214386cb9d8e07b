"""REST routes of the Kafka Connect simulator (reference §2.1), plus its /metrics exposition.

Bodies and messages are those Kafka Connect 3.9.0 answered (reference/real-stack/captures/connect);
tests/contract runs the same assertions against this simulator and the real worker.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Flask, Response, jsonify, request

from bot.sandbox.connect_state import ConnectState, RestError, info_json

RUNNING_METRIC = "kafka_connect_worker_connector_running_task_count"
ROOT_INFO = {"version": "3.9.0", "commit": "84caaa6e9da06435", "kafka_cluster_id": "Q3Xb6_ZlRbKd0m0mUrYtPg"}


def error_response(code: int, message: str) -> Response:
    response = jsonify({"error_code": code, "message": message})
    response.status_code = code
    return response


def unknown_path_response() -> Response:
    """Jersey's 404 for a path no resource matches: the JSON body, but no Content-Type header."""
    response = Response(json.dumps({"error_code": 404, "message": "HTTP 404 Not Found"}), status=404)
    del response.headers["Content-Type"]
    return response


# `task.class` as Connect 3.9.0 reported it: not one naming rule (Debezium appends "Task", Kafka's file
# connectors replace "Connector" with "Task").
_TASK_CLASSES = {
    "io.debezium.connector.mysql.MySqlConnector": "io.debezium.connector.mysql.MySqlConnectorTask",
    "org.apache.kafka.connect.file.FileStreamSinkConnector": "org.apache.kafka.connect.file.FileStreamSinkTask",
}


def task_configs(name: str, config: dict[str, str], tasks: int) -> list[dict[str, Any]]:
    """GET /connectors/<c>/tasks: each task's config is the connector's plus `task.class`."""
    connector_class = config.get("connector.class", "")
    task_class = _TASK_CLASSES.get(connector_class, connector_class + "Task")
    return [{"id": {"connector": name, "task": i}, "config": {**config, "task.class": task_class}}
            for i in range(tasks)]


def _empty(code: int) -> Response:
    """202/204 without a body: Connect sends no Content-Type with them."""
    response = Response(status=code)
    del response.headers["Content-Type"]
    return response


def _flag(name: str) -> bool:
    return request.args.get(name, "false").lower() == "true"


def _escape_label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def render_metrics(counts: list[tuple[str, int, int]], failed_metric: str) -> str:
    """Prometheus text exposition (format 0.0.4) of per-connector task counts."""
    lines: list[str] = []
    series = ((failed_metric, 1, "FAILED tasks"), (RUNNING_METRIC, 2, "RUNNING tasks"))
    for metric, index, help_text in series:
        lines += [f"# HELP {metric} Number of {help_text} of the connector.", f"# TYPE {metric} gauge"]
        lines += [f'{metric}{{connector="{_escape_label(row[0])}"}} {row[index]}' for row in counts]
    return "\n".join(lines) + "\n"


def register_routes(app: Flask, state: ConnectState, failed_metric: str) -> None:
    base = "/connectors/<name>"

    @app.get("/")
    def root() -> Response:
        return jsonify(ROOT_INFO)

    @app.get("/metrics")
    def metrics() -> Response:
        text = render_metrics(state.counts(), failed_metric)
        return Response(text, content_type="text/plain; version=0.0.4; charset=utf-8")

    @app.get("/connectors")
    def list_connectors() -> Response:
        expand = set(request.args.getlist("expand")) & {"status", "info"}  # unknown values ignored
        if not expand:
            return jsonify(state.names())
        return jsonify(_expanded(state, expand))

    @app.get(base)
    def info(name: str) -> Response:
        return jsonify(_info(state, name))

    @app.get(f"{base}/config")
    def get_config(name: str) -> Response:
        return jsonify(state.get(name).config)

    @app.put(f"{base}/config")
    def put_config(name: str) -> Response:
        body = request.get_json(force=True, silent=True)
        if not isinstance(body, dict):
            raise RestError(400, "Request body must be a JSON object of connector configs")
        created = state.put_config(name, {str(k): str(v) for k, v in body.items()})
        response = jsonify(_info(state, name))
        response.status_code = 201 if created else 200
        return response

    @app.delete(base)
    def delete(name: str) -> Response:
        state.delete(name)
        return _empty(204)

    @app.get(f"{base}/status")
    def status(name: str) -> Response:
        return jsonify(state.status(name))

    @app.get(f"{base}/tasks")
    def tasks(name: str) -> Response:
        conn = state.get(name)
        return jsonify(task_configs(name, conn.config, len(conn.tasks)))

    @app.get(f"{base}/tasks/<int:task_id>/status")
    def task_status(name: str, task_id: int) -> Response:
        return jsonify(state.task_status(name, task_id))

    @app.post(f"{base}/restart")
    def restart(name: str) -> Response:
        body = state.restart(name, _flag("includeTasks"), _flag("onlyFailed"))
        if body is None:
            return _empty(204)
        response = jsonify(body)
        response.status_code = 202
        return response

    @app.post(f"{base}/tasks/<int:task_id>/restart")
    def restart_task(name: str, task_id: int) -> Response:
        state.restart_task(name, task_id)
        return _empty(204)

    @app.put(f"{base}/pause")
    def pause(name: str) -> Response:
        state.pause(name)
        return _empty(202)

    @app.put(f"{base}/resume")
    def resume(name: str) -> Response:
        state.resume(name)
        return _empty(202)


def _info(state: ConnectState, name: str) -> dict[str, Any]:
    return info_json(state.get(name))


def _expanded(state: ConnectState, expand: set[str]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for name in state.names():
        try:
            entry: dict[str, Any] = {}
            if "status" in expand:
                entry["status"] = state.status(name)
            if "info" in expand:
                entry["info"] = _info(state, name)
        except RestError:
            continue  # deleted mid-request: Connect skips it
        result[name] = entry
    return result
