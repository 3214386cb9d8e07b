"""Run a subcommand: fast ones inside the ack, slow ones on the job pool after it."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from bot.commands.registry import Invocation, Reply, Subcommand, lookup
from bot.errors import DataflowError
from bot.log import get_logger
from bot.metrics import RUNBOOK_STEPS
from bot.reply import SlackReplier, redacted, user_message

if TYPE_CHECKING:
    from bot.deps import Deps

log = get_logger(__name__)


def dispatch(deps: Deps, inv: Invocation, ack_with: Callable[[Reply], None], replier: SlackReplier) -> None:
    def ack(reply: Reply) -> None:
        ack_with(redacted(reply, deps.redactor))

    try:
        sub, args = lookup(inv.words)
    except DataflowError as exc:
        ack(Reply(text=user_message(exc, deps.redactor)))
        return
    if not sub.slow:
        ack(_run(deps, sub, inv, args))
        return
    ack(Reply(text=f":hourglass_flowing_sand: Working on `{sub.name}`…"))
    deps.jobs.submit(run_and_deliver, deps, sub, inv, args, replier)


def _run(deps: Deps, sub: Subcommand, inv: Invocation, args: list[str]) -> Reply:
    try:
        return sub.run(deps, inv, args)
    except Exception as exc:
        return Reply(text=user_message(exc, deps.redactor))


def run_and_deliver(
    deps: Deps, sub: Subcommand, inv: Invocation, args: list[str], replier: SlackReplier
) -> None:
    """Runs on the job pool: every outcome reaches the user, never a stack trace."""
    log.info("subcommand", name=sub.name, user=inv.user_id, surface=inv.surface)
    try:
        reply = sub.run(deps, inv, args)
        replier.deliver(reply)
        RUNBOOK_STEPS.labels(f"cmd:{sub.name}", "ok").inc()
    except Exception as exc:
        RUNBOOK_STEPS.labels(f"cmd:{sub.name}", "error").inc()
        replier.error(exc, deps.redactor)
