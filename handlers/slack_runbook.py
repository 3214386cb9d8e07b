"""Runbook buttons: a step of the checklist, Approve and Deny. Ack at once; the work runs on the job pool."""

from __future__ import annotations

import re
from typing import Any

from slack_bolt import Ack, BoltContext

from bot.blocks.runbook import APPROVE, DENY, RUN_STEP
from bot.reply import SlackReplier
from bot.runbooks.clicks import click_decision, click_step
from bot.surfaces import Registrar


def _replier(context: BoltContext, body: dict[str, Any]) -> SlackReplier:
    container = body.get("container") or {}
    channel = (body.get("channel") or {}).get("id") or container.get("channel_id", "")
    return SlackReplier(context["deps"], channel, body["user"]["id"], thread_ts=container.get("thread_ts"))


def on_run_step(ack: Ack, body: dict[str, Any], action: dict[str, Any], context: BoltContext) -> None:
    ack()
    deps = context["deps"]
    deps.jobs.submit(click_step, deps, action.get("value", ""), body["user"]["id"], action.get("action_ts", ""),
                     _replier(context, body))


def on_approve(ack: Ack, body: dict[str, Any], action: dict[str, Any], context: BoltContext) -> None:
    ack()
    deps = context["deps"]
    deps.jobs.submit(click_decision, deps, action.get("value", ""), body["user"]["id"], True, _replier(context, body))


def on_deny(ack: Ack, body: dict[str, Any], action: dict[str, Any], context: BoltContext) -> None:
    ack()
    deps = context["deps"]
    deps.jobs.submit(click_decision, deps, action.get("value", ""), body["user"]["id"], False, _replier(context, body))


def register(reg: Registrar) -> None:
    reg.action(re.compile(f"^{RUN_STEP}:"), on_run_step)
    reg.action(APPROVE, on_approve)
    reg.action(DENY, on_deny)
