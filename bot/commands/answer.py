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
           files: Sequence[tuple[str, str]] = ()) -> Reply:
    """Redacted text (and files): posted in the thread and recorded on the timeline, or ephemeral."""
    safe_text = deps.redactor.text(text)
    # SlackReplier uploads files as given: traces and container logs may hold secrets.
    safe_files = [(name, deps.redactor.text(content)) for name, content in files]
    if inc is None:
        return Reply(text=safe_text + "\n" + ephemeral_footer(safe_files))
    record_command(deps, inc, inv, summary)
    return thread_reply(inc, safe_text, files=safe_files)
