"""`/dataflow postmortem [INC-n]`: the Markdown draft uploaded into the incident thread."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.blocks.postmortem import summary_blocks, summary_text
from bot.commands.registry import Invocation, Reply, subcommand
from bot.commands.target import record_command, resolve_incident, thread_reply
from bot.errors import UserInputError
from bot.postmortem.checklist import verified_checks
from bot.postmortem.export import Export, build_export
from bot.postmortem.impact import milestones, since_first_alert
from bot.postmortem.live import NOT_CHECKED
from bot.postmortem.model import Check

if TYPE_CHECKING:
    from bot.deps import Deps


def summary_lines(export: Export) -> list[str]:
    facts = export.facts
    marks = milestones(facts.incident, facts.events)
    checks = verified_checks(facts)
    lines = [f"Status: {facts.incident.status}",
             f"Time to detect: {since_first_alert(marks, marks.detected)} · to mitigate: "
             f"{since_first_alert(marks, marks.mitigated)} · to resolve: {since_first_alert(marks, marks.resolved)}"]
    lines += [f"{'✅' if c.ok else '⬜'} {c.label}" for c in checks[:5]]
    return lines + unchecked_lines(checks)


def unchecked_lines(checks: list[Check]) -> list[str]:
    """The live checks a backend did not answer for, naming it: in the answer, not only in the file."""
    return [f":warning: {c.label}: {c.detail}" for c in checks if c.detail.startswith(NOT_CHECKED)]


@subcommand("postmortem", "[INC-n]", "draft the postmortem: a Markdown file uploaded into the incident thread")
def run_postmortem(deps: Deps, inv: Invocation, args: list[str]) -> Reply:
    target = resolve_incident(deps, inv, args)
    inc, rest = target.incident, target.rest
    assert inc is not None
    if rest:
        raise UserInputError(f"Unexpected `{rest[0][:40]}`.", "Usage: `/dataflow postmortem [INC-n]`.")
    if not inc.root_ts:
        raise UserInputError(f"{inc.id} has no thread yet.", "Try again in a moment.")
    # Recorded first, so the draft includes who asked for it and HTTP/CLI exports made next match it.
    record_command(deps, inc, inv, "Postmortem draft requested")
    export = build_export(deps, inc.id)
    checks = verified_checks(export.facts)
    text = "\n".join([summary_text(inc.id, inc.title, inc.status, sum(c.ok for c in checks), len(checks)),
                      *unchecked_lines(checks)])
    blocks = summary_blocks(inc.id, summary_lines(export), export.filename, len(export.facts.events))
    return thread_reply(inc, text, blocks, files=[(export.filename, export.markdown)],
                        kind="postmortem", note=target.note())
