"""The P3 rig works, at a small size, with the emulator enforcing Slack's limits: counts and order only.

The floor receiver shows one root per group in arrival order; the real bot, in a 3-incident storm, ends
with one root per incident, none lost, none doubled and no dead letter, while Slack answered it 429s.
A late alert about a new pipeline gets its root before the storm's enrichment backlog is through.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from bench.storm import run_bot
from bench.storm_plan import LATE, StormPlan, schedule
from bench.storm_report import event_payload, roots, summarise
from bench.storm_rig import FloorReceiver, send_storm, wait_quiet
from bot.sandbox.slack_emulator import SlackEmulator
from bot.sandbox.slack_faults import RecordedCall
from tests.conftest import REDIS_DB, REDIS_HOST, REDIS_PORT
from tests.harness import SIGNING_SECRET

pytestmark = pytest.mark.e2e


@pytest.fixture
def emu() -> Iterator[SlackEmulator]:
    with SlackEmulator(signing_secret=SIGNING_SECRET) as emulator:
        yield emulator


def test_floor_posts_one_root_per_group_in_arrival_order(emu: SlackEmulator) -> None:
    plan = StormPlan(alerts=12, pipelines=4, seconds=0.5, late_at=None)
    emu.enable_rate_limits()
    with FloorReceiver(emu.api_url) as floor:
        t0 = time.monotonic()
        intake = send_storm(floor.url, "", schedule(plan), t0)
        assert wait_quiet(emu, t0, 30, 1.0, floor.idle) is not None
        assert floor.failures == []
        arrived = list(floor.order)
    assert intake["status"] == {"200": 12} and sorted(arrived) == plan.names()
    assert [r.pipeline for r in roots(emu.calls(), plan.names())] == arrived     # first come, first posted
    report = summarise(emu.calls(), plan.names(), t0)
    assert (report["visible"], report["duplicates"], report["lost"]) == (4, 0, [])
    assert report["answered_429"] == {"chat.postMessage": 1}     # burst of 3, then the 4th waited its second


@pytest.fixture(scope="module")
def bot_storm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[str, Any], list[RecordedCall]]]:
    """One 3-incident storm into the real bot (limits on), and a late alert 3 s in; shared by the tests
    below, which read different things from it. Small: at one post a second per channel, every incident's
    root and enrichment replies take seconds each (bench/storm.py is the full size)."""
    client = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=REDIS_DB)
    client.flushdb()
    with SlackEmulator(signing_secret=SIGNING_SECRET) as emu:
        plan = StormPlan(alerts=6, pipelines=3, seconds=1.0, late_at=3.0)
        report = run_bot(emu, plan, f"redis://{REDIS_HOST}:{REDIS_PORT}/{REDIS_DB}", max_wait=200)
        yield report, emu.calls()
    client.flushdb()
    client.close()


@pytest.mark.timeout(300)
def test_bot_storm_one_root_per_incident_no_dead_letters(bot_storm: tuple[dict[str, Any], list[RecordedCall]]) -> None:
    report, _calls = bot_storm
    assert report["webhook"]["status"] == {"200": 7}
    assert (report["visible"], report["lost"], report["roots"], report["duplicates"]) == (3, [], 3, 0)
    assert report["late_alert_root_after_s"] is not None
    assert report["dead_letters"] == 0 and report["stream"]["left"] == 0
    assert report["answered_429"].get("chat.postMessage", 0) > 0   # the limits were really in force
    assert report["quiet_after_s"] is not None


@pytest.mark.timeout(300)
def test_late_alert_root_does_not_wait_for_the_storms_enrichment(
        bot_storm: tuple[dict[str, Any], list[RecordedCall]]) -> None:
    """Issue #16: a new, unrelated pipeline's root must not queue behind other incidents' enrichment."""
    _report, calls = bot_storm
    late_root = next(r for r in roots(calls, [LATE]) if r.pipeline == LATE)
    storm_enrichment = [c.at for c in calls if c.method == "chat.postMessage" and not c.limited
                        and str(event_payload(c).get("kind", "")).startswith("enrich")
                        and event_payload(c).get("incident_id") != late_root.incident]
    assert storm_enrichment and late_root.at < max(storm_enrichment)
