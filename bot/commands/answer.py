"""Where a read-only subcommand answers: in the incident's thread when there is one, else privately."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from bot.blocks.commands import ephemeral_footer
from bot.commands.registry import Invocation, Reply
from bot.commands.target import record_command, thread_reply
from bot.models import Incident

if TYPE_CHECKING:
    from bot.deps import Deps


def answer(deps: Deps, inv: Invocation, inc: Incident | None, summary: str, text: str,
           files: Sequence[tuple[str, str]] = (), note: str = "") -> Reply:
    """Posted in the thread and recorded on the timeline, or ephemeral (redacted on the way to Slack).
    `note` says which incident when the command did not name it."""
    if inc is None:
        return Reply(text=text + "\n" + ephemeral_footer(files))
    record_command(deps, inc, inv, summary)
    return thread_reply(inc, text, files=list(files), note=note)
