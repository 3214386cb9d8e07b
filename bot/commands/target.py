"""Which incident a command is about, and replies into its thread."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from bot.blocks.common import context, fmt_duration
from bot.commands.registry import Invocation, Reply, split_incident_arg
from bot.errors import NotFoundError
from bot.models import Incident, TimelineEvent

if TYPE_CHECKING:
    from bot.deps import Deps


JUST_RESOLVED_SECONDS = 24 * 3600

# How a command found its incident. The last two are guesses the user did not make: the answer says which.
Picked = Literal["named", "thread", "latest-open", "just-resolved"]


@dataclass(frozen=True)
class Target:
    """The incident a command is about (None when optional and there is none), how it was picked, and the
    arguments left once an `INC-n` was taken out."""

    incident: Incident | None
    rest: list[str] = field(default_factory=list)
    picked: Picked | None = None

    def note(self, now: float | None = None) -> str:
        """"INC-12 (the channel's latest open incident)…" when the incident was picked implicitly, else ""."""
        if self.incident is None or self.picked not in ("latest-open", "just-resolved"):
            return ""
        resolved_ago = None
        if self.picked == "just-resolved":
            resolved_ago = (now if now is not None else time.time()) - (self.incident.resolved_at or 0.0)
        return which_incident_text(self.incident.id, resolved_ago)


def which_incident_text(incident_id: str, resolved_ago: float | None = None) -> str:
    """Said in the answer of a command that named no incident, so nobody acts on the wrong one unawares."""
    if resolved_ago is None:
        which = f"{incident_id} (the channel's latest open incident)"
    else:
        which = f"{incident_id} (the channel's latest incident, resolved {fmt_duration(max(resolved_ago, 0))} ago)"
    return f"For {which}; add `INC-n` to name another."


def with_note(note: str, text: str, blocks: list[dict[str, Any]] | None) -> tuple[str, list[dict[str, Any]] | None]:
    """The note first: in the text (the notification and fallback) and, when there are blocks, as a context
    block above them (Slack shows the blocks, not the text)."""
    if not note:
        return text, blocks
    return f"{note}\n{text}", ([context(note), *blocks] if blocks else blocks)


def resolve_incident(deps: Deps, inv: Invocation, args: list[str], required: bool = True) -> Target:
    """INC-n if given; else the thread's incident (mentions inside a thread); else the channel's latest open
    one; else its newest if it resolved within the last day."""
    rest, explicit = split_incident_arg(args)
    if explicit:
        inc = deps.store.incident(explicit)
        if inc is None:
            raise NotFoundError(f"Unknown incident {explicit}.", "List them with `/dataflow incidents`.")
        return Target(inc, rest, "named")
    if inv.thread_ts:
        inc = deps.store.incident_for_thread(inv.channel_id, inv.thread_ts)
        if inc is not None:
            return Target(inc, rest, "thread")
    channel = deps.settings.incident_channel or inv.channel_id
    inc = deps.store.latest_open_incident(channel)
    if inc is not None:
        return Target(inc, rest, "latest-open")
    inc = just_resolved_incident(deps, channel)
    if inc is not None:
        return Target(inc, rest, "just-resolved")
    if required:
        raise NotFoundError(
            "There is no open or recently resolved incident.",
            "Name one explicitly (`INC-12`); `/dataflow incidents` lists them.",
        )
    return Target(None, rest)


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
    note: str = "",
) -> Reply:
    """A reply posted in the incident's thread (slash commands cannot be used in threads: we answer there);
    `note` says which incident when the command did not name it (Target.note())."""
    text, blocks = with_note(note, text, blocks)
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
