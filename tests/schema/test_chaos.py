"""The chaos script as a subprocess against the real MariaDB, with a generated pipeline file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import free_port
from tests.schema.conftest import ROOT, columns_of

SCRIPT = ROOT / "scripts" / "chaos" / "simulate_schema_drift.py"


def write_env(tmp_path: Path, db: str, contract: bool = True) -> dict[str, str]:
    pipelines = tmp_path / "pipelines.yml"
    pipelines.write_text(f"pipelines:\n  - name: t\n    tables: [{db}.orders]\n    connectors: [c1]\n")
    contracts = tmp_path / "schemas"
    if contract:
        (contracts / db).mkdir(parents=True)
        (contracts / db / "orders.yml").write_text((ROOT / "schemas/oltp/orders.yml").read_text())
    env = {k: v for k, v in os.environ.items() if k not in ("CONNECT_URL", "REDIS_URL")}
    env.update(MYSQL_URL="mysql://root@127.0.0.1:3306/", PIPELINE_FILE=str(pipelines),
               SCHEMA_CONTRACTS_DIR=str(contracts))
    return env


def chaos(env: dict[str, str], *args: str) -> tuple[int, dict[str, Any]]:
    proc = subprocess.run([sys.executable, str(SCRIPT), *args], env=env, capture_output=True, text=True,
                          cwd=str(ROOT), timeout=60)
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 1, proc.stdout + proc.stderr
    return proc.returncode, json.loads(lines[0])


def test_apply_then_revert(orders_db: str, tmp_path: Path) -> None:
    env = write_env(tmp_path, orders_db)
    code, out = chaos(env, "--table", f"{orders_db}.orders", "--column", "unexpected_field")
    assert code == 0, out
    assert out["action"] == "apply" and out["column"] == "unexpected_field"
    assert out["ddl"] == f"ALTER TABLE `{orders_db}`.`orders` ADD COLUMN `unexpected_field` VARCHAR(64) NULL"
    assert out["applied_at"].endswith("+00:00") and "MariaDB" in out["mysql"]["server"]
    assert out["mysql"]["columns"][-1]["name"] == "unexpected_field"
    assert out["connector"] == {"status": "not configured"}
    code, again = chaos(env, "--table", f"{orders_db}.orders", "--column", "unexpected_field")
    assert code == 2 and "already exists" in again["error"]
    code, out = chaos(env, "--table", f"{orders_db}.orders", "--column", "unexpected_field", "--revert")
    assert code == 0 and out["action"] == "revert" and "DROP COLUMN `unexpected_field`" in out["ddl"]
    assert "unexpected_field" not in [c[0] for c in columns_of(orders_db)]


def test_refusals_leave_the_table_unchanged(orders_db: str, tmp_path: Path) -> None:
    env = write_env(tmp_path, orders_db)
    before = columns_of(orders_db)
    cases = [
        ("--table", f"{orders_db}.orders", "--column", "status", "--revert"),  # in the contract
        ("--table", f"{orders_db}.orders", "--column", "ghost", "--revert"),  # not there
        ("--table", f"{orders_db}.other", "--column", "x"),  # outside the pipeline file
        ("--table", f"{orders_db}.orders", "--column", "x", "--type", "INT; DROP TABLE orders"),
        ("--table", f"{orders_db}.orders", "--column", "x", "--type", "VARCHAR(64) DEFAULT (sleep(1))"),
    ]
    for args in cases:
        code, out = chaos(env, *args)
        assert code == 2 and out["error"], (args, out)
    assert columns_of(orders_db) == before


def test_revert_refused_without_any_baseline(orders_db: str, tmp_path: Path) -> None:
    env = write_env(tmp_path, orders_db, contract=False)
    code, out = chaos(env, "--table", f"{orders_db}.orders", "--column", "x1", "--type", "decimal(12,2)")
    assert code == 0 and out["ddl"].endswith("`x1` DECIMAL(12,2)")
    code, out = chaos(env, "--table", f"{orders_db}.orders", "--column", "x1", "--revert")
    assert code == 2 and "no baseline" in out["error"]


def test_mysql_unreachable_exits_1(orders_db: str, tmp_path: Path) -> None:
    env = write_env(tmp_path, orders_db)
    env["MYSQL_URL"] = f"mysql://root:s3cretpw@127.0.0.1:{free_port()}/"
    proc = subprocess.run([sys.executable, str(SCRIPT), "--table", f"{orders_db}.orders", "--column", "c"],
                          env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1 and "s3cretpw" not in proc.stdout + proc.stderr
    assert "MySQL at 127.0.0.1" in json.loads(proc.stdout)["error"]


class _Connect(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = json.dumps({"name": "c1", "connector": {"state": "RUNNING", "worker_id": "w:8083"},
                           "tasks": [{"id": 0, "state": "FAILED", "worker_id": "w:8083", "trace": "x"}]})
        ok = self.path == "/connectors/c1/status"
        self.send_response(200 if ok else 404)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body.encode() if ok else b"{}")

    def log_message(self, *args: Any) -> None:
        pass


@pytest.mark.parametrize("reachable", [True, False])
def test_connector_status(orders_db: str, tmp_path: Path, reachable: bool) -> None:
    env = write_env(tmp_path, orders_db)
    server = HTTPServer(("127.0.0.1", 0), _Connect)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = server.server_address[1] if reachable else free_port()
        env["CONNECT_URL"] = f"http://127.0.0.1:{port}"
        code, out = chaos(env, "--table", f"{orders_db}.orders", "--column", "c9", "--type", "INT")
    finally:
        server.shutdown()
    assert code == 0
    if reachable:
        assert out["connector"]["name"] == "c1" and out["connector"]["state"] == "RUNNING"
        assert out["connector"]["tasks"][0]["state"] == "FAILED"
    else:
        assert out["connector"]["status"] == "unreachable" and out["connector"]["reason"]
