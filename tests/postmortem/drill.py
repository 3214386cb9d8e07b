"""The facts of a whole schema-drift drill, written out by hand: the input of the golden-file tests."""

from __future__ import annotations

from typing import Any

from bot.models import AlertState, Incident, TimelineEvent
from bot.postmortem.model import Check, Facts, LiveChecks
from bot.scope import Scope

T0 = 1795676400.0  # 2026-11-26 07:00:00 UTC
DDL = "ALTER TABLE `oltp`.`orders` ADD COLUMN unexpected_field VARCHAR(64) NULL"
ROLLBACK = "ALTER TABLE `oltp`.`orders` DROP COLUMN `unexpected_field`"


def event(offset: float, event_kind: str, text: str, actor: str | None, source: str, key: bool = False,
          **data: Any) -> TimelineEvent:
    return TimelineEvent(ts=T0 + offset, kind=event_kind, text=text, actor=actor, source_id=source, key=key,  # type: ignore[arg-type]
                         data=data)


def drill_incident() -> Incident:
    alert = AlertState(fingerprint="f1a2b3c4d5e6f708", alertname="SchemaDriftDetected", status="resolved",
                       labels={"alertname": "SchemaDriftDetected", "severity": "critical", "table": "oltp.orders"},
                       summary="Schema drift on oltp.orders", starts_at="2026-11-26T07:00:00.123456789Z",
                       ends_at="2026-11-26T07:20:00Z", generator_url="http://prometheus:9090/graph?g0.expr=x",
                       count=3)
    return Incident(id="INC-7", number=7, correlation_key="pipeline:orders", pipeline="orders",
                    title="SchemaDriftDetected — orders", severity="critical", status="resolved",
                    channel="C0INCIDENT", root_ts=f"{T0 + 31:.6f}", opened_at=T0 + 30.4, resolved_at=T0 + 1205.9,
                    last_seen_at=T0 + 1205.9, alerts={alert.fingerprint: alert},
                    external_url="http://alertmanager:9093", labels={"table": "oltp.orders"})


def drill_events() -> list[TimelineEvent]:
    return [
        event(30.4, "alert_firing", "SchemaDriftDetected firing: Schema drift on oltp.orders", "alertmanager",
              "firing:f1a2b3c4d5e6f708:2026-11-26T07:00:00.123456789Z", key=True),
        event(31, "incident_opened", "INC-7 opened: SchemaDriftDetected — orders", "bot", "opened", key=True),
        event(33.2, "bot_post", ":electric_plug: *Kafka Connect* — `mysql-oltp-orders`: task 0 FAILED\n```trace```",
              "bot", "post:enrich:connect:0:1-0", kind="enrich:connect:0:1-0"),
        event(33.5, "bot_post", ":mag: *Schema* — `oltp.orders` against its baseline\n+ unexpected_field",
              "bot", "post:enrich:schema:0:1-0", kind="enrich:schema:0:1-0"),
        event(34, "note", f"DDL found in the binlog: {DDL}", "bot", "forensics:mysql-bin.000003:1234",
              ddl=[{"statement": DDL, "time": "2026-11-26T06:58:41+00:00", "log_file": "mysql-bin.000003",
                    "position": 1234, "server_id": 1}]),
        event(95.7, "human_message", "Looking. <@U0BOB> did you ship a migration | by hand?\nsecond line",
              "U0ALICE", f"msg:{T0 + 95.7:.6f}"),
        event(140, "human_message", "Yes, sorry: I ran the ALTER from my laptop.", "U0BOB", f"msg:{T0 + 140:.6f}",
              key=True),
        event(200, "command", "Runbook step requested (via button)", "U0ALICE", "cmd:U0ALICE:1", command="runbook"),
        event(201, "approval_requested", "Approval requested for rollback-column", "U0ALICE", "apr:a1:req",
              approval_id="a1", step="rollback-column", action=ROLLBACK, requester="U0ALICE"),
        event(230, "approval_refused", "Self-approval refused", "U0ALICE", "apr:a1:refused:1",
              approval_id="a1", reason="you requested this step; another approver must approve it"),
        event(260, "approval_decided", "Approved", "U0BOB", "apr:a1:decided", approval_id="a1",
              step="rollback-column", decision="approved", requester="U0ALICE", approver="U0BOB"),
        event(261, "execution", "Executing rollback-column", "bot", "exec:a1", step="rollback-column",
              approval_id="a1"),
        event(262, "result", "rollback-column succeeded", "bot", "result:a1", step="rollback-column", ok=True,
              approval_id="a1",
              detail="column unexpected_field dropped; 0 rows affected"),
        event(300, "result", "restart-connector succeeded", "bot", "result:restart", step="restart-connector",
              ok=True, detail="connector RUNNING, task 0 RUNNING"),
        event(1205.9, "alert_resolved", "SchemaDriftDetected resolved", "alertmanager", "resolved:f1a2:x"),
        event(1205.9, "incident_resolved", "All alerts resolved; INC-7 closed", "alertmanager",
              "incident-resolved:9-0", key=True),
    ]


def drill_facts(display_tz: str = "Asia/Ho_Chi_Minh") -> Facts:
    checks = LiveChecks(
        alert=Check("Alert clear", True, "all alerts of the incident resolved (judged from the incident's own "
                                         "state: ALERTMANAGER_URL is not set)"),
        connectors=(Check("Connector `mysql-oltp-orders` RUNNING", True, "connector RUNNING, task 0 RUNNING "
                                                                          "(checked live)"),),
        jobs=(Check("Flink job `cdc-orders-enrich` RUNNING", False, "job RESTARTING (checked live)"),),
    )
    scope = Scope(pipeline="orders", tables=("oltp.orders",), connectors=("mysql-oltp-orders",),
                  topics=("dbserver1.oltp.orders",), flink_jobs=("cdc-orders-enrich",))
    return Facts(incident=drill_incident(), events=drill_events(), scope=scope, checks=checks,
                 display_tz=display_tz, people={"U0ALICE": "Alice Nguyen", "U0BOB": "Bob Tran"},
                 permalink="https://sandbox.slack.com/archives/C0INCIDENT/p1795676431000000")


def bare_facts() -> Facts:
    """An incident that just opened: no messages, nothing verified, UTC only."""
    inc = drill_incident().model_copy(update={"status": "open", "resolved_at": None, "alerts": {},
                                              "external_url": ""})
    checks = LiveChecks(alert=Check("Alert clear", False, "0 alert(s) still firing"))
    return Facts(incident=inc, events=[], scope=Scope(), checks=checks)
