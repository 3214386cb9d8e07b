"""How the demo says it failed: one line, what did not happen, never the emulator's call dump."""

from __future__ import annotations

import pytest
from rich.console import Console

from bot.errors import UserInputError
from bot.sandbox.demo import Drill, DrillStalled
from bot.sandbox.demo_cli import one_line
from bot.sandbox.stack import SandboxStack


def test_a_step_that_does_not_happen_is_one_line_naming_it() -> None:
    stack = SandboxStack("mysql://root@127.0.0.1:3306/", "redis://127.0.0.1:6379/0")   # never started
    drill = Drill(stack, Console())
    with pytest.raises(DrillStalled) as raised:
        drill.wait(lambda: None, "the connector task failing", timeout=0.2)
    assert str(raised.value) == "the connector task failing did not happen within 0.2 s"
    assert raised.value.__cause__ is None and raised.value.__suppress_context__


def test_a_refusal_and_its_hint_are_one_line() -> None:
    refused = UserInputError("Another demo is running.", "Wait for it\nto finish.")
    assert one_line(refused) == "Another demo is running. Wait for it to finish."
    assert one_line(TimeoutError()) == "TimeoutError"
