"""RUNNING again after a change-event failure is a skip risk, whoever restarted the connector (reference
difference 10): real Redis, the sandbox's Connect simulator over HTTP, the real reply builder."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from bot.blocks.enrichment import connector_text
from bot.clients.connect import ConnectorStatus, parse_status
from bot.deps import Deps
from bot.models import Incident, TimelineEvent
from bot.postmortem.live import connector_checks
from bot.runbooks.actions_read import connect_status, data_validate
from bot.runbooks.context import StepContext
from bot.runbooks.skip_risk import change_event_failures_seen, noted_skip_risks, running_again, skip_risks
from bot.sandbox.connect_sim import ConnectSimulator
from bot.scope import Scope

TRACES = Path(__file__).parents[1] / "fixtures" / "debezium"
NAME = "mysql-oltp-orders"


def status(state: str, trace: str | None = None, name: str = NAME) -> ConnectorStatus:
    task = {"id": 0, "state": state, "worker_id": "connect:8083", **({"trace": trace} if trace else {})}
    return parse_status({"name": name, "connector": {"state": "RUNNING", "worker_id": "connect:8083"},
                                           "tasks": [task], "type": "source"})


def posted(text: str, kind: str = "enrich:connect:0:1-0") -> TimelineEvent:
    return TimelineEvent(ts=time.time(), kind="bot_post", actor="bot", text=text, source_id=f"post:{kind}",
                         data={"kind": kind})


def reply(state: str, fixture: str | None = None, name: str = NAME) -> TimelineEvent:
    """A Kafka Connect reply exactly as the bot posts it (bot/blocks/enrichment.py)."""
    trace = (TRACES / f"{fixture}.txt").read_text() if fixture else None
    return posted(connector_text(status(state, trace, name)).text)


def test_a_reply_showing_a_task_failed_on_a_row_is_a_change_event_failure() -> None:
    seen = change_event_failures_seen([reply("FAILED", "row_schema_mismatch")])
    assert seen == {NAME: "Rows of orders no longer match Debezium's schema model"}


def test_failures_that_are_not_on_a_change_event_or_not_failed_are_not() -> None:
    events = [reply("FAILED", "authentication"), reply("FAILED", "history_missing", "other"),
              reply("RUNNING"), posted("*Kafka Connect* — `x`: • task 0: *FAILED* but no trace"),
              posted(":mag: *Schema* — `oltp.orders`: no Kafka Connect here"), posted("")]
    assert change_event_failures_seen(events) == {}


def test_each_connector_of_a_message_is_read_on_its_own() -> None:
    two = posted(connector_text(status("RUNNING", name="a")).text + "\n\n"
                 + connector_text(status("FAILED", (TRACES / "schema_unknown.txt").read_text(), "b")).text)
    assert list(change_event_failures_seen([two])) == ["b"]


def test_a_note_of_the_bots_own_restart_counts_too_and_wins() -> None:
    note = TimelineEvent(ts=1.0, kind="note", text="n", data={"skip_risk": True, "connector": NAME, "failure": "F"})
    assert noted_skip_risks([note]) == {NAME: "F"}
    assert skip_risks([reply("FAILED", "row_schema_mismatch"), note]) == {NAME: "F"}


def incident(deps: Deps, events: list[TimelineEvent]) -> Incident:
    inc = Incident(id="INC-3", number=3, correlation_key="pipeline:orders", pipeline="orders", title="t",
                   severity="critical", status="open", channel="C0INCIDENT", opened_at=time.time(),
                   last_seen_at=time.time())
    deps.store.save_incident(inc)
    for e in events:
        deps.store.add_event(inc.id, e)
    return inc


def context(deps: Deps, inc: Incident) -> StepContext:
    scope = Scope(tables=("oltp.orders",), connectors=(NAME,),
                  validation_queries=("SELECT COUNT(*) AS orders FROM information_schema.TABLES",))
    return StepContext(deps, inc, scope, "U1")


def test_restarted_outside_the_bot_it_is_noted_and_validate_data_does_not_call_it_clean(
        make_deps: Callable[..., Deps], mysql_url: str) -> None:
    with ConnectSimulator() as sim:
        sim.add_connector(NAME, {"tasks.max": "1"})
        deps = make_deps(connect_url=sim.url, mysql_url=mysql_url)
        inc = incident(deps, [reply("FAILED", "row_schema_mismatch")])
        sim.fail_task(NAME, 0, "still failed")
        assert running_again(deps, inc) == []            # not RUNNING again (yet): nothing skipped so far
        sim.set_task_state(NAME, 0, "RUNNING")           # an engineer restarted it with curl
        outcome = data_validate(context(deps, inc), {}, None)
        again = running_again(deps, inc)
        checks = connector_checks(deps, (NAME,), deps.store.events(inc.id))
        shown = connect_status(context(deps, inc), {"connector": NAME}, None)
    assert not outcome.ok and "is RUNNING again after failing on a change event" in outcome.text
    assert "may mean that event was skipped" in outcome.text and "before calling this clean" in outcome.text
    assert [(r.connector, r.state) for r in again] == [(NAME, "RUNNING")]
    notes = [e for e in deps.store.events(inc.id) if e.data.get("skip_risk")]
    assert len(notes) == 1 and "restarted by someone outside the bot" in notes[0].text   # noted once
    assert not checks[0].ok and "may have been skipped" in checks[0].detail
    assert "may mean that event was skipped" in shown.text


def test_connect_unreachable_is_not_clean_either(make_deps: Callable[..., Deps], mysql_url: str) -> None:
    deps = make_deps(connect_url="http://127.0.0.1:9", mysql_url=mysql_url)
    inc = incident(deps, [reply("FAILED", "schema_unknown")])
    outcome = data_validate(context(deps, inc), {}, None)
    assert not outcome.ok and "its state could not be checked" in outcome.text
    assert not [e for e in deps.store.events(inc.id) if e.data.get("skip_risk")]   # nothing seen RUNNING
