"""Thread messages, :pushpin: reactions and the "Add to incident timeline" shortcut."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, BoltContext, Respond

from bot.incidents.timeline import capture_message, mark_key, on_reaction
from bot.surfaces import Registrar

SHORTCUT = "add_to_timeline"


def on_message(event: dict[str, Any], context: BoltContext) -> None:
    capture_message(context["deps"], event)


def on_reaction_added(event: dict[str, Any], context: BoltContext) -> None:
    on_reaction(context["deps"], event)


def on_add_to_timeline(ack: Ack, shortcut: dict[str, Any], respond: Respond, context: BoltContext) -> None:
    ack()
    inc = mark_key(context["deps"], shortcut["channel"]["id"], shortcut["message"])
    respond(text=f":pushpin: Added to the timeline of {inc.id} as a key event.", response_type="ephemeral")


def register(reg: Registrar) -> None:
    reg.event("message", on_message)
    reg.event("reaction_added", on_reaction_added)
    reg.shortcut(SHORTCUT, on_add_to_timeline)
