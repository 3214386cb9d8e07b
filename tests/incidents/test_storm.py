"""Storm mode against real Redis and the Slack emulator: when many incidents open at once, one summary
message lists them all (and what they share) ahead of the roots still to come; it is edited, not
re-posted, as incidents join; each incident keeps its own root."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from bot.blocks.storm import MAX_LISTED, shared_labels, storm_blocks
from bot.deps import Deps
from bot.incidents.enrich_queue import enrich_consumer
from bot.incidents.intake import enqueue_notification
from bot.incidents.payload import parse_notification
from bot.incidents.root_editor import edit_root
from bot.incidents.root_edits import due_roots
from bot.models import AlertState, Incident
from bot.sandbox.connect_sim import ConnectSimulator
from bot.sandbox.slack_emulator import SlackEmulator
from tests.e2e.alerting import alert, notification
from tests.e2e.conftest import SCHEMA_TRACE
from tests.harness import CHANNEL
from tests.incidents.test_incident_day import run_next, unpaced
from tests.incidents.test_worker import worker_deps
from tests.postmortem import conftest as shared

slack, make_deps = shared.slack, shared.make_deps
__all__ = ["unpaced", "worker_deps"]


def open_incident(deps: Deps, i: int, **labels: str) -> None:
    a = alert("ConnectorTaskFailed", connector=f"mysql-shard-{i}", **labels)
    enqueue_notification(deps.store, parse_notification(json.dumps(notification(a, group_key=f"g{i}")).encode()))
    run_next(deps)


def kinds(slack: SlackEmulator) -> list[str]:
    return [m["metadata"]["event_payload"]["kind"] for m in slack.messages(CHANNEL)]


def summary(slack: SlackEmulator) -> dict[str, Any]:
    [found] = [m for m in slack.messages(CHANNEL) if m["metadata"]["event_payload"]["kind"] == "storm-summary"]
    return found


def test_a_storm_gets_one_summary_before_the_roots_still_to_come(unpaced: Callable[..., Deps],
                                                                  slack: SlackEmulator) -> None:
    deps = unpaced(storm_threshold=3)
    for i in range(5):
        open_incident(deps, i, instance="connect-1:8083")
    assert kinds(slack) == ["root", "root", "storm-summary", "root", "root", "root"]
    first = str(summary(slack)["blocks"])
    assert "INC-3" in first and "INC-4" not in first            # posted when the third one opened
    for owner in due_roots(deps.store.r, 1e12):                  # the root editor's turn
        edit_root(deps, owner)
    edited = summary(slack)
    assert edited["text"] == "Alert storm: 5 incidents (5 open)" and len(kinds(slack)) == 6   # edited, not re-posted
    assert all(f"INC-{n}" in str(edited["blocks"]) for n in range(1, 6))
    assert "`instance=connect-1:8083`" in str(edited["blocks"]) and "thread coming" not in str(edited["blocks"])


def test_below_the_threshold_there_is_no_summary(unpaced: Callable[..., Deps], slack: SlackEmulator) -> None:
    deps = unpaced(storm_threshold=3)
    for i in range(2):
        open_incident(deps, i)
    assert kinds(slack) == ["root", "root"]


def incident(n: int, status: str = "open", **labels: str) -> Incident:
    alert_state = AlertState(fingerprint=f"f{n}", alertname="ConnectorTaskFailed", status="firing",
                             labels={"alertname": "ConnectorTaskFailed", "severity": "critical", **labels},
                             starts_at="2026-12-03T03:00:00Z")
    return Incident(id=f"INC-{n}", number=n, correlation_key=f"group:g{n}", title="ConnectorTaskFailed",
                    channel=CHANNEL, opened_at=1000.0 + n, last_seen_at=1000.0 + n, status=status,  # type: ignore[arg-type]
                    alerts={f"f{n}": alert_state})


def test_what_the_incidents_share_is_named_and_what_differs_is_not() -> None:
    incidents = [incident(1, instance="connect-1", connector="a"), incident(2, instance="connect-1", connector="b")]
    assert shared_labels(incidents) == [("alertname", "ConnectorTaskFailed"), ("instance", "connect-1")]
    apart = [incident(1, alertname="A"), incident(2, alertname="B")]
    assert "No label is common to all of them" in str(storm_blocks(apart, 1000.0))


def test_a_long_storm_lists_the_first_ones_and_counts_the_rest() -> None:
    blocks = str(storm_blocks([incident(n) for n in range(1, 101)], 1000.0))
    assert f"…and {100 - MAX_LISTED} more" in blocks and "INC-100" not in blocks


def test_what_the_checked_incidents_saw_in_common_is_named() -> None:
    seen = {("Connect worker", "connect-1:8083"), ("Connect error", "Schema isn't known to Debezium")}
    incidents = [incident(1, connector="a"), incident(2, connector="b"), incident(3, connector="c")]
    facts = {"INC-1": seen | {("Flink error", "IllegalStateException")}, "INC-2": set(seen)}   # INC-3 not yet
    blocks = str(storm_blocks(incidents, 1000.0, facts=facts))
    assert "In all 2 incidents checked so far" in blocks
    assert "Connect worker `connect-1:8083`" in blocks and "Flink error" not in blocks
    apart = {"INC-1": {("Connect worker", "w1")}, "INC-2": {("Connect worker", "w2")}}
    assert "checked so far" not in str(storm_blocks(incidents, 1000.0, facts=apart))
    assert "checked so far" not in str(storm_blocks(incidents, 1000.0, facts={"INC-1": seen}))   # one alone


def test_the_summary_names_the_worker_and_error_the_enrichment_found(unpaced: Callable[..., Deps],
                                                                      slack: SlackEmulator) -> None:
    with ConnectSimulator() as sim:
        for i in range(3):
            sim.add_connector(f"mysql-shard-{i}", {"connector.class": "io.debezium.connector.mysql.MySqlConnector",
                                                   "table.include.list": f"shard{i}.t"}, worker_id="connect-7:8083")
            sim.fail_task(f"mysql-shard-{i}", 0, SCHEMA_TRACE)
        deps = unpaced(storm_threshold=3, connect_url=sim.url)
        for i in range(3):
            open_incident(deps, i)
        consumer = enrich_consumer(deps)
        consumer.ensure_group(deps.store.r)
        for _ in range(3):
            [(queued, job)] = consumer.next_entries(deps.store.r, "e1")
            consumer.process(deps.store.r, queued, job)
    for owner in due_roots(deps.store.r, 1e12):
        edit_root(deps, owner)
    blocks = str(summary(slack)["blocks"])
    assert "In all 3 incidents checked so far" in blocks and "Connect worker `connect-7:8083`" in blocks
    assert "Connect error" in blocks
