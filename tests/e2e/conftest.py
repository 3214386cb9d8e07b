"""Fixtures for tests that run the real bot process against the Slack emulator and real Redis."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pymysql
import pytest
import redis
import yaml

from bot.sandbox.connect_sim import ConnectSimulator
from bot.sandbox.flink_sim import FlinkSimulator
from bot.sandbox.slack_emulator import SlackEmulator
from tests.conftest import free_port
from tests.harness import REPO, SIGNING_SECRET, BotProcess, bot_env

SCHEMA_TRACE = (
    "org.apache.kafka.connect.errors.ConnectException: An exception occurred in the change event producer. "
    "This connector will be stopped.\n\tat io.debezium.pipeline.ErrorHandler.setProducerThrowable(ErrorHandler.java:67)\n"
    "Caused by: io.debezium.DebeziumException: Error processing binlog event\n\t... 7 more\n"
    "Caused by: io.debezium.DebeziumException: Encountered change event for table oltp.orders whose schema "
    "isn't known to this connector\n\t... 12 more"
)


@pytest.fixture
def slack() -> Iterator[SlackEmulator]:
    with SlackEmulator(signing_secret=SIGNING_SECRET) as emulator:
        yield emulator


@pytest.fixture
def start_bot(redis_url: str, slack: SlackEmulator) -> Iterator[Callable[..., BotProcess]]:
    """start_bot(**env) starts one more `dataflow-bot serve`; Slack's requests go to the first one."""
    started: list[BotProcess] = []

    def start(**extra: str) -> BotProcess:
        bot = BotProcess(bot_env(redis_url, slack.api_url, free_port(), **extra)).start()
        if not started:
            slack.request_url = bot.url + "/slack/events"
        started.append(bot)
        return bot

    yield start
    for bot in started:
        bot.stop()


@pytest.fixture
def bot(start_bot: Callable[..., BotProcess]) -> BotProcess:
    return start_bot()


@pytest.fixture
def connect_sim() -> Iterator[ConnectSimulator]:
    """Kafka Connect with the demo pipeline's connector, its task FAILED on an unknown table schema."""
    with ConnectSimulator(restart_delay=0.2) as sim:
        sim.add_connector("mysql-oltp-orders", {"connector.class": "io.debezium.connector.mysql.MySqlConnector",
                                                "database.password": "hunter2-connect-secret", "tasks.max": "1"})
        sim.fail_task("mysql-oltp-orders", 0, SCHEMA_TRACE)
        yield sim


@pytest.fixture
def flink_sim() -> Iterator[FlinkSimulator]:
    with FlinkSimulator() as sim:
        jid = sim.add_job("cdc-orders-enrich")
        sim.fail_and_restart(jid, "org.apache.flink.util.FlinkRuntimeException",
                             "org.apache.flink.util.FlinkRuntimeException: Failed to deserialize CDC record\n"
                             "\tat org.example.Orders.map(Orders.java:42)")
        yield sim


@pytest.fixture
def pipeline_bot(start_bot: Callable[..., BotProcess], connect_sim: ConnectSimulator,
                 flink_sim: FlinkSimulator) -> BotProcess:
    return start_bot(CONNECT_URL=connect_sim.url, FLINK_URL=flink_sim.url)


@dataclass
class DriftTable:
    """`<db>.orders` created from the demo SQL in a database of this test's own, with its lineage file."""

    db: str
    table: str
    env: dict[str, str]

    def alter(self, sql: str) -> None:
        conn = pymysql.connect(host="127.0.0.1", user="root", password="", database=self.db, autocommit=True)
        with conn.cursor() as cur:
            cur.execute(sql)
        conn.close()

    def columns(self) -> list[str]:
        conn = pymysql.connect(host="127.0.0.1", user="root", password="", autocommit=True)
        with conn.cursor() as cur:
            cur.execute("SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA=%s "
                        "AND TABLE_NAME='orders' ORDER BY ORDINAL_POSITION", (self.db,))
            names = [str(r[0]) for r in cur.fetchall()]
        conn.close()
        return names


@pytest.fixture
def drift_table(mysql_db: str, mysql_url: str, tmp_path: Path) -> DriftTable:
    sql = (REPO / "scripts" / "sql" / "oltp_orders.sql").read_text().replace("oltp", mysql_db)
    conn = pymysql.connect(host="127.0.0.1", user="root", password="", autocommit=True,
                           client_flag=pymysql.constants.CLIENT.MULTI_STATEMENTS)
    with conn.cursor() as cur:
        cur.execute(sql)
    conn.close()
    lineage = yaml.safe_load((REPO / "config" / "pipelines.yml").read_text())
    lineage["pipelines"][0]["tables"] = [f"{mysql_db}.orders"]
    lineage["pipelines"][0]["validation_queries"] = [f"SELECT COUNT(*) AS orders FROM {mysql_db}.orders"]
    (tmp_path / "pipelines.yml").write_text(yaml.safe_dump(lineage))
    contract = (REPO / "schemas" / "oltp" / "orders.yml").read_text().replace("oltp.orders", f"{mysql_db}.orders")
    (tmp_path / "schemas" / mysql_db).mkdir(parents=True)
    (tmp_path / "schemas" / mysql_db / "orders.yml").write_text(contract)
    env = {"PIPELINE_FILE": str(tmp_path / "pipelines.yml"), "SCHEMA_CONTRACTS_DIR": str(tmp_path / "schemas"),
           "MYSQL_URL": mysql_url}
    return DriftTable(mysql_db, f"{mysql_db}.orders", env)


class OwnRedis:
    """A Redis server of the test's own (append-only file on), which the test can stop and restart."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.dir = tempfile.mkdtemp(prefix="redis-")
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> OwnRedis:
        self.proc = subprocess.Popen([shutil.which("redis-server") or "/usr/bin/redis-server", "--port",
                                      str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "yes",
                                      "--appendfsync", "always", "--dir", self.dir],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(100):
            try:
                redis.Redis(port=self.port).ping()
                return self
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("redis did not start")

    def stop(self) -> None:
        if self.proc:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def own_redis() -> Iterator[OwnRedis]:
    server = OwnRedis().start()
    yield server
    server.stop()
