"""The whole sandbox in one object: Slack emulator, Connect/Flink/Docker simulators following the real
MySQL, the seeded demo table, and a real `dataflow-bot serve` process wired to all of them."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import pymysql
import redis
import yaml

from bot.clients.mysql import connect, parse_mysql_url
from bot.errors import BackendError, UserInputError
from bot.sandbox.connect_sim import ConnectSimulator
from bot.sandbox.demo_lock import DemoLock
from bot.sandbox.docker_sim import DockerEngineSimulator
from bot.sandbox.flink_sim import FlinkSimulator
from bot.sandbox.slack_emulator import SlackEmulator
from bot.sandbox.world import PipelineWorld
from bot.schema.baseline import BaselineStore
from bot.schema.model import TableSchema
from bot.schema.reader import read_table

REPO = Path(__file__).resolve().parents[2]
SEED_SQL = REPO / "scripts" / "sql" / "oltp_orders.sql"
TABLE, CONNECTOR, JOB = "oltp.orders", "mysql-oltp-orders", "cdc-orders-enrich"
DEMO_MARK = "dataflow-demo"   # the table comment that says the demo created it (and may drop it)
ALICE, BOB = "U0ALICE", "U0BOB"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


BOT_START_TIMEOUT_S = 60.0   # a cold start on a loaded 2-core machine (the real stack beside it) takes ~10 s


def start_bot_process(env: dict[str, str], workdir: Path, url: str) -> subprocess.Popen[bytes]:
    """`dataflow-bot serve` as a child process, its output in workdir/bot.log; returns once it answers."""
    log_path = workdir / "bot.log"
    bot = subprocess.Popen([sys.executable, "-m", "bot", "serve"], env=env, cwd=workdir, stdin=subprocess.DEVNULL,
                           stdout=log_path.open("wb"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + BOT_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if bot.poll() is not None:
            raise BackendError("the demo's bot", url, f"exited at start (exit {bot.returncode}); its log: {log_path}")
        try:
            httpx.get(url + "/healthz", timeout=1)
            return bot
        except httpx.HTTPError:
            time.sleep(0.2)
    bot.kill()
    raise BackendError("the demo's bot", url, f"no answer within {BOT_START_TIMEOUT_S:.0f} s; its log: {log_path}")


def clear_bot_keys(redis_url: str) -> None:
    """Every `dfo:*` key in the demo's Redis database, and nothing else there."""
    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter("dfo:*", count=500))
    if keys:
        client.delete(*keys)
    client.close()


class SandboxStack:
    def __init__(self, mysql_url: str, redis_url: str, workdir: Path | None = None) -> None:
        self.mysql_url, self.redis_url = mysql_url, redis_url
        self.workdir = workdir or Path(tempfile.mkdtemp(prefix="dataflow-demo-"))
        self._own_workdir = workdir is None   # removed at stop unless kept; a caller's folder is the caller's
        self.secret, self.webhook_token = secrets.token_hex(16), secrets.token_hex(16)
        self.slack = SlackEmulator(signing_secret=self.secret)
        self.connect = ConnectSimulator(restart_delay=0.3)
        self.flink = FlinkSimulator(restart_delay=0.5)
        self.docker = DockerEngineSimulator()
        self.world: PipelineWorld | None = None
        self.bot: subprocess.Popen[bytes] | None = None
        self.bot_url = ""
        # What this run did, so that stop() undoes that and only that (a refused run leaves all as it was).
        self.lock = DemoLock(mysql_url, redis_url)
        self._locked = self._seeded = self._cleared = False
        self._started: list[SlackEmulator | ConnectSimulator | FlinkSimulator | DockerEngineSimulator] = []

    # -- MySQL and Redis ------------------------------------------------------------------------------
    def seed_table(self) -> list[str]:
        """(Re)create oltp.orders, marked as the demo's; refuse to touch a table the demo did not create."""
        conn = connect(self.mysql_url)
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT TABLE_COMMENT FROM information_schema.TABLES "
                            "WHERE TABLE_SCHEMA='oltp' AND TABLE_NAME='orders'")
                row = cur.fetchone()
                if row is not None and row[0] != DEMO_MARK:
                    raise UserInputError("oltp.orders exists and was not created by the demo: refusing to touch it.",
                                         "Point MYSQL_URL at a scratch server, or drop the table yourself.")
                self._seeded = True   # from here on the table is this run's: stop() drops it
                cur.execute("DROP TABLE IF EXISTS oltp.orders")
            self.run_sql(SEED_SQL.read_text(encoding="utf-8"))   # its CREATE TABLE carries DEMO_MARK
            live = read_table(conn, "oltp", "orders")
        finally:
            conn.close()
        return live.names() if live else []

    def run_sql(self, sql: str) -> None:
        kwargs = parse_mysql_url(self.mysql_url)
        kwargs.pop("database", None)   # the seed SQL names its own database
        conn = pymysql.connect(**kwargs, autocommit=True, client_flag=pymysql.constants.CLIENT.MULTI_STATEMENTS)
        try:
            with conn.cursor() as cur:
                cur.execute(sql)
                while cur.nextset():
                    pass
        finally:
            conn.close()

    def drop_table(self) -> None:
        self.run_sql("DROP TABLE IF EXISTS oltp.orders")

    def clear_redis(self) -> None:
        clear_bot_keys(self.redis_url)

    # -- the simulators and the bot --------------------------------------------------------------------
    def start(self) -> SandboxStack:
        """Lock, then seed and start; a refusal or failure leaves what it found, stop() undoes the rest."""
        self.lock.acquire()   # before anything is touched: a second demo refuses here (DemoBusy)
        self._locked = True
        self._cleared = True
        self.clear_redis()
        columns = self.seed_table()
        BaselineStore(redis.Redis.from_url(self.redis_url), self.workdir / "schemas").take_snapshot(
            TABLE, by_user="demo", live=self._live())
        for server in (self.slack, self.connect, self.flink, self.docker):
            server.start()
            self._started.append(server)
        self.connect.add_connector(CONNECTOR, {"connector.class": "io.debezium.connector.mysql.MySqlConnector",
                                               "database.password": secrets.token_hex(8), "tasks.max": "1"})
        self.flink.add_job(JOB)
        self.flink.complete_checkpoint(self.flink.job(JOB).jid)
        # As the stacks submit it (POST /jars/upload): the flink-restarting runbook's restart finds it in /jars.
        self.flink.control.upload_jar("cdc-orders-job.jar")
        self.docker.add_container("dataflow-connect-1", "connect")
        self.docker.add_container("dataflow-flink-jobmanager-1", "flink-jobmanager")
        self.world = PipelineWorld(self.mysql_url, TABLE, CONNECTOR, JOB, set(columns), self.connect, self.flink,
                                   self.docker).start()
        self._start_bot()
        return self

    def _live(self) -> TableSchema | None:
        conn = connect(self.mysql_url)
        try:
            return read_table(conn, "oltp", "orders")
        finally:
            conn.close()

    def bot_env(self, port: int) -> dict[str, str]:
        (self.workdir / "schemas").mkdir(exist_ok=True)
        pipelines = self.workdir / "pipelines.yml"
        pipelines.write_text(yaml.safe_dump({"pipelines": [{
            "name": "orders", "tables": [TABLE], "connectors": [CONNECTOR], "topics": ["dbserver1.oltp.orders"],
            "flink_jobs": [JOB], "log_services": ["connect"],
            "validation_queries": ["SELECT COUNT(*) AS orders, MAX(id) AS last_id FROM oltp.orders"]}]}))
        env = {k: v for k, v in os.environ.items() if not k.startswith("SLACK_")}
        env.update(SLACK_BOT_TOKEN=self.slack.bot_token, SLACK_SIGNING_SECRET=self.secret,
                   SLACK_API_URL=self.slack.api_url, INCIDENT_CHANNEL="C0INCIDENT", APPROVERS=BOB,
                   ALERT_WEBHOOK_TOKEN=self.webhook_token, REDIS_URL=self.redis_url, MYSQL_URL=self.mysql_url,
                   CONNECT_URL=self.connect.url, FLINK_URL=self.flink.url, DOCKER_HOST=self.docker.docker_host,
                   PIPELINE_FILE=str(pipelines), SCHEMA_CONTRACTS_DIR=str(self.workdir / "schemas"),
                   BOT_HOST="127.0.0.1", BOT_PORT=str(port), LOG_FORMAT="json", DRIFT_WATCH_INTERVAL_SECONDS="1",
                   ENRICH_TIMEOUT_SECONDS="5",
                   FLINK_STABLE_SECONDS="1")   # the simulator's restarts take half a second
        return env

    def _start_bot(self) -> None:
        port = free_port()
        self.bot_url = f"http://127.0.0.1:{port}"
        self.bot = start_bot_process(self.bot_env(port), self.workdir, self.bot_url)
        self.slack.request_url = self.bot_url + "/slack/events"

    def stop(self, keep_data: bool = False, keep_logs: bool = False) -> None:
        """Undo what start() did, and only that: a server never started is not waited for, a table this
        run did not seed is not dropped, another demo's Redis keys are not cleared."""
        if self.bot and self.bot.poll() is None:
            self.bot.terminate()
            try:
                self.bot.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.bot.kill()
                self.bot.wait(timeout=5)
        if self.world:
            self.world.stop()
        for server in reversed(self._started):
            with contextlib.suppress(Exception):  # stopping must go on to the next one whatever this one says
                server.stop()
        try:
            if not keep_data:
                self._remove_data()
        finally:
            if self._own_workdir and not keep_data and not keep_logs:
                shutil.rmtree(self.workdir, ignore_errors=True)
            if self._locked:
                self.lock.release()

    def _remove_data(self) -> None:
        if self._seeded:
            self.drop_table()
        if self._cleared:
            self.clear_redis()
