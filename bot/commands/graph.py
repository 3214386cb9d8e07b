"""`/dataflow graph [metric] [INC-n]`: one PNG of the pipeline's metrics from Prometheus, on demand."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from bot.blocks.common import escape
from bot.blocks.enrichment import failure_text
from bot.blocks.graph import NO_PROMETHEUS, alt_text, caption
from bot.commands.answer import answer
from bot.commands.registry import Invocation, Reply, subcommand
from bot.commands.target import record_command, resolve_incident
from bot.errors import BackendError, UserInputError
from bot.graphs.fetch import Budget, fetch_chart
from bot.graphs.incident import incident_chart, prometheus_for
from bot.graphs.panels import PANEL_KEYS, panels_for
from bot.graphs.render import Chart, render_png
from bot.models import Incident
from bot.scope import Scope, incident_scope

if TYPE_CHECKING:
    from bot.deps import Deps

NO_INCIDENT_WINDOW_SECONDS = 3600


@subcommand("graph", f"[{'|'.join(PANEL_KEYS)}] [INC-n]",
            "a graph of the pipeline's metrics from Prometheus (all of them, or one) around the incident")
def run_graph(deps: Deps, inv: Invocation, args: list[str]) -> Reply:
    target = resolve_incident(deps, inv, args, required=False)
    inc = target.incident
    keys = parse_graph_args(target.rest)
    client = prometheus_for(deps.settings)
    if client is None:
        return answer(deps, inv, inc, "graph", NO_PROMETHEUS, note=target.note())
    budget = Budget.of(deps.settings.enrich_timeout_seconds)
    try:
        with client:
            chart = incident_chart(client, inc, incident_scope(deps, inc), budget, keys) if inc else \
                fetch_chart(client, panels_for(Scope(), keys), "The pipeline (no incident)",
                            time.time() - NO_INCIDENT_WINDOW_SECONDS, time.time(), budget)
    except BackendError as exc:
        return answer(deps, inv, inc, "graph", failure_text(exc.backend, exc.where, exc.reason) + " No graph.",
                      note=target.note())
    post_chart(deps, inv, inc, chart, keys[0] if len(keys) == 1 else "all")
    where = f"{inc.id}'s thread" if inc else "this conversation"
    note = f"{target.note()}\n" if target.note() else ""
    return Reply(text=f"{note}:chart_with_upwards_trend: Posted the graph in {where}.")


def parse_graph_args(rest: list[str]) -> tuple[str, ...]:
    if len(rest) > 1:
        raise UserInputError("`graph` takes at most one metric.", f"Metrics: {_known()}.")
    if not rest:
        return PANEL_KEYS
    key = rest[0].lower()
    if key not in PANEL_KEYS:
        raise UserInputError(f"Unknown metric `{escape(rest[0][:40])}`.", f"Metrics: {_known()}.")
    return (key,)


def post_chart(deps: Deps, inv: Invocation, inc: Incident | None, chart: Chart, what: str) -> None:
    """The image with its caption: in the incident's thread (a timeline event), else where it was asked."""
    if inc is not None:
        record_command(deps, inc, inv, f"graph ({', '.join(p.title for p in chart.panels)})")
    channel, thread = (inc.channel, inc.root_ts) if inc else (inv.channel_id, inv.thread_ts)
    # Unique per request: Slack shows the name, and two graphs asked within a second must not share it.
    name = f"{inc.id if inc else 'pipeline'}-graph-{what}-{time.time_ns() // 1_000_000}.png"
    deps.slack.files_upload_v2(channel=channel, thread_ts=thread, filename=name, title=name, content=render_png(chart),
                               alt_txt=alt_text(chart), initial_comment=caption(chart))


def _known() -> str:
    return ", ".join(f"`{k}`" for k in PANEL_KEYS)
