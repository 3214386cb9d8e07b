"""Texts of the read-only /dataflow subcommands. Pure: data in, Slack mrkdwn out."""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot.blocks.common import clip, escape, fmt_time
from bot.blocks.enrichment import Enrichment
from bot.models import Incident
from bot.schema.baseline import Baseline

# Slack cuts a message's `text` at 40,000 characters; stay well below, the long parts go to files.
MESSAGE_MAX = 12000
INCIDENTS_SHOWN = 10
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")


def incident_line(inc: Incident, tz: str) -> str:
    icon = ":red_circle:" if inc.status == "open" else ":white_check_mark:"
    line = f"{icon} *{inc.id}* {escape(clip(inc.title, 150))} — *{inc.status}*, opened {fmt_time(inc.opened_at, tz)}"
    if inc.resolved_at is not None:
        line += f", resolved {fmt_time(inc.resolved_at, tz)}"
    return line


def incidents_text(incidents: Sequence[Incident], tz: str) -> str:
    """The list `/dataflow incidents` answers: newest first, as given."""
    if not incidents:
        return ":sparkles: No incidents yet in this channel."
    shown = incidents[:INCIDENTS_SHOWN]
    head = f"*Recent incidents* (newest first, {len(shown)} shown):"
    return "\n".join([head, *(incident_line(inc, tz) for inc in shown)])


def not_configured(backend: str, variable: str) -> Enrichment:
    return Enrichment(backend.lower(), f":grey_question: *{backend}*: not configured (set {variable}).")


def combine(items: Sequence[Enrichment]) -> tuple[str, list[tuple[str, str]]]:
    """One message from several enrichment lines, and their files (traces, long logs)."""
    text = clip("\n\n".join(item.text for item in items), MESSAGE_MAX)
    return text, [item.file for item in items if item.file is not None]


def ephemeral_footer(files: Sequence[tuple[str, str]]) -> str:
    """Why the answer is private, what to do to share it, and what a private answer leaves out."""
    note = ("_No open incident, so this is shown only to you; name one (`INC-12`) to post it in its "
            "thread._")
    if files:
        names = ", ".join(f"`{escape(name)}`" for name, _ in files)
        note += f"\n_The full output ({names}) is attached only in an incident thread._"
    return note


def who(actor: str) -> str:
    """A Slack user ID as a mention (Slack shows the name); anything else ("drift-watcher") as is."""
    return f"<@{actor}>" if _USER_ID.match(actor) else escape(actor)


def baseline_origin(base: Baseline) -> str:
    if base.source == "contract":
        return f"contract file v{base.version} (owner {escape(base.taken_by)})"
    return f"snapshot v{base.version} taken by {who(base.taken_by)} at {base.taken_at}"


def accept_drift_hint(table: str) -> str:
    return (f"Replacing an existing baseline means accepting the drift, which needs a second person's "
            f"approval: run `/dataflow run accept-drift {table}`. Nothing was changed.")


def baseline_exists_text(table: str, base: Baseline) -> str:
    return f"`{table}` already has a baseline: {baseline_origin(base)}."


def baseline_taken_text(table: str, base: Baseline) -> str:
    columns = len(base.schema.columns)
    return (f":camera_with_flash: *Baseline* of `{table}` taken: snapshot v{base.version} of its "
            f"{columns} live column(s), by {who(base.taken_by)} at {base.taken_at}. "
            f"Drift is now measured against it.")
