"""Fixtures for the tests against the local real stack. Every module here sets
`pytestmark = pytest.mark.realstack`: such tests run only with --realstack (or REALSTACK=1); the stack is brought up once per session, and a stack that
cannot come up fails the tests."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from bot.sandbox.real_stack import RealStack
from tests.realstack.control import ensure_up

# Its own Redis database: the default suite uses TEST_REDIS_DB (11), the demos 9 and 15.
REALSTACK_REDIS_URL = os.environ.get("REALSTACK_REDIS_URL", "redis://127.0.0.1:6379/12")


@pytest.fixture(scope="session")
def stack_env() -> dict[str, str]:
    """The URLs and names of the running stack (STACK_DIR/stack.json)."""
    return ensure_up()


@pytest.fixture
def real(stack_env: dict[str, str]) -> Iterator[RealStack]:
    """The real stack with the Slack emulator and a fresh bot process wired to it, the pipeline reset
    (no drift column, Flink job healthy), Redis clean. Stopped (and the drift column dropped) after."""
    stack = RealStack(REALSTACK_REDIS_URL).start()
    try:
        yield stack
    finally:
        stack.stop()
