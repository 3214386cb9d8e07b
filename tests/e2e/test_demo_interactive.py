"""`dataflow-bot demo --interactive` typed at through a pseudo-terminal (issue 14, item 1's interactive part).

A real demo process per test on this suite's Redis database; every wait has a deadline and the test a
timeout, so a hang fails the test instead of stalling the suite.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from tests.e2e.terminal import Terminal, demo_env
from tests.harness import BIN
from tests.text.leftovers import leftovers

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def demo(redis_url: str) -> Iterator[Terminal]:
    term = Terminal([str(BIN / "dataflow-bot"), "demo", "--interactive"], demo_env(redis_url))
    try:
        yield term
        term.send("quit")
        assert term.wait() == 0
    finally:
        term.close()


def test_the_thread_starts_from_the_broken_pipeline_and_the_postmortem_times_are_real(demo: Terminal) -> None:
    start = demo.expect("demo> ", timeout=120)
    thread = start.split("#incidents, as Slack shows it")[1]
    assert "task 0: FAILED" in thread and "Kafka Connect task FAILED, Flink restarting" in start
    restarts = re.search(r"Flink — cdc-orders-enrich \(\w+\): RESTARTING, restarts: (\d+)", thread)
    assert restarts is not None and int(restarts.group(1)) >= 1, thread
    assert leftovers(thread) == []

    answer = demo.command("alice /dataflow postmortem")

    detect = re.search(r"Time to detect: (\d+)s · to mitigate", answer)
    assert detect is not None, answer   # seconds since the drift, not hours since 2000-01-01
    assert "[file: postmortem-INC-1.md]" in answer


def test_help_ephemeral_and_answers_read_as_slack_shows_them(demo: Terminal) -> None:
    demo.expect("demo> ", timeout=120)

    assert "alice click run_step:rollback-schema" in demo.command("help")
    slash_help = demo.command("alice /dataflow help")
    assert "Only alice sees:" in slash_help
    assert "/dataflow logs <service> [pattern] [INC-n]" in slash_help   # neither Rich nor Slack ate them
    assert leftovers(slash_help) == []
    said = demo.command("bob say [bold]not markup[/bold], just [pattern]")
    assert "[bold]not markup[/bold], just [pattern]" in said and "In the thread, new:" in said

    private = demo.command("ephemeral")
    assert "Only alice saw:" in private and "DataFlow ChatOps — incident response" in private
    assert "\\u2014" not in private and leftovers(private) == []
    assert "Nothing private so far." in demo.command("bob ephemeral")


def test_clicks_print_what_happened_and_a_used_button_is_refused_at_once(demo: Terminal) -> None:
    demo.expect("demo> ", timeout=120)
    demo.command("alice /dataflow runbook schema-drift")

    asked = demo.command("alice click run_step:rollback-schema")
    assert "Approval needed" in asked and "Only alice sees:" in asked
    approved = demo.command("bob click approve_step")
    assert "In the thread, edited:" in approved and "Done (approved by @Bob Tran)" in approved
    assert "column dropped" in approved

    again = demo.command("bob click approve_step")

    assert again.strip().startswith("No approve_step button in the thread now: it was used, or its request ended")
    assert "wait_for" not in again and "Web API calls" not in again
    assert "start with alice or bob" in demo.command("carol click approve_step")
