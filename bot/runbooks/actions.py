"""The actions runbook steps name: a registry. A runbook that uses existing actions needs no code."""

from __future__ import annotations

import hashlib
import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bot.runbooks.context import StepContext


@dataclass(frozen=True)
class Plan:
    """What a mutating step will do, exactly. The approval is bound to `action_text`'s hash."""

    summary: str
    action_text: str                      # the exact SQL, or the exact HTTP call
    facts: list[str] = field(default_factory=list)    # pre-check findings shown to the approver
    data: dict[str, Any] = field(default_factory=dict)   # what execution needs (JSON-serialisable)
    settled: dict[str, str] = field(default_factory=dict)  # params the plan inferred (re-planned with them)

    @property
    def action_hash(self) -> str:
        return hashlib.sha256(self.action_text.encode()).hexdigest()


@dataclass(frozen=True)
class Outcome:
    ok: bool
    text: str                             # mrkdwn for the incident thread
    files: list[tuple[str, str]] = field(default_factory=list)


Runner = Callable[[StepContext, dict[str, str], Plan | None], Outcome]
Planner = Callable[[StepContext, dict[str, str]], Plan]


@dataclass(frozen=True)
class Action:
    name: str
    mutating: bool
    run: Runner
    plan: Planner | None = None           # mutating actions only


ACTIONS: dict[str, Action] = {}


def action(name: str, mutating: bool = False, plan: Planner | None = None) -> Callable[[Runner], Runner]:
    def register(func: Runner) -> Runner:
        ACTIONS[name] = Action(name, mutating, func, plan)
        return func

    return register


def load_all() -> None:
    """Import the modules that register actions (kept apart so each stays small)."""
    for module in ("bot.runbooks.actions_read", "bot.runbooks.actions_mutate", "bot.runbooks.actions_flink"):
        importlib.import_module(module)
