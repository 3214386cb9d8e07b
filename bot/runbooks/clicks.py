"""Button clicks, run on the job pool after the ack: a step button, Approve, Deny."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.blocks.common import escape
from bot.blocks.runbook import parse_step_value
from bot.commands.registry import Reply
from bot.errors import NotFoundError
from bot.models import TimelineEvent
from bot.reply import SlackReplier
from bot.runbooks.decide import decide
from bot.runbooks.engine import request_step
from bot.runbooks.model import choose_step, runbooks

if TYPE_CHECKING:
    from bot.deps import Deps


def click_step(deps: Deps, value: str, user: str, action_ts: str, replier: SlackReplier) -> None:
    try:
        incident_id, step_id = parse_step_value(value)
        inc = deps.store.incident(incident_id)
        if inc is None:
            raise NotFoundError(f"Unknown incident {escape(incident_id[:20])}.")
        book, step = choose_step(runbooks(), step_id, [a.alertname for a in inc.alerts.values()])
        deps.store.add_event(inc.id, TimelineEvent(ts=float(action_ts or 0) or 0.0, kind="command", actor=user,
                                                   text=f"clicked {step.id} (via button)",
                                                   source_id=f"click:{user}:{action_ts}", data={"step": step.id}))
        replier.deliver(Reply(text=request_step(deps, inc, book, step, user, [])))
    except Exception as exc:
        replier.error(exc, deps.redactor)


def click_decision(deps: Deps, approval_id: str, user: str, approve: bool, replier: SlackReplier) -> None:
    try:
        replier.deliver(Reply(text=decide(deps, approval_id, user, approve)))
    except Exception as exc:
        replier.error(exc, deps.redactor)
