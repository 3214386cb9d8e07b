"""The P3 rig works, at a small size, with the emulator enforcing Slack's limits: counts and order only.

The floor receiver shows one root per group in arrival order; the real bot, in a 5-incident storm, ends
with one root per incident, none lost, none doubled and no dead letter, while Slack answered it 429s.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from bench.storm import run_bot
from bench.storm_plan import StormPlan, schedule
from bench.storm_report import roots, summarise
from bench.storm_rig import FloorReceiver, send_storm, wait_quiet
from bot.sandbox.slack_emulator import SlackEmulator
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
    assert intake["status"] == {"200": 12}
    assert [r.pipeline for r in roots(emu.calls(), plan.names())] == plan.names()
    report = summarise(emu.calls(), plan.names(), t0)
    assert (report["visible"], report["duplicates"], report["lost"]) == (4, 0, [])
    assert report["answered_429"] == {"chat.postMessage": 1}     # burst of 3, then the 4th waited its second


@pytest.mark.timeout(240)
def test_bot_storm_one_root_per_incident_no_dead_letters(emu: SlackEmulator, redis_url: str) -> None:
    plan = StormPlan(alerts=10, pipelines=5, seconds=1.0, late_at=None)
    report = run_bot(emu, plan, redis_url, max_wait=180)
    assert report["webhook"]["status"] == {"200": 10}
    assert (report["visible"], report["lost"], report["roots"], report["duplicates"]) == (5, [], 5, 0)
    assert report["dead_letters"] == 0 and report["stream"]["left"] == 0
    assert report["answered_429"].get("chat.postMessage", 0) > 0   # the limits were really in force
    assert report["quiet_after_s"] is not None
