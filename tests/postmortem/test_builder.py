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
from tests.postmortem.drill import (
    SECTIONS,
    T0,
    bare_facts,
    drill_events,
    drill_facts,
    event,
    no_steps_facts,
    skip_risk_facts,
)

GOLDEN = Path(__file__).resolve().parent / "golden"


def section(text: str, title: str) -> str:
    return text.split(title + "\n", 1)[1].split("\n## ", 1)[0]


def golden(name: str, text: str) -> str:
    """The stored file; UPDATE_GOLDEN=1 rewrites it (then review the diff)."""
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    return path.read_text(encoding="utf-8")


@pytest.mark.parametrize(("name", "facts"), [("drill.md", drill_facts()), ("bare.md", bare_facts()),
                                             ("drill-utc.md", drill_facts("UTC")),
                                             ("skip-risk.md", skip_risk_facts()), ("no-steps.md", no_steps_facts())])
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
    timeline = section(text, "## Full timeline (16 events)")
    assert timeline.index("Looking.") < timeline.index("I ran the ALTER") < timeline.index("Approved")
    assert "ALTER TABLE `oltp`.`orders` ADD COLUMN unexpected_field" in text.split("## Root cause")[1]
    actions = section(text, "## Response")
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
    assert "| If the drift was legitimate: documentation & schema registry updated. | _to assign_ | P3 |" in text


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
    assert "## Full timeline (2016 events)" in text
    assert build_markdown(facts) == text


@pytest.mark.parametrize("facts", [drill_facts(), bare_facts(), skip_risk_facts(), no_steps_facts()])
def test_every_section_a_reviewer_expects_is_there_in_order(facts: object) -> None:
    text = build_markdown(facts)  # type: ignore[arg-type]
    assert [text.index(title) for title in SECTIONS] == sorted(text.index(title) for title in SECTIONS)


def test_key_events_leave_clicks_and_bot_chatter_to_the_full_timeline() -> None:
    keys = section(build_markdown(drill_facts("UTC")), "## Key events")
    assert "INC-7 opened" in keys and "DDL found in the binlog" in keys and "All alerts resolved" in keys
    assert "asked for approval to run `rollback-column`" in keys and "approved `rollback-column`" in keys
    assert "rollback-column succeeded — column unexpected_field dropped; 0 rows affected" in keys
    assert "Runbook step requested" not in keys and "Self-approval refused" not in keys and "Kafka Connect" not in keys


def test_a_skipped_event_risk_shows_in_impact_review_and_the_step_keeps_its_numbers() -> None:
    text = build_markdown(skip_risk_facts())
    impact = section(text, "## Impact on data and consumers")
    assert "**Skipped**: possibly 1 change event on `mysql-oltp-orders`" in impact
    assert "up to **15m 02s** late" in impact and "**Consumer lag**: unknown" in impact
    assert "**Duplicated**: unknown: Debezium delivers at least once" in impact
    response = section(text, "## Response")
    assert "> ✅ `SELECT COUNT(*) AS orders FROM oltp.orders` → orders=4" in response   # not only "*Data validation*"
    assert "Data validation" not in response
    assert "(11m 40s after the request)" in response
    badly = text.split("### What went badly")[1].split("###")[0]
    assert "Step `validate-data` did not succeed: ⚠️ counts cannot show one skipped change" in badly
    assert "The approval of `restart-connector` waited 11m 40s." in badly
    assert "- Incident commander: Alice Nguyen (U0ALICE)" in section(text, "## Participants and roles")


def test_follow_ups_from_the_thread_become_action_items_with_owner_and_priority() -> None:
    items = section(build_markdown(skip_risk_facts()), "## Action items")
    assert "| 1 | compare orders changed 07:00-07:15 with the sink | @Bob Tran | P1 | thread, Alice Nguyen (U0ALICE) |" \
        in items
    assert "| 2 | alert on Debezium task FAILED | _to assign_ | unset |" in items
    assert "| 3 | Connector `mysql-oltp-orders` RUNNING" in items and "| _to assign_ | P1 | checklist, verified live |" \
        in items


def test_detection_shows_the_failed_task_and_the_log_lines_not_a_dangling_colon() -> None:
    detection = section(build_markdown(skip_risk_facts()), "## Detection")
    assert "connector **RUNNING** on `connect:8083`\n  • task 0: **FAILED** on `connect:8083`" in detection
    assert "  ```\n  io.debezium.DebeziumException: Encountered change event" in detection


def test_root_cause_without_binlog_is_prose_with_the_diff_in_a_code_block() -> None:
    cause = section(build_markdown(skip_risk_facts()), "## Root cause")
    assert cause.lstrip().startswith("`oltp.orders` no longer matched its schema baseline")
    assert "```diff\n+ unexpected_field varchar(64) NULL" in cause
    assert "binary logging is off on this server (log_bin=OFF)" in cause and ":mag:" not in cause


def test_a_placeholder_alert_start_makes_time_to_detect_unknown_not_absurd() -> None:
    text = build_markdown(no_steps_facts())
    assert "Time to detect: **unknown (alert start unknown)**" in text
    assert "implausible: more than 7 days before the incident opened" in text
    assert "h 0" not in section(text, "## Impact on data and consumers")   # no "235894h"
    assert "_No runbook step was run through the bot._" in section(text, "## Response")
