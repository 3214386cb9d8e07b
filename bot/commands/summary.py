"""`summary [INC-n]`: state, severity, commander, open approvals and the last actions, in the thread."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.blocks.incident_commands import summary_text
from bot.blocks.links import incident_links, link_bases
from bot.commands.registry import Invocation, Reply, subcommand
from bot.commands.target import record_command, resolve_incident, thread_reply
from bot.errors import UserInputError
from bot.runbooks.approvals import TERMINAL, Approval, Approvals

if TYPE_CHECKING:
    from bot.deps import Deps


@subcommand("summary", "[INC-n]", "the incident in short: state, commander, open approvals, last actions")
def run_summary(deps: Deps, inv: Invocation, args: list[str]) -> Reply:
    target = resolve_incident(deps, inv, args)
    inc = target.incident
    assert inc is not None
    if target.rest:
        raise UserInputError(f"Unexpected `{target.rest[0][:40]}`.", "Usage: `/dataflow summary [INC-n]`.")
    links = incident_links(inc, link_bases(deps.settings))
    text = summary_text(inc, open_approvals(deps, inc.id), deps.store.events(inc.id), deps.settings.display_tz,
                        links)
    record_command(deps, inc, inv, "Summary requested")   # after reading: the summary shows what came before
    return thread_reply(inc, text, note=target.note())


def open_approvals(deps: Deps, incident_id: str) -> list[Approval]:
    """Runs of this incident not yet ended (pending, approved, executing), oldest first."""
    store = Approvals(deps.store.r)
    found = [a for a in (store.get(i) for i in store.live_ids()) if a is not None]
    return sorted((a for a in found if a.incident_id == incident_id and a.state not in TERMINAL),
                  key=lambda a: a.created_at)
