"""Events: @bot mentions (the command grammar, in channels and incident threads)."""

from __future__ import annotations

import re
from typing import Any

from slack_bolt import BoltContext

from bot.commands.dispatch import dispatch
from bot.commands.registry import Invocation, Reply
from bot.reply import SlackReplier
from bot.surfaces import Registrar

_MENTION = re.compile(r"<@[A-Z0-9]+(?:\|[^>]*)?>")


def on_app_mention(event: dict[str, Any], context: BoltContext) -> None:
    thread_ts = event.get("thread_ts")
    inv = Invocation(
        user_id=event.get("user", ""),
        channel_id=event["channel"],
        surface="mention",
        text=_MENTION.sub(" ", event.get("text", "")).strip(),
        thread_ts=thread_ts,
    )
    replier = SlackReplier(context["deps"], inv.channel_id, inv.user_id, thread_ts=thread_ts)

    def ack_with(reply: Reply) -> None:
        # Events are acked by Bolt already; the "ack" of a mention is an ephemeral reply.
        replier.deliver(reply)

    dispatch(context["deps"], inv, ack_with, replier)


def register(reg: Registrar) -> None:
    reg.event("app_mention", on_app_mention)
