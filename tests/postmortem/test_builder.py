"""The pure builder: golden files, byte-identity, times exact to the second, a 2,000-message thread."""

from __future__ import annotations

import os
import random
from dataclasses import replace
from pathlib import Path

import pytest

from bot.models import TimelineEvent
from bot.postmortem.builder import build_markdown
from bot.postmortem.model import Check, LiveChecks
from tests.postmortem.drill import T0, bare_facts, drill_events, drill_facts, event

GOLDEN = Path(__file__).resolve().parents[1] / "fixtures" / "postmortem"


def golden(name: str, text: str) -> str:
    """The stored file; UPDATE_GOLDEN=1 rewrites it (then review the diff)."""
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    return path.read_text(encoding="utf-8")


@pytest.mark.parametrize(("name", "facts"), [("drill.md", drill_facts()), ("bare.md", bare_facts()),
                                             ("drill-utc.md", drill_facts("UTC"))])
def test_matches_golden_file(name: str, facts: object) -> None:
    text = build_markdown(facts)  # type: ignore[arg-type]
    assert text == golden(name, text)


def test_same_facts_give_the_same_bytes_whatever_order_the_events_come_in() -> None:
    expected = build_markdown(drill_facts())
    for seed in range(5):
        events = drill_events()
        random.Random(seed).shuffle(events)
        assert build_markdown(replace(drill_facts(), events=events)) == expected


def test_the_drill_holds_timeline_in_order_ddl_and_both_people_of_the_approval() -> None:
    text = build_markdown(drill_facts())
    timeline = text.split("## Timeline")[1].split("## Root cause")[0]
    assert timeline.index("Looking.") < timeline.index("I ran the ALTER") < timeline.index("Approved")
    assert "ALTER TABLE `oltp`.`orders` ADD COLUMN unexpected_field" in text.split("## Root cause")[1]
    actions = text.split("## Actions taken")[1].split("## Postmortem checklist")[0]
    assert "requested by Alice Nguyen (U0ALICE)" in actions and "Approved by Bob Tran (U0BOB)" in actions
    assert "- [x] Connector `mysql-oltp-orders` RUNNING" in text
    assert "- [ ] Flink job `cdc-orders-enrich` RUNNING" in text


def test_times_are_truncated_to_the_second_and_durations_match_them() -> None:
    facts = drill_facts("UTC")
    late = event(299.999, "human_message", "just before 07:05", "U0ALICE", "msg:late")
    text = build_markdown(replace(facts, events=[*facts.events, late]))
    assert "| 2026-11-26 07:04:59 UTC | Alice Nguyen (U0ALICE) | just before 07:05 |" in text
    # First alert 07:00:00.123, first success 07:04:22: printed 4m 22s, as the two printed times say.
    assert "Time to detect: **30s** · time to mitigate: **4m 22s** · time to resolve: **20m 05s**" in text


def test_a_denied_step_and_an_accepted_drift() -> None:
    facts = drill_facts("UTC")
    events = [e if e.kind != "approval_decided" else e.model_copy(update={"data": {**e.data, "decision": "denied"}})
              for e in facts.events]
    accepted = Check("Baseline updated (drift accepted)", True, "`oltp.orders` snapshot v2 by U0BOB")
    checks = LiveChecks(facts.checks.alert, facts.checks.connectors, facts.checks.jobs, baseline=accepted)
    text = build_markdown(replace(facts, events=events, checks=checks))
    assert "Denied by Bob Tran (U0BOB)" in text
    assert "- [x] Baseline updated (drift accepted) — `oltp.orders` snapshot v2 by U0BOB" in text
    assert "documentation & schema registry updated. — owner: _to assign_" in text


def test_slack_markup_and_table_breakers_in_messages_stay_inside_their_cell() -> None:
    text = build_markdown(drill_facts("UTC"))
    assert "@Bob Tran did you ship a migration \\| by hand?<br>second line | message |" in text


def thread_of(n: int) -> list[TimelineEvent]:
    return [event(60 + i * 0.5, "human_message", f"message number {i:04d}", "U0ALICE" if i % 2 else "U0BOB",
                  f"msg:{T0 + 60 + i * 0.5:.6f}") for i in range(n)]


def test_a_2000_message_thread_is_complete_and_in_order() -> None:
    facts = replace(drill_facts("UTC"), events=[*drill_events(), *thread_of(2000)])
    text = build_markdown(facts)
    positions = [text.index(f"message number {i:04d} |") for i in range(2000)]
    assert positions == sorted(positions)
    assert "## Timeline (2016 events)" in text
    assert build_markdown(facts) == text
