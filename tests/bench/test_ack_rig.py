"""The P2 rig works at a small size: the open-loop driver against the bare Bolt app and the real bot, the
tracked answers, and the hung backend (counts and statuses only, never timings)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from bench.ack_latency import (
    Requests,
    open_loop,
    start_bare,
    tracked_burst,
    tracked_send,
    wait_answers,
    wait_ephemeral,
)
from bench.common import HungServer
from bot.sandbox.slack_emulator import SlackEmulator
from tests.conftest import free_port
from tests.harness import SIGNING_SECRET, BotProcess, bot_env

pytestmark = pytest.mark.e2e


@pytest.fixture
def emu() -> Iterator[SlackEmulator]:
    with SlackEmulator(signing_secret=SIGNING_SECRET) as emulator:
        yield emulator


def test_hung_server_accepts_and_never_answers() -> None:
    with HungServer() as hung:
        with pytest.raises(httpx.ReadTimeout):
            httpx.get(hung.url + "/connectors", timeout=httpx.Timeout(5.0, read=0.3))
        assert hung.accepted() == 1


def test_open_loop_against_bare_app_and_bot(emu: SlackEmulator, redis_url: str) -> None:
    port = free_port()
    bare = start_bare(port, emu.api_url)
    bot = BotProcess(bot_env(redis_url, emu.api_url, free_port(), LOG_LEVEL="WARNING")).start()
    emu.request_url = bot.url + "/slack/events"
    reqs = Requests(emu)
    try:
        for url in (f"http://127.0.0.1:{port}/slack/events", bot.url + "/slack/events"):
            result = open_loop(url, lambda: reqs.command("help"), rate=10, seconds=0.5)
            assert (result["n"], result["status"], result["over_3s"]) == (5, {200: 5}, 0)
        sent, acks = tracked_burst(bot.url + "/slack/events", reqs, 3)    # status: answered via response_url
        assert [status for status, _ in acks] == [200, 200, 200]
        answers = wait_answers(reqs, sent)
        assert sorted(answers) == sorted(rid for rid, _ in sent)
        (status, _ack), (_rid, clicked) = tracked_send(bot.url + "/slack/events", reqs, reqs.click)
        assert status == 200                                               # an unknown approval: refused
        assert wait_ephemeral(emu, clicked, time.monotonic() + 30) is not None   # privately, by ephemeral
    finally:
        bot.stop()
        bare.terminate()
        bare.wait(timeout=10)
