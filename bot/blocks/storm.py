"""The storm summary: one channel message that lists every incident of an alert storm (pure builders)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from bot.blocks.common import context, escape, fmt_time, header, section
from bot.models import Incident

MAX_LISTED = 40        # Block Kit's section text holds 3,000 characters; the rest are counted
IGNORED_LABELS = frozenset({"severity"})


def shared_labels(incidents: Iterable[Incident]) -> list[tuple[str, str]]:
    """Labels every incident of the storm carries with the same value (on any of its alerts): the same
    instance, worker, host, cluster or alert name is what a common cause looks like from here."""
    common: set[tuple[str, str]] | None = None
    for inc in incidents:
        pairs = {(k, v) for a in inc.alerts.values() for k, v in a.labels.items() if k not in IGNORED_LABELS}
        common = pairs if common is None else common & pairs
    return sorted(common or set())


def storm_text(incidents: list[Incident]) -> str:
    firing = sum(i.status == "open" for i in incidents)
    return f"Alert storm: {len(incidents)} incidents ({firing} open)"


def shared_facts(facts: dict[str, set[tuple[str, str]]]) -> list[tuple[str, str]]:
    """What every incident checked so far (its enrichment done) saw in common: the same Connect worker, the
    same error. Empty below two checked incidents: one incident shares nothing."""
    seen = [f for f in facts.values() if f]
    return sorted(set.intersection(*seen)) if len(seen) > 1 else []


def storm_blocks(incidents: list[Incident], started: float, tz: str = "UTC",
                 facts: dict[str, set[tuple[str, str]]] | None = None) -> list[dict[str, Any]]:
    """`facts`: incident id -> what its enrichment saw (Enrichment.facts), for the incidents checked so far."""
    return [header(f":rotating_light: {storm_text(incidents)}"), *_causes(incidents, facts or {}),
            section("\n".join(_lines(incidents))),
            context(f"Since {fmt_time(started, tz)} · each incident's details are in its own thread, "
                    "posted as fast as Slack allows · this message is kept up to date")]


def _causes(incidents: list[Incident], facts: dict[str, set[tuple[str, str]]]) -> list[dict[str, Any]]:
    shared = shared_labels(incidents) if len(incidents) > 1 else []
    common = shared_facts({i.id: facts.get(i.id, set()) for i in incidents})
    blocks = []
    if shared:
        labels = ", ".join(f"`{escape(k)}={escape(v)}`" for k, v in shared[:8])
        blocks.append(section(f":link: *All of them share* {labels}: look there first."))
    if common:
        checked = sum(bool(facts.get(i.id)) for i in incidents)
        seen = ", ".join(f"{escape(k)} `{escape(v)}`" for k, v in common[:6])
        blocks.append(section(f":mag: *In all {checked} incidents checked so far*: {seen}."))
    return blocks or [section(":grey_question: No label is common to all of them: no shared cause the bot "
                              "can see.")]


def _lines(incidents: list[Incident]) -> list[str]:
    lines = [_line(i) for i in incidents[:MAX_LISTED]]
    if len(incidents) > MAX_LISTED:
        lines.append(f"…and {len(incidents) - MAX_LISTED} more (`/dataflow incidents open` lists them all)")
    return lines


def _line(inc: Incident) -> str:
    mark = ":fire:" if inc.status == "open" else ":white_check_mark:"
    posted = "" if inc.root_ts else " _(thread coming)_"
    return f"{mark} *{escape(inc.id)}* {escape(inc.title)}{posted}"
