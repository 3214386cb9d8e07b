"""`dataflow-bot demo`: the schema-drift drill, end to end, in the sandbox. No Slack, no Docker."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx
from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.text import Text

from bot.clients.mysql import connect
from bot.sandbox.slack_render import render_thread
from bot.sandbox.stack import ALICE, BOB, CONNECTOR, JOB, TABLE, SandboxStack
from bot.schema.drill import add_column_ddl
from bot.schema.reader import read_table
from bot.text.mrkdwn import Names, to_plain

CHANNEL = "C0INCIDENT"
DRIFT_COLUMN = "unexpected_field"
T = TypeVar("T")


class DrillStalled(Exception):
    """A step of the drill did not happen in time: said in one line, the run stops and cleans up."""


def utc_now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


class Drill:
    def __init__(self, stack: SandboxStack, console: Console) -> None:
        self.stack, self.slack, self.console = stack, stack.slack, console
        self.root_ts = ""
        self.started = utc_now()   # the alert's startsAt: set again when the drift is applied

    def say(self, title: str, detail: str = "") -> None:
        self.console.print(f"[bold green]✔[/] [bold]{escape(title)}[/]" + (f"  [dim]{escape(detail)}[/]" if detail else ""))

    def wait(self, predicate: Callable[[], T | None], what: str, timeout: float = 30) -> T:
        """The emulator's wait_for, failing as one line that says what did not happen (not its call dump)."""
        try:
            return self.slack.wait_for(predicate, timeout=timeout, what=what)
        except AssertionError:
            raise DrillStalled(f"{what} did not happen within {timeout:g} s") from None

    def drift(self) -> dict[str, Any]:
        """Apply the drift and wait until the simulators show it (task FAILED, Flink restarted), so that the
        alert's thread starts from the broken pipeline, as it would on the real stack."""
        self.started = utc_now()
        drift = self.apply_drift()
        self.wait(lambda: self.stack.connect.status(CONNECTOR)["tasks"][0]["state"] == "FAILED",
                  "the connector task failing")
        self.wait(lambda: self.stack.flink.job(JOB).num_restarts >= 1, "the Flink job restarting")
        return drift

    def open_incident(self) -> str:
        """Fire the alert; the root message's ts once the bot has posted it."""
        self.alert("firing")
        self.root_ts = self.wait(lambda: next((m["ts"] for m in self.slack.messages(CHANNEL)
                                               if "INC-" in m.get("text", "")), None), "the incident's root message")
        return self.root_ts

    # -- the world ---------------------------------------------------------------------------------------
    def apply_drift(self) -> dict[str, Any]:
        """What `make chaos-schema-drift ARGS="--table oltp.orders --column unexpected_field"` does."""
        conn = connect(self.stack.mysql_url)
        try:
            live = read_table(conn, "oltp", "orders")
            assert live is not None
            ddl = add_column_ddl(live, DRIFT_COLUMN)
            with conn.cursor() as cur:
                cur.execute(ddl)
            after = read_table(conn, "oltp", "orders")
        finally:
            conn.close()
        return {"action": "apply", "table": TABLE, "column": DRIFT_COLUMN, "ddl": ddl,
                "mysql": {"columns": after.names() if after else []}}

    def alert(self, status: str) -> None:
        now = utc_now()
        labels = {"alertname": "SchemaDriftDetected", "table": TABLE, "severity": "critical", "schema": "oltp"}
        body = {"version": "4", "groupKey": '{}:{alertname="SchemaDriftDetected", table="oltp.orders"}',
                "status": status, "receiver": "dataflow-bot", "groupLabels": {"alertname": "SchemaDriftDetected"},
                "commonLabels": labels, "commonAnnotations": {}, "externalURL": "http://alertmanager:9093",
                "truncatedAlerts": 0, "alerts": [{
                    "status": status, "labels": labels, "fingerprint": "5d1c2b3a4e5f6071",
                    "annotations": {"summary": "Columns of oltp.orders differ from the baseline"},
                    "startsAt": self.started, "endsAt": now if status == "resolved" else "0001-01-01T00:00:00Z",
                    "generatorURL": "http://prometheus:9090/graph?g0.expr=dataflow_schema_drift_columns"}]}
        resp = httpx.post(self.stack.bot_url + "/alerts", json=body, timeout=10,
                          headers={"Authorization": f"Bearer {self.stack.webhook_token}"})
        resp.raise_for_status()

    # -- Slack, as two people use it ----------------------------------------------------------------------
    def thread(self) -> list[dict[str, Any]]:
        return self.slack.replies(CHANNEL, self.root_ts) if self.root_ts else []

    def wait_text(self, needle: str, timeout: float = 30) -> str:
        return self.wait(lambda: next((m["text"] for m in self.thread() if needle in m.get("text", "")), None),
                         f"{needle!r} in the thread", timeout)

    def click(self, user: str, action_id: str, timeout: float = 15) -> None:
        def newest() -> dict[str, Any] | None:
            found = [m for m in self.thread() if f'"action_id": "{action_id}"' in json.dumps(m.get("blocks"))]
            return found[-1] if found else None

        message = self.wait(newest, f"a button {action_id}", timeout)
        self.slack.click(user, CHANNEL, message["ts"], action_id)

    def run(self) -> str:
        drift = self.drift()
        self.say("Chaos: drift applied", drift["ddl"])
        self.say("Kafka Connect task FAILED, Flink restarting", "the simulators follow MySQL")
        self.open_incident()
        self.wait_text("*Kafka Connect*")
        self.wait_text("*Schema*")
        self.say("Alert → one incident thread, enriched", "Connect, Flink, schema diff, logs")
        self.slack.slash_command(ALICE, "runbook schema-drift")
        self.click(ALICE, "run_step:rollback-schema")
        self.click(ALICE, "approve_step")
        self.wait(lambda: any("You asked for this step" in e["text"] for e in self.slack.ephemerals(ALICE)),
                  "the refusal of Alice's own approval")
        self.say("Alice asked to revert the column; her own approval was refused")
        self.click(BOB, "approve_step")
        self.wait_text("column dropped")
        self.say("Bob approved: the column is dropped", "ALTER TABLE … DROP COLUMN, re-checked before it ran")
        self.click(ALICE, "run_step:restart-connector")
        self.click(BOB, "approve_step")
        self.wait_text("is RUNNING again", timeout=60)
        self.say("Connector restarted (approved by Bob) and RUNNING")
        self.click(ALICE, "run_step:validate-data")
        self.wait_text("*Data validation*")
        self.click(ALICE, "run_step:check-flink")
        self.wait_text("Confirm Flink healthy", timeout=30)
        self.say("Data validated; Flink checked")
        self.alert("resolved")
        self.wait(lambda: (self.slack.message(CHANNEL, self.root_ts) or {}).get("text", "").startswith("[RESOLVED]"),
                  "the incident resolved")
        self.say("Alert resolved: the root message says so")
        return self.root_ts

    def postmortem(self, out_dir: Path) -> Path:
        inc = next(m["text"].split()[1] for m in self.slack.messages(CHANNEL) if m["ts"] == self.root_ts)
        resp = httpx.get(f"{self.stack.bot_url}/incidents/{inc}/postmortem.md", timeout=30,
                         headers={"Authorization": f"Bearer {self.stack.webhook_token}"})
        resp.raise_for_status()
        out_dir.mkdir(parents=True, exist_ok=True)
        path = out_dir / f"{inc}-postmortem.md"
        path.write_text(resp.text, encoding="utf-8")
        return path

    def workspace_names(self) -> Names:
        state = self.slack.state
        with state.lock:
            users = {uid: str(u.get("real_name") or u.get("name") or uid) for uid, u in state.users.items()}
            channels = {cid: str(c.get("name") or cid) for cid, c in state.channels.items()}
        return Names(users, channels)

    def show_thread(self) -> None:
        if not self.root_ts:
            return
        # Text, not markup: "[file: …]" and "[Approve]" in the thread are content, not Rich tags.
        # Read as Slack shows it: no *markers*, names for <@U…>, emoji as Unicode.
        names = self.workspace_names()
        shown = render_thread(self.slack.state, CHANNEL, self.root_ts, lambda text: to_plain(text, names))
        self.console.print(Panel(Text(shown),
                                 title="#incidents, as Slack shows it", expand=False))
