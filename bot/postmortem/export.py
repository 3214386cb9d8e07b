"""export_markdown(deps, incident_id): the one export every surface uses (thread, HTTP, CLI)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.deps import Deps
from bot.errors import NotFoundError
from bot.postmortem.backfill import backfill_if_due
from bot.postmortem.builder import build_markdown
from bot.postmortem.facts import gather_facts
from bot.postmortem.model import Facts


@dataclass(frozen=True)
class Export:
    markdown: str
    facts: Facts

    @property
    def filename(self) -> str:
        return f"postmortem-{self.facts.incident.id}.md"


def build_export(deps: Deps, incident_id: str) -> Export:
    inc = deps.store.incident(incident_id)
    if inc is None:
        raise NotFoundError(f"Unknown incident {incident_id}.", "List them with `/dataflow incidents`.")
    backfill_if_due(deps, inc)
    facts = gather_facts(deps, inc)
    # Human messages and bot posts may quote configs or traces: the file goes to Slack and disks.
    return Export(deps.redactor.text(build_markdown(facts)), facts)


def export_markdown(deps: Deps, incident_id: str) -> str:
    return build_export(deps, incident_id).markdown
