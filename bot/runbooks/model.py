"""The runbook format (bot/runbooks/definitions/*.yml), validated by pydantic."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from bot.blocks.common import escape
from bot.errors import ConfigError, NotFoundError

DEFINITIONS = Path(__file__).parent / "definitions"


class ApprovalPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    who: Literal["approvers"] = "approvers"      # APPROVERS, resolved at click time
    ttl_seconds: float | None = Field(default=None, gt=0)   # None: APPROVAL_TTL_SECONDS


class Step(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,40}$")
    title: str = Field(min_length=1, max_length=75)     # it becomes a button label
    phase: str = "actions"
    kind: Literal["read", "mutate"]
    action: str                                         # a name in bot.runbooks.actions.ACTIONS
    params: dict[str, str] = Field(default_factory=dict)  # "{table}", "{connector}"… from the incident
    precheck: str | None = None                         # an action name; runs before and again at execution
    postcheck: str | None = None                        # an action name; runs after success
    approval: ApprovalPolicy | None = None
    description: str = ""
    # A chaos drill step breaks the pipeline on purpose: never offered in an open incident's checklist,
    # and run there only with an explicit `confirm` (bot/runbooks/engine.py).
    drill: bool = False

    @model_validator(mode="after")
    def _mutating_steps_need_approval(self) -> Step:
        if self.kind == "mutate" and self.approval is None:
            self.approval = ApprovalPolicy()
        if self.kind == "read" and self.approval is not None:
            raise ValueError(f"step {self.id}: a read step takes no approval")
        return self


class Runbook(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,40}$")
    title: str
    description: str = ""
    alerts: list[str] = Field(default_factory=list)    # alertnames it is the runbook for
    steps: list[Step] = Field(min_length=1)

    def step(self, step_id: str) -> Step | None:
        return next((s for s in self.steps if s.id == step_id), None)

    @model_validator(mode="after")
    def _unique_ids(self) -> Runbook:
        ids = [s.id for s in self.steps]
        if len(ids) != len(set(ids)):
            raise ValueError(f"runbook {self.name}: duplicate step ids")
        return self


def load_runbooks(directory: Path = DEFINITIONS) -> dict[str, Runbook]:
    """Every definition, validated, and every action it names known: a bad file stops the bot at start."""
    from bot.runbooks.actions import ACTIONS, load_all

    load_all()

    books: dict[str, Runbook] = {}
    for path in sorted(directory.glob("*.yml")):
        try:
            book = Runbook.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
        except (ValidationError, yaml.YAMLError) as exc:
            raise ConfigError([f"runbook {path.name}: {exc}"]) from exc
        for step in book.steps:
            for name in filter(None, (step.action, step.precheck, step.postcheck)):
                if name not in ACTIONS:
                    raise ConfigError([f"runbook {path.name}: step {step.id} names unknown action {name!r}"])
                if ACTIONS[name].mutating != (step.kind == "mutate") and name == step.action:
                    raise ConfigError([f"runbook {path.name}: step {step.id} is {step.kind} but {name} is not"])
        books[book.name] = book
    return books


def find_step(books: dict[str, Runbook], step_id: str) -> tuple[Runbook, Step]:
    for book in books.values():
        if (step := book.step(step_id)) is not None:
            return book, step
    known = ", ".join(sorted({s.id for b in books.values() for s in b.steps}))
    raise NotFoundError(f"Unknown step `{escape(step_id[:60])}`.", f"Steps: {known}.")


@functools.cache
def runbooks() -> dict[str, Runbook]:
    """The shipped definitions, loaded and checked once per process."""
    return load_runbooks()


def choose_step(books: dict[str, Runbook], step_id: str, alertnames: list[str]) -> tuple[Runbook, Step]:
    """The step of the runbook made for this incident's alerts when it has one, else the first that does."""
    for book in books.values():
        if set(book.alerts) & set(alertnames) and (step := book.step(step_id)) is not None:
            return book, step
    return find_step(books, step_id)
