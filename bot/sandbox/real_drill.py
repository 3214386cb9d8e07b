"""The seed's schema-drift drill on the local REAL stack: real MariaDB, Debezium, broker, Flink, Prometheus
and Alertmanager; only Slack is emulated. Slower than the sandbox (Prometheus's `for: 1m`, Flink restarts),
every step real: the alert comes from Prometheus through Alertmanager, the revert runs on MariaDB, and
Flink is judged from its own REST answers."""

from __future__ import annotations

import time

from rich.console import Console

from bot.sandbox.demo import CHANNEL, Drill
from bot.sandbox.real_stack import ALICE, BOB, DRIFT_COLUMN, RealStack

ALERT_TIMEOUT_S = 240.0  # Prometheus scrapes every 5 s; SchemaDriftDetected waits `for: 1m`
RESOLVE_TIMEOUT_S = 180.0
# What the drift fires (monitoring/prometheus/rules): the drift watcher's gauge, and the strict job's loop.
DRIFT_ALERTS = ("SchemaDriftDetected", "FlinkJobRestarting")


class RealDrill(Drill):
    def __init__(self, stack: RealStack, console: Console) -> None:
        super().__init__(stack, console)  # type: ignore[arg-type]
        self.real = stack

    def root(self, timeout: float = ALERT_TIMEOUT_S) -> str:
        """The drift's incident. Not just the first root: Alertmanager may first deliver other alerts of
        the stack (DataflowBotDown fired while no bot listened, before this one started)."""
        def drift_root() -> str | None:
            return next((m["ts"] for m in self.slack.messages(CHANNEL)
                         if "INC-" in m.get("text", "") and any(a in m["text"] for a in DRIFT_ALERTS)), None)

        return str(self.slack.wait_for(drift_root, timeout=timeout,
                                       what="the drift incident's root message (from Alertmanager)"))

    def run(self) -> str:
        self.started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        self.real.sql(f"ALTER TABLE {self.real.table} ADD COLUMN {DRIFT_COLUMN} VARCHAR(64) NULL")
        self.say("Chaos: drift applied on the real MariaDB", f"ADD COLUMN {DRIFT_COLUMN}; orders keep coming")
        self.root_ts = self.root()
        self.say("Prometheus fired, Alertmanager delivered: one incident thread")
        self.wait_text("*Flink*", timeout=60)
        self.wait_text("*Schema*", timeout=60)
        self.say("Thread enriched from the real systems", "Connect status, Flink job and exception, diff, binlog DDL")
        self.slack.slash_command(ALICE, "runbook schema-drift")
        self.click(ALICE, "run_step:rollback-schema")
        self.click(BOB, "approve_step")
        self.wait_text("column dropped", timeout=120)
        self.say("Bob approved: the column is dropped on the real MariaDB")
        self.click(ALICE, "run_step:check-flink")
        self.wait_text("Confirm Flink healthy", timeout=240)
        self.click(ALICE, "run_step:validate-data")
        self.wait_text("*Data validation*", timeout=60)
        self.say("Flink checked from its state and exception history; data validated")
        self.wait_text("Resolved: *SchemaDriftDetected*", timeout=RESOLVE_TIMEOUT_S)
        self.say("Alertmanager sent the resolve: SchemaDriftDetected is clear")
        return self.root_ts


__all__ = ["BOB", "RealDrill"]
