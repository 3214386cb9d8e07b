"""A pipeline world for the sandbox: Kafka Connect and Flink simulators whose state follows the real MySQL.

A column the connector's registered schema lacks makes its task FAIL with Debezium's trace (and Connect
logs it); while the task is FAILED the Flink job keeps restarting. Revert the column and restart the
connector, and both come back.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime

from bot.clients.mysql import connect
from bot.sandbox.connect_sim import ConnectSimulator
from bot.sandbox.docker_sim import DockerEngineSimulator
from bot.sandbox.flink_sim import FlinkSimulator
from bot.schema.model import split_table
from bot.schema.reader import read_table

log = logging.getLogger(__name__)
TRACE = (
    "org.apache.kafka.connect.errors.ConnectException: An exception occurred in the change event producer. "
    "This connector will be stopped.\n\tat io.debezium.pipeline.ErrorHandler.setProducerThrowable(ErrorHandler.java:67)\n"
    "\tat io.debezium.connector.binlog.BinlogStreamingChangeEventSource.handleEvent(BinlogStreamingChangeEventSource.java:591)\n"
    "Caused by: io.debezium.DebeziumException: Error processing binlog event\n\t... 7 more\n"
    "Caused by: io.debezium.DebeziumException: Encountered change event for table {table} whose schema isn't known "
    "to this connector\n\t... 12 more"
)
FLINK_ERROR = ("org.apache.flink.util.FlinkRuntimeException: Failed to deserialize CDC record of {table}: "
               "unknown field '{column}'\n\tat org.example.orders.OrdersEnrichment.map(OrdersEnrichment.java:88)")


class PipelineWorld:
    def __init__(self, mysql_url: str, table: str, connector: str, job: str, registered: set[str],
                 connect_sim: ConnectSimulator, flink_sim: FlinkSimulator,
                 docker_sim: DockerEngineSimulator | None = None, container: str = "dataflow-connect-1",
                 interval_s: float = 0.3) -> None:
        self.mysql_url, self.table, self.connector, self.job = mysql_url, table, connector, job
        self.registered = registered
        self.connect, self.flink, self.docker, self.container = connect_sim, flink_sim, docker_sim, container
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="sandbox-world", daemon=True)
        connect_sim.health_check = self.connect_health
        flink_sim.health_check = self.flink_health

    def drifted_columns(self) -> list[str]:
        db, name = split_table(self.table)
        conn = connect(self.mysql_url)
        try:
            live = read_table(conn, db, name)
        finally:
            conn.close()
        return [c for c in (live.names() if live else []) if c not in self.registered]

    def trace(self) -> str:
        return TRACE.format(table=self.table)

    def connect_health(self, name: str) -> str | None:
        return self.trace() if name == self.connector and self.drifted_columns() else None

    def flink_health(self, name: str) -> str | None:
        failed = any(t["state"] == "FAILED" for t in self.connect.status(self.connector)["tasks"])
        return "upstream connector FAILED" if name == self.job and failed else None

    def tick(self) -> None:
        """Fail the task when drift appears; keep Flink restarting while the task is FAILED."""
        tasks = self.connect.status(self.connector)["tasks"]
        drift = self.drifted_columns()
        if drift and any(t["state"] == "RUNNING" for t in tasks):
            self.connect.fail_task(self.connector, 0, self.trace())
            self._log_failure(drift[0])
        if any(t["state"] == "FAILED" for t in self.connect.status(self.connector)["tasks"]):
            job = self.flink.job(self.job)
            if job.state == "RUNNING":
                column = drift[0] if drift else "?"
                self.flink.fail_and_restart(self.job, "org.apache.flink.util.FlinkRuntimeException",
                                            FLINK_ERROR.format(table=self.table, column=column))

    def _log_failure(self, column: str) -> None:
        if self.docker is None:
            return
        now = datetime.now(UTC)
        self.docker.append_log(self.container, f"WARN Schema change detected on {self.table}: column '{column}' "
                                               "is not in the connector's schema history", at=now)
        self.docker.append_log(self.container, "ERROR WorkerSourceTask{id=" + self.connector + "-0} Task threw an "
                               "uncaught and unrecoverable exception", stream="stderr", at=now)
        for line in self.trace().splitlines():
            self.docker.append_log(self.container, line, stream="stderr", at=now)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.tick()
            except Exception:  # the world must keep turning while MySQL or a simulator restarts
                log.debug("world tick failed", exc_info=True)

    def start(self) -> PipelineWorld:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
