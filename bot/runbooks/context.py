"""What a step runs with: the incident, its scope, and the step's parameters filled in from both."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.errors import UserInputError
from bot.models import Incident
from bot.scope import Scope

if TYPE_CHECKING:
    from bot.deps import Deps

_VAR = re.compile(r"\{([a-z_]+)(\?)?\}")   # {name}, or {name?} when it may be left empty
# Arguments a user may pass after the step id, in this order, e.g. `/dataflow run rollback-schema my_col`;
# also `name=value`, and a watched `db.table` for the table.
POSITIONAL = ("column",)


@dataclass
class StepContext:
    deps: Deps
    incident: Incident
    scope: Scope
    user: str
    args: list[str] = field(default_factory=list)

    def variables(self) -> dict[str, str]:
        """Values a step's params may use: {incident} {table} {connector} {job} {topic} {column}…"""
        found = {"incident": self.incident.id,
                 **{kind: self.scope.first(kind) for kind in ("table", "connector", "job", "topic", "service")}}
        found.update(self.named_args())
        return {k: v for k, v in found.items() if v}

    def named_args(self) -> dict[str, str]:
        """`name=value`, a watched `db.table`, and the rest positionally (POSITIONAL)."""
        named: dict[str, str] = {}
        rest = []
        watched = [*(self.deps.lineage.watched_tables() if self.deps is not None else []), *self.scope.tables]
        for arg in self.args:
            key, sep, value = arg.partition("=")
            if sep and key in ("table", "connector", "job", "column", "service", "pattern", "task"):
                named[key] = value
            elif arg in watched:
                named["table"] = arg
            else:
                rest.append(arg)
        named.update(dict(zip(POSITIONAL, rest, strict=False)))
        return named

    def resolve(self, params: dict[str, str], step_id: str) -> dict[str, str]:
        values = self.variables()

        def fill(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in values and match.group(2):
                return ""
            if name not in values:
                hint = (f"Pass it: `/dataflow run {step_id} &lt;{name}&gt;`." if name in POSITIONAL
                        else f"Pass it: `/dataflow run {step_id} {name}=&lt;value&gt;`, or name the pipeline's {name} "
                             "in PIPELINE_FILE.")
                raise UserInputError(f"Step `{step_id}` needs a {name}, and this incident gives none.", hint)
            return values[name]

        return {key: _VAR.sub(fill, template) for key, template in params.items()}
