"""The local real stack as a contract target, and the one mutation the suite makes on it: schema drift on
oltp.orders, which puts the real Flink job into a restart loop; undone the way the stack documents
(drop the column, write a good row: the job skips the drifted events and runs again), the rows it wrote
deleted again."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pymysql

from bot.clients.flink import FlinkClient
from bot.clients.mysql import parse_mysql_url
from tests.contract.targets import DRIFT_COLUMN, Target, connector_file
from tests.realstack.control import ensure_up

RECOVERY_TIMEOUT_S = 180.0
STABLE_S = 10.0        # RUNNING this long with no failure since: the loop is over


class RealPipeline:
    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.table = env["CDC_TABLE"]
        self.inserted: list[int] = []

    def sql(self, statement: str) -> tuple[tuple[object, ...], int]:
        """Run one statement as root; its rows and the id it inserted (0 if none)."""
        conn = pymysql.connect(**parse_mysql_url(self.env["MYSQL_ADMIN_URL"]), autocommit=True, connect_timeout=5)
        try:
            with conn.cursor() as cur:
                cur.execute(statement)
                return tuple(cur.fetchall()), int(cur.lastrowid or 0)
        finally:
            conn.close()

    def has_drift_column(self) -> bool:
        db, table = self.table.split(".")
        return bool(self.sql(f"SELECT 1 FROM information_schema.COLUMNS WHERE TABLE_SCHEMA='{db}' "
                             f"AND TABLE_NAME='{table}' AND COLUMN_NAME='{DRIFT_COLUMN}'")[0])

    def insert_order(self) -> None:
        """A new order, as the application would write; remembered so that it is deleted afterwards."""
        self.inserted.append(self.sql(f"INSERT INTO {self.table} (customer_id, amount) VALUES (1001, 9.99)")[1])

    def start_drift(self) -> None:
        self.sql(f"ALTER TABLE {self.table} ADD COLUMN {DRIFT_COLUMN} VARCHAR(64) NULL")
        self.insert_order()

    def end_drift(self) -> None:
        """Column dropped, good rows until the job has run STABLE_S with no failure, test rows deleted."""
        if self.has_drift_column():
            self.sql(f"ALTER TABLE {self.table} DROP COLUMN {DRIFT_COLUMN}")
        deadline = time.monotonic() + RECOVERY_TIMEOUT_S
        with FlinkClient(self.env["FLINK_URL"], timeout=5, stable_seconds=STABLE_S) as flink:
            while not flink.job_health(self.env["FLINK_JOB_NAME"]).healthy:
                if time.monotonic() > deadline:
                    raise AssertionError(f"the real Flink job did not recover within {RECOVERY_TIMEOUT_S:.0f} s; "
                                         "`stack.py job submit --replace` restores it")
                self.insert_order()
                time.sleep(3)
        if self.inserted:
            self.sql(f"DELETE FROM {self.table} WHERE id IN ({', '.join(map(str, self.inserted))})")
            self.inserted.clear()


def _probe_fails_by_itself(name: str) -> None:
    """Nothing to do: the real FileStreamSink task fails on its own (its folder does not exist)."""


@contextmanager
def real() -> Iterator[Target]:
    env = ensure_up()
    pipeline = RealPipeline(env)
    yield Target("real", env["CONNECT_URL"], env["FLINK_URL"], env["CONNECTOR_NAME"], env["FLINK_JOB_NAME"],
                 env["CDC_TOPIC"], connector_file()["database.password"], _probe_fails_by_itself,
                 pipeline.start_drift, pipeline.end_drift, json.loads(env["FLINK_JOB_PROGRAM_ARGS"]))
