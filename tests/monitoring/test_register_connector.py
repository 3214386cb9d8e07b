"""deploy/connect/register-connector.sh against a fake Kafka Connect REST API (sh + curl, as in the
`connect-init` service): it PUTs the config file as is, and exits non-zero on FAILED or an HTTP error."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "deploy" / "connect" / "register-connector.sh"
CONFIG = ROOT / "deploy" / "connect" / "mysql-oltp-orders.json"


class FakeConnect(ThreadingHTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.puts: list[tuple[str, dict]] = []
        self.put_status = 201
        self.task_state = "RUNNING"


class Handler(BaseHTTPRequestHandler):
    server: FakeConnect

    def log_message(self, *args: object) -> None:  # keep pytest output clean
        pass

    def reply(self, status: int, body: object) -> None:
        data = json.dumps(body, separators=(",", ":")).encode()  # compact, like Connect
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.path == "/connectors":
            self.reply(200, [])
        elif self.path.endswith("/status"):
            name = self.path.split("/")[2]
            task = {"id": 0, "state": self.server.task_state, "worker_id": "connect:8083"}
            if self.server.task_state == "FAILED":
                task["trace"] = "io.debezium.DebeziumException: Error processing binlog event"
            self.reply(200, {"name": name, "connector": {"state": "RUNNING", "worker_id": "connect:8083"},
                             "tasks": [task], "type": "source"})
        else:
            self.reply(404, {"error_code": 404, "message": "not found"})

    def do_PUT(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.puts.append((self.path, body))
        if self.server.put_status >= 400:
            self.reply(self.server.put_status, {"error_code": 400, "message": "Connector configuration is invalid"})
        else:
            self.reply(self.server.put_status, {"name": body["name"], "config": body, "tasks": [], "type": "source"})


@pytest.fixture
def connect() -> Iterator[FakeConnect]:
    server = FakeConnect()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def register(server: FakeConnect) -> subprocess.CompletedProcess[str]:
    assert shutil.which("curl"), "curl is needed (it is what the connect-init container runs)"
    env = {**os.environ, "CONNECT_URL": f"http://127.0.0.1:{server.server_port}", "WAIT_SECONDS": "3"}
    return subprocess.run(["sh", str(SCRIPT), str(CONFIG)], capture_output=True, text=True, env=env, timeout=60)


def test_puts_the_file_unchanged_and_waits_for_running(connect: FakeConnect) -> None:
    result = register(connect)
    assert result.returncode == 0, result.stdout + result.stderr
    assert connect.puts == [("/connectors/mysql-oltp-orders/config", json.loads(CONFIG.read_text()))]
    assert "created mysql-oltp-orders" in result.stdout and "is RUNNING" in result.stdout


def test_failed_task_fails_the_init_with_its_trace(connect: FakeConnect) -> None:
    connect.task_state = "FAILED"
    result = register(connect)
    assert result.returncode == 1
    assert "Error processing binlog event" in result.stdout


def test_rejected_config_fails_the_init(connect: FakeConnect) -> None:
    connect.put_status = 400
    result = register(connect)
    assert result.returncode == 1
    assert "HTTP 400" in result.stdout and "invalid" in result.stdout
