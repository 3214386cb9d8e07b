"""`/dataflow <subcommand>`: the one slash command."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, BoltContext, Respond

from bot.commands.dispatch import dispatch
from bot.commands.registry import Invocation, Reply
from bot.reply import SlackReplier
from bot.surfaces import Registrar

COMMAND = "/dataflow"


def on_dataflow(
    ack: Ack, command: dict[str, Any], respond: Respond, context: BoltContext
) -> None:
    inv = Invocation(
        user_id=command["user_id"], channel_id=command["channel_id"], text=command.get("text", "")
    )
    replier = SlackReplier(context["deps"], inv.channel_id, inv.user_id, respond=respond)

    def ack_with(reply: Reply) -> None:
        ack(text=reply.text, blocks=reply.blocks, response_type="ephemeral")

    dispatch(context["deps"], inv, ack_with, replier)


def register(reg: Registrar) -> None:
    reg.command(COMMAND, on_dataflow)
