"""Every step of every runbook runs end to end on the local real stack in some test: each real-stack test
says which with `@pytest.mark.covers_step("<runbook>", "<step-id>")`. Read from the test files' syntax
(nothing is imported or run), so this check stays in the default suite."""

from __future__ import annotations

import ast
from pathlib import Path

from bot.runbooks.model import load_runbooks

REALSTACK = Path(__file__).resolve().parents[1] / "realstack"

def marks_in(source: str, filename: str) -> list[tuple[str, str, str]]:
    """(runbook, step, where) for every `….covers_step("runbook", "step")` call in a module."""
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "covers_step":
            args = [a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
            assert len(args) == 2 == len(node.args), f"{filename}:{node.lineno}: covers_step takes two strings"
            found.append((args[0], args[1], f"{Path(filename).name}:{node.lineno}"))
    return found


def all_marks() -> list[tuple[str, str, str]]:
    return [m for path in sorted(REALSTACK.glob("test_*.py")) for m in marks_in(path.read_text(), str(path))]


def uncovered(steps: set[tuple[str, str]], marks: list[tuple[str, str, str]]) -> list[str]:
    covered = {(book, step) for book, step, _ in marks}
    return sorted(f"{book}/{step}" for book, step in steps - covered)


def unknown(steps: set[tuple[str, str]], marks: list[tuple[str, str, str]]) -> list[str]:
    return sorted(f"{book}/{step} ({where})" for book, step, where in marks if (book, step) not in steps)


def runbook_steps() -> set[tuple[str, str]]:
    return {(book.name, step.id) for book in load_runbooks().values() for step in book.steps}


def test_every_runbook_step_has_a_real_stack_test() -> None:
    missing = uncovered(runbook_steps(), all_marks())
    assert not missing, "steps no real-stack test covers (mark it with covers_step): " + ", ".join(missing)


def test_every_covers_step_mark_names_a_step_that_exists() -> None:
    wrong = unknown(runbook_steps(), all_marks())
    assert not wrong, "covers_step marks naming no runbook step: " + ", ".join(wrong)


def test_the_check_finds_marks_in_every_form_and_reports_both_ways() -> None:
    source = '''
import pytest
pytestmark = [pytest.mark.realstack, pytest.mark.covers_step("a", "one")]

@pytest.mark.covers_step("a", "two")
@pytest.mark.covers_step("b", "gone")
def test_x() -> None: ...

@pytest.mark.parametrize("p", [pytest.param(1, marks=pytest.mark.covers_step("a", "three"))])
def test_y(p: int) -> None: ...
'''
    marks = marks_in(source, "test_sample.py")
    steps = {("a", "one"), ("a", "two"), ("a", "three"), ("a", "four")}
    assert sorted((b, s) for b, s, _ in marks) == [("a", "one"), ("a", "three"), ("a", "two"), ("b", "gone")]
    assert uncovered(steps, marks) == ["a/four"]
    assert unknown(steps, marks) == ["b/gone (test_sample.py:6)"]
