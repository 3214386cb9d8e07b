"""The "Draft postmortem" button: ack at once, build on the job pool, upload into the incident thread."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, BoltContext, Respond

from bot.blocks.postmortem import ACTION_ID
from bot.commands.dispatch import run_and_deliver
from bot.commands.registry import REGISTRY, Invocation
from bot.reply import SlackReplier
from bot.surfaces import Registrar


def on_draft_postmortem(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond,
                        context: BoltContext) -> None:
    ack()
    deps = context["deps"]
    channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id", "")
    user = (body.get("user") or {}).get("id", "")
    incident_id = str(action.get("value") or "")
    inv = Invocation(user_id=user, channel_id=channel, text=f"postmortem {incident_id}", surface="button")
    replier = SlackReplier(deps, channel, user, respond=respond)
    respond(text=f":hourglass_flowing_sand: Drafting the postmortem of {incident_id}…",
            response_type="ephemeral", replace_original=False)
    # The same path as `/dataflow postmortem INC-n`: errors reach the clicker as a clear ephemeral.
    deps.jobs.submit(run_and_deliver, deps, REGISTRY["postmortem"], inv, [incident_id], replier)


def register(reg: Registrar) -> None:
    reg.action(ACTION_ID, on_draft_postmortem)
