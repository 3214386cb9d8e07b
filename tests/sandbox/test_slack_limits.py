"""The emulator's rate limiter: counts and order of refusals against a clock the test moves (no timings)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.sandbox.slack_emulator import SlackEmulator
from bot.sandbox.slack_limits import METHOD_LIMITS, TIER_1, TIER_3, RateLimiter
from bot.sandbox.slack_serve import limits_from_env, main


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def limiter(clock: Clock) -> RateLimiter:
    return RateLimiter(clock=clock)


def test_post_message_bursts_three_then_one_a_second_per_channel(limiter: RateLimiter, clock: Clock) -> None:
    answers = [limiter.admit("chat.postMessage", "C1") for _ in range(5)]
    assert answers == [None, None, None, 1, 1]
    assert limiter.admit("chat.postMessage", "C2") is None       # another channel has its own second
    clock.advance(1.0)
    assert [limiter.admit("chat.postMessage", "C1") for _ in range(2)] == [None, 1]
    assert limiter.refused("chat.postMessage") == 3


def test_refused_calls_take_no_token(limiter: RateLimiter, clock: Clock) -> None:
    for _ in range(3):
        limiter.admit("chat.postMessage", "C1")
    for _ in range(50):                                           # hammering while limited...
        clock.advance(0.01)
        limiter.admit("chat.postMessage", "C1")
    clock.advance(0.5)                                            # ...does not push the next token back
    assert limiter.admit("chat.postMessage", "C1") is None


def test_workspace_wide_post_limit_spans_channels(limiter: RateLimiter) -> None:
    admitted = [limiter.admit("chat.postMessage", f"C{i}") for i in range(40)]
    assert admitted.count(None) == 30 and admitted[30:] == [1] * 10


def test_tier3_over_a_minute_allows_burst_plus_rate(limiter: RateLimiter, clock: Clock) -> None:
    admitted = 0
    for step in range(481):                                       # one try every 1/8 s, from 0 to 60 s
        clock.now = 1000.0 + step * 0.125                         # exact in binary: no drift
        admitted += limiter.admit("chat.update") is None
    assert admitted == TIER_3.burst + TIER_3.per_minute


def test_retry_after_is_whole_seconds_until_a_token(limiter: RateLimiter, clock: Clock) -> None:
    assert [limiter.admit("apps.connections.open") for _ in range(TIER_1.burst)] == [None, None]
    assert limiter.admit("apps.connections.open") == 60
    clock.advance(59.5)
    assert limiter.admit("apps.connections.open") == 1            # 0.5 s left rounds up, never 0
    clock.advance(0.5)
    assert limiter.admit("apps.connections.open") is None


def test_methods_without_a_limit_are_never_refused(limiter: RateLimiter) -> None:
    assert "auth.test" not in METHOD_LIMITS
    assert all(limiter.admit("auth.test") is None for _ in range(1000))
    assert limiter.refused() == 0


def test_tiers_are_per_method(limiter: RateLimiter) -> None:
    for _ in range(10):
        limiter.admit("chat.update")
    assert limiter.admit("chat.update") == 2                      # 50/min: 1.2 s to the next token
    assert limiter.admit("conversations.replies") is None         # same tier, its own bucket
    assert limiter.admit("chat.postEphemeral") is None


# -- over HTTP, as the bot sees it ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def running() -> Iterator[SlackEmulator]:
    with SlackEmulator(signing_secret="test-secret") as emulator:
        yield emulator


@pytest.fixture
def emu(running: SlackEmulator) -> Iterator[SlackEmulator]:
    running.reset()
    yield running
    running.reset()


def test_off_by_default(emu: SlackEmulator) -> None:
    client = WebClient(token=emu.bot_token, base_url=emu.api_url, timeout=10, retry_handlers=[])
    for i in range(10):
        client.chat_postMessage(channel="C0INCIDENT", text=f"m{i}")
    assert emu.rate_limited() == 0 and len(emu.messages()) == 10


def test_answers_429_ratelimited_with_retry_after(emu: SlackEmulator, clock: Clock) -> None:
    emu.enable_rate_limits(RateLimiter(clock=clock))
    client = WebClient(token=emu.bot_token, base_url=emu.api_url, timeout=10, retry_handlers=[])
    for i in range(3):
        client.chat_postMessage(channel="C0INCIDENT", text=f"m{i}")
    with pytest.raises(SlackApiError) as info:
        client.chat_postMessage(channel="C0INCIDENT", text="one too many")
    response = info.value.response
    assert (response.status_code, response["error"], response.headers["Retry-After"]) == (429, "ratelimited", "1")
    assert [m["text"] for m in emu.messages()] == ["m0", "m1", "m2"]     # the refused one did nothing
    assert [c.limited for c in emu.calls("chat.postMessage")] == [False, False, False, True]
    clock.advance(1.0)
    client.chat_postMessage(channel="C0INCIDENT", text="after the wait")
    assert emu.rate_limited("chat.postMessage") == 1 and len(emu.messages()) == 4
    emu.reset()                                                   # reset switches the limits off again
    assert emu.backend.limiter is None


def test_standalone_switch(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    assert limits_from_env({"SLACK_EMULATOR_RATE_LIMITS": "on"}) is True
    assert limits_from_env({}) is False
    monkeypatch.setenv("SLACK_EMULATOR_RATE_LIMITS", "sometimes")
    assert main(["--port", "0"]) == 2
    assert capsys.readouterr().err.strip() == "error: SLACK_EMULATOR_RATE_LIMITS must be on or off, not 'sometimes'"
