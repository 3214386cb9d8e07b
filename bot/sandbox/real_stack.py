"""The local real stack (`make stack-up`) with the Slack emulator and a real bot process wired to it.

Only Slack is emulated: MariaDB, Kafka Connect + Debezium, the broker, Flink, Prometheus and Alertmanager
are the real ones that scripts/stack/ started. Alertmanager sends to the bot at STACK_BOT_URL (port 3000
by default), so the bot binds that port.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import redis
import yaml

from bot.clients.flink import FlinkClient
from bot.clients.mysql import connect
from bot.errors import BackendError, UserInputError
from bot.sandbox.demo_lock import DemoLock
from bot.sandbox.slack_emulator import SlackEmulator
from bot.sandbox.stack import ALICE, BOB, REPO, clear_bot_keys, start_bot_process
from bot.schema.baseline import BaselineStore
from bot.schema.reader import read_table

DRIFT_COLUMN = "unexpected_field"
TRAFFIC_SECONDS = 2.0  # the stand-in for the application: one new order this often
HEALTHY_TIMEOUT_S = 240.0


def stack_dir() -> Path:
    return Path(os.environ.get("STACK_DIR") or REPO / ".stack")


class RealStack:
    def __init__(self, redis_url: str, folder: Path | None = None) -> None:
        info_path = (folder or stack_dir()) / "stack.json"
        if not info_path.exists():
            raise UserInputError(f"There is no local real stack here ({info_path} is missing).",
                                 "Install and start it: `make stack-install stack-up`.")
        self.env: dict[str, str] = json.loads(info_path.read_text())["env"]
        self.redis_url = redis_url
        self.table, self.connector = self.env["CDC_TABLE"], self.env["CONNECTOR_NAME"]
        self.job, self.topic = self.env["FLINK_JOB_NAME"], self.env["CDC_TOPIC"]
        self.mysql_url, self.admin_url = self.env["MYSQL_URL"], self.env["MYSQL_ADMIN_URL"]
        self.webhook_token, self.bot_url = self.env["ALERT_WEBHOOK_TOKEN"], self.env["STACK_BOT_URL"]
        self.workdir = Path(tempfile.mkdtemp(prefix="dataflow-real-demo-"))
        self.secret = secrets.token_hex(16)
        self.slack = SlackEmulator(signing_secret=self.secret)
        self.bot: subprocess.Popen[bytes] | None = None
        self._traffic = threading.Event()
        self._traffic_thread: threading.Thread | None = None
        # The sandbox demo's lock: two drills (or a drill and a sandbox demo) on one Redis DB would clear
        # each other's keys; the second one refuses in one line instead (DemoBusy).
        self.lock = DemoLock(self.mysql_url, redis_url)
        self._locked = False

    # -- checks -------------------------------------------------------------------------------------
    def preflight(self) -> None:
        """Every piece answers and the bot's port is free; else one line that says which and what to do."""
        for name, url in (("Kafka Connect", self.env["CONNECT_URL"] + "/"),
                          ("Flink", self.env["FLINK_URL"] + "/overview"),
                          ("Prometheus", self.env["PROMETHEUS_URL"] + "/-/ready"),
                          ("Alertmanager", self.env["ALERTMANAGER_URL"] + "/-/ready")):
            try:
                httpx.get(url, timeout=3).raise_for_status()
            except httpx.HTTPError:
                raise UserInputError(f"The real stack's {name} does not answer at {url}.",
                                     "Start the stack: `make stack-up` (`make stack-status` shows each piece).") from None
        self.sql("SELECT 1")
        port = urlsplit(self.bot_url).port or 3000
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                raise UserInputError(f"Port {port} is in use: the real stack's Alertmanager sends alerts to the bot "
                                     "there, so the demo's bot must bind it.", "Stop what listens there, then retry.")

    def sql(self, statement: str, admin: bool = True) -> list[tuple[object, ...]]:
        try:
            conn = connect(self.admin_url if admin else self.mysql_url)
        except BackendError as exc:
            raise UserInputError(f"The real stack's MariaDB does not answer ({exc.reason}).",
                                 "Start the stack: `make stack-up`.") from None
        try:
            with conn.cursor() as cur:
                cur.execute(statement)
                return list(cur.fetchall())
        finally:
            conn.close()

    # -- the pipeline -------------------------------------------------------------------------------
    def columns(self) -> list[str]:
        db, table = self.table.split(".")
        rows = self.sql(f"SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA='{db}' "
                        f"AND TABLE_NAME='{table}' ORDER BY ORDINAL_POSITION")
        return [str(r[0]) for r in rows]

    def insert_order(self) -> None:
        self.sql(f"INSERT INTO {self.table} (customer_id, amount) VALUES (1001, 9.99)")

    def flink_healthy(self, stable_s: float = 20.0) -> bool:
        with FlinkClient(self.env["FLINK_URL"], timeout=5, stable_seconds=stable_s) as client:
            return client.job_health(self.job).healthy

    def reset(self) -> None:
        """The pipeline as it should be: no drift column, a new good row, the Flink job healthy."""
        if DRIFT_COLUMN in self.columns():
            self.sql(f"ALTER TABLE {self.table} DROP COLUMN {DRIFT_COLUMN}")
        self.insert_order()
        deadline = time.monotonic() + HEALTHY_TIMEOUT_S
        while not self.flink_healthy():
            if time.monotonic() > deadline:
                raise UserInputError(f"The Flink job {self.job} did not become healthy within {HEALTHY_TIMEOUT_S:.0f} s.",
                                     "Resubmit it: `python3 scripts/stack/stack.py job submit --replace`.")
            self.insert_order()
            time.sleep(3)

    def start_traffic(self) -> None:
        """New orders keep coming, as in production: a strict consumer meets the drift on the next row."""
        def loop() -> None:
            while not self._traffic.wait(TRAFFIC_SECONDS):
                with contextlib.suppress(Exception):  # the drill goes on; a missed row is no harm
                    self.insert_order()

        self._traffic_thread = threading.Thread(target=loop, name="traffic", daemon=True)
        self._traffic_thread.start()

    def stop_traffic(self) -> None:
        """No more orders from the stand-in application, including one being written: for a test that must
        write exactly the rows it means."""
        self._traffic.set()
        if self._traffic_thread is not None:
            self._traffic_thread.join(timeout=30)

    # -- the bot ------------------------------------------------------------------------------------
    def bot_env(self) -> dict[str, str]:
        db, table = self.table.split(".")
        pipelines = self.workdir / "pipelines.yml"
        pipelines.write_text(yaml.safe_dump({"pipelines": [{
            "name": "orders", "tables": [self.table], "connectors": [self.connector], "topics": [self.topic],
            "flink_jobs": [self.job], "log_services": [], "flink_submit": self.flink_submit(),
            "validation_queries": [f"SELECT COUNT(*) AS orders, MAX(id) AS last_id FROM {db}.{table}"]}]}))
        env = {k: v for k, v in os.environ.items() if not k.startswith("SLACK_")}
        env.update(SLACK_BOT_TOKEN=self.slack.bot_token, SLACK_SIGNING_SECRET=self.secret,
                   SLACK_API_URL=self.slack.api_url, INCIDENT_CHANNEL="C0INCIDENT", APPROVERS=BOB,
                   ALERT_WEBHOOK_TOKEN=self.webhook_token, REDIS_URL=self.redis_url, MYSQL_URL=self.mysql_url,
                   CONNECT_URL=self.env["CONNECT_URL"], FLINK_URL=self.env["FLINK_URL"],
                   PROMETHEUS_URL=self.env["PROMETHEUS_URL"], ALERTMANAGER_URL=self.env["ALERTMANAGER_URL"],
                   PIPELINE_FILE=str(pipelines), SCHEMA_CONTRACTS_DIR=str(self.workdir / "schemas"),
                   BOT_HOST="127.0.0.1", BOT_PORT=str(urlsplit(self.bot_url).port or 3000), LOG_FORMAT="json",
                   DRIFT_WATCH_INTERVAL_SECONDS="5", FLINK_STABLE_SECONDS="20")
        env.pop("DOCKER_HOST", None)
        return env

    def flink_submit(self) -> dict[str, dict[str, object]]:
        """How the stack submitted its Flink job (stack.json), for the restart step; none from an older stack."""
        if "FLINK_JOB_JAR" not in self.env:
            return {}
        return {self.job: {"jar": self.env["FLINK_JOB_JAR"], "entry_class": self.env["FLINK_JOB_ENTRY_CLASS"],
                           "program_args": json.loads(self.env["FLINK_JOB_PROGRAM_ARGS"]),
                           "parallelism": int(self.env.get("FLINK_JOB_PARALLELISM") or 1)}}

    def start(self) -> RealStack:
        self.preflight()
        self.lock.acquire()
        self._locked = True
        self.clear_redis()
        self.reset()
        self.take_baseline()
        self.slack.start()
        self.bot = start_bot_process(self.bot_env(), self.workdir, self.bot_url)
        self.slack.request_url = self.bot_url + "/slack/events"
        self.start_traffic()
        return self

    def take_baseline(self) -> None:
        (self.workdir / "schemas").mkdir(exist_ok=True)
        db, table = self.table.split(".")
        conn = connect(self.mysql_url)
        try:
            live = read_table(conn, db, table)
        finally:
            conn.close()
        BaselineStore(redis.Redis.from_url(self.redis_url), self.workdir / "schemas").take_snapshot(
            self.table, by_user="demo", live=live)

    def clear_redis(self) -> None:
        clear_bot_keys(self.redis_url)

    def stop(self, keep_data: bool = False, keep_logs: bool = False) -> None:
        """Bot and emulator stopped, the table as the drill found it; Redis keys and the work folder (the
        bot's log, the generated pipeline file) removed unless kept."""
        self._traffic.set()
        if self.bot and self.bot.poll() is None:
            self.bot.terminate()
            try:
                self.bot.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.bot.kill()
        with contextlib.suppress(Exception):  # never started
            self.slack.stop()
        with contextlib.suppress(UserInputError):  # leave the stack as the drill found it: no drift column
            if DRIFT_COLUMN in self.columns():
                self.sql(f"ALTER TABLE {self.table} DROP COLUMN {DRIFT_COLUMN}")
        if not keep_data:
            self.clear_redis()
        if not (keep_data or keep_logs):
            shutil.rmtree(self.workdir, ignore_errors=True)
        if self._locked:
            self.lock.release()
            self._locked = False


__all__ = ["ALICE", "BOB", "DRIFT_COLUMN", "RealStack"]
