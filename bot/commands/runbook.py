"""`/dataflow runbook <name>` and `/dataflow run <step>`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.blocks.common import escape
from bot.blocks.postmortem import postmortem_button
from bot.blocks.runbook import checklist_blocks
from bot.commands.registry import Invocation, Reply, split_incident_arg, subcommand
from bot.commands.target import record_command, resolve_incident, thread_reply, with_note
from bot.errors import NotFoundError, UserInputError
from bot.runbooks.engine import request_step
from bot.runbooks.model import choose_step, runbooks

if TYPE_CHECKING:
    from bot.deps import Deps


@subcommand("runbook", "<name> [INC-n]", "post a runbook in the incident thread, a button per step")
def run_runbook(deps: Deps, inv: Invocation, args: list[str]) -> Reply:
    # The name first: a wrong one is told as such, with the valid ones, whether or not an incident is open.
    books, (named, _) = runbooks(), split_incident_arg(args)
    if not named:
        names = ", ".join(f"`{n}`" for n in sorted(books))
        raise UserInputError("Which runbook?", f"Runbooks: {names}. Example: `/dataflow runbook schema-drift`.")
    book = books.get(named[0])
    if book is None:
        raise NotFoundError(f"Unknown runbook `{escape(named[0][:60])}`.", "Runbooks: " + ", ".join(sorted(books)) + ".")
    target = resolve_incident(deps, inv, args)
    inc = target.incident
    assert inc is not None
    record_command(deps, inc, inv, f"posted the {book.name} runbook")
    blocks = [*checklist_blocks(book, inc.id), postmortem_button(inc.id)]
    return thread_reply(inc, f"Runbook: {book.title}", blocks,
                        kind=f"runbook:{book.name}", note=target.note())


@subcommand("run", "<step> [column] [INC-n]", "run a runbook step; mutating steps wait for a second person's approval")
def run_step(deps: Deps, inv: Invocation, args: list[str]) -> Reply:
    if not split_incident_arg(args)[0]:
        steps = sorted({s.id for b in runbooks().values() for s in b.steps})
        raise UserInputError("Which step?", "Steps: " + ", ".join(f"`{s}`" for s in steps) + ".")
    target = resolve_incident(deps, inv, args)
    inc, rest = target.incident, target.rest
    assert inc is not None
    book, step = choose_step(runbooks(), rest[0], [a.alertname for a in inc.alerts.values()])
    record_command(deps, inc, inv, f"asked to run {step.id}")
    text, _ = with_note(target.note(), request_step(deps, inc, book, step, inv.user_id, rest[1:]), None)
    return Reply(text=text)
