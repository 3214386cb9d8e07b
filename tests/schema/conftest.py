"""Fixtures for the schema tests: the demo orders table, and a second MariaDB with the binlog on."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pymysql
import pytest

from tests.conftest import MYSQL_HOST, MYSQL_PORT, free_port

ROOT = Path(__file__).resolve().parents[2]
ORDERS_SQL = ROOT / "scripts" / "sql" / "oltp_orders.sql"
MARIADBD = "/usr/sbin/mariadbd"


def run_sql(sql: str, database: str | None = None, port: int = MYSQL_PORT, user: str = "root",
            password: str = "") -> list[tuple[Any, ...]]:
    conn = pymysql.connect(host=MYSQL_HOST, port=port, user=user, password=password, database=database,
                           autocommit=True)
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
            return list(cur.fetchall())
    finally:
        conn.close()


def create_orders(database: str, port: int = MYSQL_PORT) -> None:
    """The demo table from scripts/sql/oltp_orders.sql, in `database` instead of oltp."""
    text = ORDERS_SQL.read_text(encoding="utf-8")
    body = text.split("USE oltp;", 1)[1]
    for statement in body.split(";"):
        if statement.strip() and not statement.strip().startswith("--"):
            run_sql(statement, database, port)


def columns_of(database: str, table: str = "orders", port: int = MYSQL_PORT) -> list[tuple[Any, ...]]:
    """Everything about the table's columns, to compare a schema before and after."""
    return run_sql(
        "SELECT COLUMN_NAME, ORDINAL_POSITION, COLUMN_TYPE, IS_NULLABLE, COLUMN_DEFAULT, EXTRA, COLUMN_KEY "
        f"FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = '{database}' AND TABLE_NAME = '{table}' "
        "ORDER BY ORDINAL_POSITION", port=port)


@pytest.fixture
def orders_db(mysql_db: str) -> str:
    create_orders(mysql_db)
    return mysql_db


@pytest.fixture(scope="session")
def binlog_server() -> Iterator[int]:
    """A throw-away MariaDB with log_bin ON (ROW format) on a free port; yields the port."""
    if not Path(MARIADBD).exists() or not shutil.which("mariadb-install-db"):
        pytest.skip("mariadbd / mariadb-install-db not installed")
    base = Path(tempfile.mkdtemp(prefix="mdb", dir="/tmp"))  # short: unix socket paths are limited
    datadir = base / "data"
    subprocess.run(["mariadb-install-db", "--no-defaults", f"--datadir={datadir}", "--skip-test-db",
                    "--auth-root-authentication-method=normal"], check=True, capture_output=True)
    port = free_port()
    log = (base / "err.log").open("wb")
    proc = subprocess.Popen(
        [MARIADBD, "--no-defaults", f"--datadir={datadir}", f"--socket={base}/s.sock", f"--port={port}",
         "--bind-address=127.0.0.1", f"--log-bin={datadir}/binlog", "--server-id=1",
         "--binlog-format=ROW", "--user=root", f"--pid-file={base}/p.pid", "--skip-name-resolve"],
        stdout=log, stderr=log)
    try:
        _wait_ready(port, proc)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()
        shutil.rmtree(base, ignore_errors=True)


def _wait_ready(port: int, proc: subprocess.Popen[bytes]) -> None:
    # Polling for readiness only; no test asserts on how long anything takes.
    for _ in range(300):
        if proc.poll() is not None:
            raise RuntimeError(f"mariadbd exited with {proc.returncode}")
        try:
            run_sql("SELECT 1", port=port)
            return
        except pymysql.err.OperationalError:
            time.sleep(0.1)
    raise RuntimeError("mariadbd did not answer")


@pytest.fixture
def binlog_db(binlog_server: int) -> Iterator[str]:
    name = f"t_{uuid.uuid4().hex[:12]}"
    run_sql(f"CREATE DATABASE `{name}`", port=binlog_server)
    yield name
    run_sql(f"DROP DATABASE IF EXISTS `{name}`", port=binlog_server)
