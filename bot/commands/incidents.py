"""`/dataflow incidents`: the incident channel's recent incidents, newest first."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.blocks.commands import INCIDENTS_SHOWN, incidents_text
from bot.commands.registry import Invocation, Reply, subcommand
from bot.errors import UserInputError

if TYPE_CHECKING:
    from bot.deps import Deps


# Slow (job pool) although it only reads Redis: every subcommand with I/O stays off the ack path.
@subcommand("incidents", "", f"the latest {INCIDENTS_SHOWN} incidents, newest first")
def run_incidents(deps: Deps, inv: Invocation, args: list[str]) -> Reply:
    if args:
        raise UserInputError("`incidents` takes no arguments.", "Try `/dataflow incidents`.")
    channel = deps.settings.incident_channel or inv.channel_id
    found = deps.store.incidents(channel, limit=INCIDENTS_SHOWN)
    return Reply(text=incidents_text(found, deps.settings.display_tz))
