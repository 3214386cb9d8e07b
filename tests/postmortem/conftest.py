"""Deps wired to real Redis and, where a test needs them, the in-process Slack emulator and simulators."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.config import Settings
from bot.deps import Deps, build_deps
from bot.sandbox.slack_emulator import SlackEmulator
from tests.harness import BOT_TOKEN, SIGNING_SECRET

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def slack() -> Iterator[SlackEmulator]:
    with SlackEmulator(signing_secret=SIGNING_SECRET) as emulator:
        yield emulator


@pytest.fixture
def make_deps(redis_url: str, tmp_path: Path) -> Iterator[Callable[..., Deps]]:
    made: list[Deps] = []

    def make(**settings: Any) -> Deps:
        values: dict[str, Any] = {"redis_url": redis_url, "pipeline_file": REPO / "config" / "pipelines.yml",
                                  "schema_contracts_dir": tmp_path / "contracts", **settings}
        deps = build_deps(Settings(_env_file=None, **values))  # type: ignore[call-arg]
        made.append(deps)
        return deps

    yield make
    for deps in made:
        deps.jobs.shutdown(wait=False)


@pytest.fixture
def slack_deps(make_deps: Callable[..., Deps], slack: SlackEmulator) -> Deps:
    return make_deps(slack_bot_token=BOT_TOKEN, slack_api_url=slack.api_url)
