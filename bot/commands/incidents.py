"""`/dataflow incidents [open|resolved] [pipeline]`: the incident channel's incidents, newest first."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.blocks.commands import INCIDENTS_SHOWN, incidents_text
from bot.blocks.common import escape
from bot.blocks.incident_commands import filtered_incidents_text
from bot.commands.registry import Invocation, Reply, subcommand
from bot.errors import UserInputError

if TYPE_CHECKING:
    from bot.deps import Deps

STATUSES = ("open", "resolved")
# How far back a filter looks: the newest this many incidents of the channel.
FILTER_SCAN = 500


# Slow (job pool) although it only reads Redis: every subcommand with I/O stays off the ack path.
@subcommand("incidents", "[open|resolved] [pipeline]",
            f"the latest {INCIDENTS_SHOWN} incidents, newest first; only open or resolved ones, of one pipeline")
def run_incidents(deps: Deps, inv: Invocation, args: list[str]) -> Reply:
    status, pipeline = parse_filter(deps, args)
    channel = deps.settings.incident_channel or inv.channel_id
    if status is None and pipeline is None:
        return Reply(text=incidents_text(deps.store.incidents(channel, limit=INCIDENTS_SHOWN), deps.settings.display_tz))
    found = [inc for inc in deps.store.incidents(channel, limit=FILTER_SCAN)
             if status in (None, inc.status) and pipeline in (None, inc.pipeline)]
    return Reply(text=filtered_incidents_text(found, deps.settings.display_tz, status, pipeline))


def parse_filter(deps: Deps, args: list[str]) -> tuple[str | None, str | None]:
    """At most one status and one pipeline, in either order; a pipeline must be one the lineage knows."""
    status = [a.lower() for a in args if a.lower() in STATUSES]
    others = [a for a in args if a.lower() not in STATUSES]
    known = [p.name for p in deps.lineage.pipelines]
    usage = "Usage: `/dataflow incidents [open|resolved] [pipeline]`."
    if len(status) > 1 or len(others) > 1:
        raise UserInputError("`incidents` takes at most one status and one pipeline.", usage)
    if others and others[0] not in known:
        names = ", ".join(f"`{escape(n)}`" for n in known) or "none (no pipeline file)"
        raise UserInputError(f"Unknown pipeline `{escape(others[0][:60])}`.", f"Known pipelines: {names}. {usage}")
    return (status[0] if status else None), (others[0] if others else None)
