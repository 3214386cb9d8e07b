"""Which incident a command is about, and replies into its thread."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from bot.commands.registry import Invocation, Reply, split_incident_arg
from bot.errors import NotFoundError
from bot.models import Incident, TimelineEvent

if TYPE_CHECKING:
    from bot.deps import Deps


JUST_RESOLVED_SECONDS = 24 * 3600


def resolve_incident(
    deps: Deps, inv: Invocation, args: list[str], required: bool = True
) -> tuple[Incident | None, list[str]]:
    """INC-n if given; else the thread's incident (mentions inside a thread); else the channel's latest open
    one; else its newest if it resolved within the last day.

    Returns the incident and the remaining arguments.
    """
    rest, explicit = split_incident_arg(args)
    if explicit:
        inc = deps.store.incident(explicit)
        if inc is None:
            raise NotFoundError(f"Unknown incident {explicit}.", "List them with `/dataflow incidents`.")
        return inc, rest
    if inv.thread_ts:
        inc = deps.store.incident_for_thread(inv.channel_id, inv.thread_ts)
        if inc is not None:
            return inc, rest
    channel = deps.settings.incident_channel or inv.channel_id
    inc = deps.store.latest_open_incident(channel) or just_resolved_incident(deps, channel)
    if inc is None and required:
        raise NotFoundError(
            "There is no open or recently resolved incident.",
            "Name one explicitly (`INC-12`); `/dataflow incidents` lists them.",
        )
    return inc, rest


def just_resolved_incident(deps: Deps, channel: str) -> Incident | None:
    """The channel's newest incident if it resolved within JUST_RESOLVED_SECONDS: right after the resolve is
    when people ask for the postmortem or a last status, and "no open incident" is a dead end then."""
    newest = next(iter(deps.store.incidents(channel, 1)), None)
    if newest is None or newest.status != "resolved":
        return None
    resolved_at = newest.resolved_at or 0.0
    return newest if time.time() - resolved_at <= JUST_RESOLVED_SECONDS else None


def thread_reply(
    inc: Incident,
    text: str,
    blocks: list[dict[str, Any]] | None = None,
    files: list[tuple[str, str]] | None = None,
    kind: str = "command",
) -> Reply:
    """A reply posted in the incident's thread (slash commands cannot be used in threads: we answer there)."""
    return Reply(
        text=text,
        blocks=blocks,
        where="thread",
        channel=inc.channel,
        thread_ts=inc.root_ts,
        metadata={"event_type": "dataflow_incident", "event_payload": {"incident_id": inc.id, "kind": kind}},
        files=files or [],
    )


def record_command(deps: Deps, inc: Incident, inv: Invocation, summary: str) -> None:
    """Every command that names an incident is a timeline event."""
    deps.store.add_event(
        inc.id,
        TimelineEvent(
            ts=time.time(),
            kind="command",
            actor=inv.user_id,
            text=f"{summary} (via {inv.surface})",
            source_id=f"cmd:{inv.user_id}:{time.time_ns()}",
            data={"text": inv.text},
        ),
    )
