"""Fixtures for tests that run the real bot process against the Slack emulator and real Redis."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from bot.sandbox.slack_emulator import SlackEmulator
from tests.conftest import free_port
from tests.harness import SIGNING_SECRET, BotProcess, bot_env


@pytest.fixture
def slack() -> Iterator[SlackEmulator]:
    with SlackEmulator(signing_secret=SIGNING_SECRET) as emulator:
        yield emulator


@pytest.fixture
def start_bot(redis_url: str, slack: SlackEmulator) -> Iterator[Callable[..., BotProcess]]:
    """start_bot(**env) starts one more `dataflow-bot serve`; Slack's requests go to the first one."""
    started: list[BotProcess] = []

    def start(**extra: str) -> BotProcess:
        bot = BotProcess(bot_env(redis_url, slack.api_url, free_port(), **extra)).start()
        if not started:
            slack.request_url = bot.url + "/slack/events"
        started.append(bot)
        return bot

    yield start
    for bot in started:
        bot.stop()


@pytest.fixture
def bot(start_bot: Callable[..., BotProcess]) -> BotProcess:
    return start_bot()
