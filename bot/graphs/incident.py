"""An incident's graph and lag: asked from Prometheus, drawn, and posted into its thread (the enricher)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from bot.blocks.enrichment import Enrichment, failure_text
from bot.blocks.graph import NO_PROMETHEUS, alt_text, caption, debezium_lag_line, flink_lag_line
from bot.blocks.links import GRAFANA_AFTER_SECONDS, GRAFANA_BEFORE_SECONDS
from bot.clients.prometheus import PrometheusClient
from bot.errors import BackendError
from bot.graphs.fetch import Budget, Lag, fetch_chart, fetch_lag
from bot.graphs.panels import PANEL_KEYS, panels_for
from bot.graphs.render import Chart, render_png
from bot.incidents.poster import ThreadPoster
from bot.models import Incident
from bot.scope import Scope
from bot.slack_pacing import Priority, slack_priority

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.deps import Deps

# Drawing takes a few hundred ms: the queries get the enrichment's time minus this.
RENDER_RESERVE_SECONDS = 1.0
MIN_WINDOW_SECONDS = 10 * 60
IMAGE_KIND = "enrich:graph:image"
CAPTION_KIND = "enrich:graph:caption"


def prometheus_for(settings: Settings) -> PrometheusClient | None:
    """The client for PROMETHEUS_URL (None when unset); each query is bounded by a Budget as well."""
    if not settings.prometheus_url:
        return None
    return PrometheusClient(settings.prometheus_url, timeout=settings.enrich_timeout_seconds)


def incident_window(inc: Incident, now: float) -> tuple[float, float]:
    """The Grafana link's window (before the first alert to after the resolve), ending now at the latest."""
    start = inc.opened_at - GRAFANA_BEFORE_SECONDS
    end = now if inc.resolved_at is None or inc.status == "open" else inc.resolved_at + GRAFANA_AFTER_SECONDS
    return start, max(min(end, now), start + MIN_WINDOW_SECONDS)


def incident_chart(client: PrometheusClient, inc: Incident, scope: Scope, budget: Budget,
                   keys: tuple[str, ...] = PANEL_KEYS) -> Chart:
    start, end = incident_window(inc, time.time())
    resolved = inc.resolved_at if inc.status == "resolved" else None
    return fetch_chart(client, panels_for(scope, keys), f"{inc.id}: {inc.title}", start, end, budget,
                       fired_at=inc.opened_at, resolved_at=resolved)


def lag_text(lag: Lag) -> str:
    return "\n".join([debezium_lag_line(lag.debezium, lag.debezium_reason),
                      flink_lag_line(lag.flink, lag.flink_reason)])


def enrich_graph(deps: Deps, inc: Incident, scope: Scope) -> list[Enrichment]:
    """The lag lines and the graph's caption in one reply, the image after it; posted here, in that order,
    because the enrichment's own replies carry text files only."""
    client = prometheus_for(deps.settings)
    if client is None:
        return [Enrichment("graph", NO_PROMETHEUS + " Debezium and Flink lag: unknown.")]
    budget = Budget.of(max(1.0, deps.settings.enrich_timeout_seconds - RENDER_RESERVE_SECONDS))
    with client:
        lag = fetch_lag(client, scope, budget)
        try:
            chart = incident_chart(client, inc, scope, budget)
        except BackendError as exc:
            return [Enrichment("graph", lag_text(lag) + "\n" + failure_text(exc.backend, exc.where, exc.reason)
                               + " No graph.")]
    png = render_png(chart)
    poster = ThreadPoster(deps)
    suffix = episode_suffix(deps, inc)
    # The enrichment pool's threads do not inherit the caller's context: say the priority again.
    with slack_priority(Priority.ENRICH):
        poster.reply(inc, CAPTION_KIND + suffix, caption(chart) + "\n" + lag_text(lag))
        poster.upload_once(inc, IMAGE_KIND + suffix, f"{inc.id}-graph{suffix.replace(':', '-')}.png", png,
                           alt_text=alt_text(chart))
    return []


def episode_suffix(deps: Deps, inc: Incident) -> str:
    """'' for the incident's first episode, ':reopen<n>' after its n-th reopen: each episode gets its own
    graph (posted once per episode: the kinds and the file name differ, so neither is found as posted)."""
    reopens = sum(1 for e in deps.store.events(inc.id) if e.kind == "incident_reopened")
    return f":reopen{reopens}" if reopens else ""


def lag_status(settings: Settings, scope: Scope | None = None) -> Enrichment:
    """The lag lines for `status`: every pipeline's (or the scope's), or why it is unknown."""
    client = prometheus_for(settings)
    if client is None:
        return Enrichment("lag", ":grey_question: *Debezium and Flink lag*: unknown (set PROMETHEUS_URL).")
    with client:
        return Enrichment("lag", lag_text(fetch_lag(client, scope or Scope(), Budget.of(settings.enrich_timeout_seconds))))
