"""Gathering against real Redis and the sandbox: store round trip, forensics, backfill, live checks."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask, jsonify

from bot.deps import Deps
from bot.errors import NotFoundError
from bot.models import TimelineEvent
from bot.postmortem import record_forensics
from bot.postmortem.backfill import backfill_if_due, backfill_thread
from bot.postmortem.builder import build_markdown
from bot.postmortem.export import build_export, export_markdown
from bot.postmortem.live import alert_check, baseline_check, connector_checks, job_checks
from bot.sandbox.connect_sim import ConnectSimulator
from bot.sandbox.flink_sim import FlinkSimulator
from bot.sandbox.server import BackgroundServer
from bot.sandbox.slack_emulator import SlackEmulator
from bot.schema.baseline import BaselineStore
from bot.schema.forensics import DdlEvent, ForensicsResult
from bot.schema.model import Column, TableSchema
from bot.scope import incident_scope
from tests.postmortem.drill import DDL, drill_events, drill_facts, drill_incident
from tests.postmortem.test_builder import GOLDEN

CHANNEL = "C0INCIDENT"


def save_drill(deps: Deps, events: list[TimelineEvent]) -> None:
    deps.store.save_incident(drill_incident())
    for e in events:
        deps.store.add_event("INC-7", e)


def test_events_read_back_from_redis_give_the_golden_bytes(make_deps: Callable[..., Deps]) -> None:
    deps = make_deps()
    events = drill_events()
    random.Random(7).shuffle(events)
    save_drill(deps, events)
    stored = deps.store.events("INC-7")
    assert build_markdown(replace(drill_facts(), events=stored)) == (GOLDEN / "drill.md").read_text()


def test_record_forensics_is_idempotent_and_becomes_the_root_cause(make_deps: Callable[..., Deps]) -> None:
    deps = make_deps()
    deps.store.save_incident(drill_incident())
    ddl = DdlEvent(DDL, datetime(2026, 11, 26, 6, 58, 41, tzinfo=UTC), "mysql-bin.000003", 1234, 1400, 1, None)
    result = ForensicsResult(available=True, statements=[ddl])
    assert record_forensics(deps.store, "INC-7", result) is True
    assert record_forensics(deps.store, "INC-7", result) is False
    assert record_forensics(deps.store, "INC-7", ForensicsResult(available=False, reason="log_bin OFF")) is False
    notes = [e for e in deps.store.events("INC-7") if e.kind == "note"]
    assert [n.data["ddl"][0]["time"] for n in notes] == ["2026-11-26T06:58:41+00:00"]
    root_cause = export_markdown(deps, "INC-7").split("## Root cause")[1].split("## Review")[0]
    assert DDL in root_cause and "binlog file mysql-bin.000003, position 1234, server_id 1" in root_cause


def test_an_unknown_incident_is_a_not_found_error(make_deps: Callable[..., Deps]) -> None:
    with pytest.raises(NotFoundError, match="INC-404"):
        export_markdown(make_deps(), "INC-404")


def thread_with_replies(deps: Deps, slack: SlackEmulator, people: int) -> str:
    root_ts = str(deps.slack.chat_postMessage(channel=CHANNEL, text="INC-7 opened")["ts"])
    inc = drill_incident().model_copy(update={"root_ts": root_ts})
    deps.store.save_incident(inc)
    for i in range(people):
        slack.state.post(CHANNEL, "U0ALICE" if i % 2 else "U0BOB", f"reply {i:02d}", thread_ts=root_ts)
        if i % 10 == 0:
            deps.slack.chat_postMessage(channel=CHANNEL, thread_ts=root_ts, text=f"bot note {i}")
    return root_ts


def test_backfill_pages_through_a_rate_limited_thread(slack_deps: Deps, slack: SlackEmulator) -> None:
    slack.set_page_limits(15, 15)   # Slack's Tier-1 rule: 15 a page
    root_ts = thread_with_replies(slack_deps, slack, 40)
    pinned = slack.state.thread(CHANNEL, root_ts)[5]["ts"]
    slack.state.add_reaction(CHANNEL, pinned, "U0BOB", "pushpin")
    slack.inject("conversations.replies", status=429, retry_after=0)
    inc = slack_deps.store.incident("INC-7")
    assert inc is not None
    assert backfill_thread(slack_deps, inc) == 40
    humans = [e for e in slack_deps.store.events("INC-7") if e.kind == "human_message"]
    assert [e.text for e in humans] == [f"reply {i:02d}" for i in range(40)]
    assert {e.actor for e in humans} == {"U0ALICE", "U0BOB"}
    assert [e.source_id for e in humans if e.key] == [f"msg:{pinned}"]
    assert len(slack.calls("conversations.replies")) >= 4   # paged (and the 429 retried)
    assert backfill_if_due(slack_deps, inc) == 0             # nothing new: idempotent by message ts


def test_backfill_runs_at_most_once_a_minute(slack_deps: Deps, slack: SlackEmulator) -> None:
    thread_with_replies(slack_deps, slack, 3)
    inc = slack_deps.store.incident("INC-7")
    assert inc is not None and backfill_if_due(slack_deps, inc) == 3
    slack.state.post(CHANNEL, "U0BOB", "late", thread_ts=inc.root_ts)
    assert backfill_if_due(slack_deps, inc) == 0


def test_people_and_permalink_come_from_slack_once(slack_deps: Deps, slack: SlackEmulator) -> None:
    thread_with_replies(slack_deps, slack, 2)
    first = build_export(slack_deps, "INC-7")
    assert first.facts.people["U0ALICE"] == "Alice Nguyen"
    assert first.facts.permalink and first.facts.permalink.startswith("https://")
    assert export_markdown(slack_deps, "INC-7") == first.markdown
    assert len(slack.calls("chat.getPermalink")) == 1


def test_connector_check_follows_the_live_task_state(make_deps: Callable[..., Deps]) -> None:
    with ConnectSimulator() as sim:
        sim.add_connector("mysql-oltp-orders", {"tasks.max": "1"})
        deps = make_deps(connect_url=sim.url)
        sim.fail_task("mysql-oltp-orders", 0, "boom")
        failed = connector_checks(deps, ("mysql-oltp-orders", "nope"), [])
        sim.set_task_state("mysql-oltp-orders", 0, "RUNNING")
        running = connector_checks(deps, ("mysql-oltp-orders",), [])
    assert [c.ok for c in failed] == [False, False] and "task 0 FAILED" in failed[0].detail
    assert "could not check" in failed[1].detail
    assert running[0].ok and running[0].detail == "connector RUNNING, task 0 RUNNING (checked live)"
    assert "CONNECT_URL is not set" in connector_checks(make_deps(), ("x",), [])[0].detail


def test_flink_check_says_the_job_state(make_deps: Callable[..., Deps]) -> None:
    with FlinkSimulator() as sim:
        sim.add_job("cdc-orders-enrich")
        checks = job_checks(make_deps(flink_url=sim.url), ("cdc-orders-enrich", "missing"))
    assert [c.ok for c in checks] == [True, False] and checks[0].detail == "job RUNNING (checked live)"


@pytest.fixture
def fake_alertmanager() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """Alertmanager's GET /api/v2/alerts (an external API: faked, shape from its OpenAPI spec)."""
    active: list[dict[str, Any]] = []
    app = Flask("am")
    app.get("/api/v2/alerts")(lambda: jsonify(active))
    server = BackgroundServer(app).start()
    yield server.url, active
    server.stop()


def test_alert_check_asks_alertmanager_when_configured(make_deps: Callable[..., Deps],
                                                       fake_alertmanager: tuple[str, list[dict[str, Any]]]) -> None:
    url, active = fake_alertmanager
    inc = drill_incident()
    deps = make_deps(alertmanager_url=url)
    assert alert_check(deps, inc).ok
    active.append({"fingerprint": "f1a2b3c4d5e6f708", "status": {"state": "active"}})
    still = alert_check(deps, inc)
    assert not still.ok and "SchemaDriftDetected" in still.detail
    assert "could not ask Alertmanager" in alert_check(make_deps(alertmanager_url="http://127.0.0.1:9"), inc).detail
    own = alert_check(make_deps(), inc.model_copy(update={"status": "open"}))
    assert not own.ok and "ALERTMANAGER_URL is not set" in own.detail


def test_baseline_check_wants_a_snapshot_after_the_incident_opened(make_deps: Callable[..., Deps]) -> None:
    deps = make_deps()
    inc = drill_incident().model_copy(update={"opened_at": datetime.now(UTC).timestamp() - 5})
    pipeline = incident_scope(deps, inc)
    store = BaselineStore(deps.store.r, deps.settings.schema_contracts_dir)
    live = TableSchema("oltp", "orders", (Column("id", 1, "int", False),))
    store.ensure("oltp.orders", live)                        # the watcher's first snapshot: not an acceptance
    assert baseline_check(deps, inc, pipeline, []) is None
    store.take_snapshot("oltp.orders", "U0BOB", live)
    check = baseline_check(deps, inc, pipeline, [])
    assert check is not None and check.ok and "snapshot v2 by U0BOB" in check.detail
    later = inc.model_copy(update={"opened_at": inc.opened_at + 3600})   # no snapshot after this one opened
    assert baseline_check(deps, later, pipeline, []) is None
    accepted = TimelineEvent(ts=1.0, kind="result", text="ok", data={"step": "accept-drift", "ok": True})
    by_step = baseline_check(deps, later, pipeline, [accepted])
    assert by_step is not None and by_step.detail == "the accept-drift step succeeded"
