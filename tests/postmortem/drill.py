"""The facts of a whole schema-drift drill, written out by hand: the input of the golden-file tests."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from bot.models import AlertState, Incident, TimelineEvent
from bot.postmortem.model import Check, Facts, LiveChecks
from bot.scope import Scope

T0 = 1795676400.0  # 2026-11-26 07:00:00 UTC
DDL = "ALTER TABLE `oltp`.`orders` ADD COLUMN unexpected_field VARCHAR(64) NULL"
# The sections of a postmortem a reviewer expects (Google SRE template, incident.io, Rootly), in order.
SECTIONS = ["## Summary", "## Key events", "## Impact on data and consumers", "## Affected pipeline",
            "## Trigger and contributing factors", "## Detection", "## Response", "## Root cause", "## Review",
            "### What went well", "### What went badly", "### Where we got lucky", "## Participants and roles",
            "## Action items", "## Lessons learned", "## Postmortem checklist", "## Full timeline", "## Links"]
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


FAILED_ON = "Debezium met a change event for oltp.orders whose schema it does not know"
CONNECT_POST = (":red_circle: *Kafka Connect* — `mysql-oltp-orders` (source): connector *RUNNING* on `connect:8083`\n"
                "• task 0: *FAILED* on `connect:8083`\n"
                f"*Diagnosis*: {FAILED_ON} (table `oltp.orders`)\n"
                "```io.debezium.DebeziumException: Encountered change event for table oltp.orders whose schema isn't "
                "known```")
SCHEMA_POST = (":mag: *Schema* — `oltp.orders` against its baseline (snapshot v1 taken by seed)\n"
               "*Schema drift on `oltp.orders`: COMPATIBLE* (1 change(s): 0 breaking, 1 compatible)\n"
               "```diff\n+ unexpected_field varchar(64) NULL  [compatible] added optional column\n```\n"
               "*DDL from the binlog*: DDL forensics unavailable: binary logging is off on this server (log_bin=OFF)")


def skip_risk_events() -> list[TimelineEvent]:
    """The connector restarted past the event it failed on, validation flagged it, and people wrote follow-ups."""
    restart = "POST http://connect:8083/connectors/mysql-oltp-orders/restart?includeTasks=true&onlyFailed=true"
    return [
        event(30.4, "alert_firing", "SchemaDriftDetected firing: Schema drift on oltp.orders", "alertmanager",
              "firing:f1a2b3c4d5e6f708:2026-11-26T07:00:00.123456789Z", key=True),
        event(31, "incident_opened", "INC-7 opened: SchemaDriftDetected — orders", "bot", "opened", key=True),
        event(33.2, "bot_post", CONNECT_POST, "bot", "post:enrich:connect:0:1-0", kind="enrich:connect:0:1-0"),
        event(33.5, "bot_post", SCHEMA_POST, "bot", "post:enrich:schema:0:1-0", kind="enrich:schema:0:1-0"),
        TimelineEvent.model_construct(ts=T0 + 40, kind="commander", text="<@U0ALICE> is the incident commander",
                                      actor="U0ALICE", actor_name=None, key=False, source_id="commander:1",
                                      data={"user": "U0ALICE"}),
        event(200, "approval_requested", "U0ALICE asked to run restart-connector", "U0ALICE", "apr:r1:req",
              approval_id="r1", step="restart-connector", action=restart, requester="U0ALICE"),
        event(900, "approval_decided", "U0BOB approved restart-connector", "U0BOB", "apr:r1:decided",
              approval_id="r1", step="restart-connector", decision="approved", requester="U0ALICE", approver="U0BOB"),
        event(901, "note", f"`mysql-oltp-orders` RUNNING again after failing on a change event ({FAILED_ON}): that "
              "event may have been skipped", "bot", "skip_risk:mysql-oltp-orders:1", key=True, skip_risk=True,
              connector="mysql-oltp-orders", failure=FAILED_ON),
        event(902, "result", "restart-connector: done", "bot", "approval:r1:result", step="restart-connector",
              ok=True, approval_id="r1", outcome="done",
              detail="*restart-connector* (requested by <@U0ALICE>, approved by <@U0BOB>)\n"
                     ":white_check_mark: `mysql-oltp-orders` is RUNNING again (connector RUNNING, task 0 RUNNING)\n"
                     f":warning: It had failed on a change event ({FAILED_ON}). Debezium may have resumed *past* it."),
        event(960, "result", "validate-data: needs attention", "U0ALICE", "read:validate-data:1", step="validate-data",
              ok=False, detail="*Data validation*\n:white_check_mark: `SELECT COUNT(*) AS orders FROM oltp.orders` → "
                               "orders=4\n:warning: counts cannot show one skipped change: compare by key"),
        event(1000, "human_message", ":pushpin: follow-up: compare orders changed 07:00-07:15 with the sink "
              "owner: <@U0BOB> priority: P1\n:pushpin: follow-up: alert on Debezium task FAILED", "U0ALICE",
              f"msg:{T0 + 1000:.6f}"),
        event(1205.9, "incident_resolved", "All alerts resolved; INC-7 closed", "alertmanager",
              "incident-resolved:9-0", key=True),
    ]


def skip_risk_facts() -> Facts:
    checks = LiveChecks(
        alert=Check("Alert clear", True, "all alerts of the incident resolved"),
        connectors=(Check("Connector `mysql-oltp-orders` RUNNING", False, "connector RUNNING, task 0 RUNNING (checked "
                                                                           "live), but it resumed after failing on a "
                                                                           "change event: verify the data by hand"),))
    return replace(drill_facts("UTC"), events=skip_risk_events(), checks=checks)


def no_steps_facts() -> Facts:
    """Open, nothing run yet; the alert's start a placeholder (the interactive demo sends 2000-01-01)."""
    facts = drill_facts("UTC")
    alert = next(iter(facts.incident.alerts.values())).model_copy(
        update={"starts_at": "2000-01-01T00:00:00Z", "status": "firing"})
    inc = facts.incident.model_copy(update={"status": "open", "resolved_at": None, "alerts": {alert.fingerprint: alert}})
    events = [e for e in skip_risk_events()[:4]]
    return replace(facts, incident=inc, events=events,
                   checks=LiveChecks(alert=Check("Alert clear", False, "1 alert(s) still firing")))
