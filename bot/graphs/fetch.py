"""Prometheus asked for a chart's panels and the lag, within one time budget shared by every query."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from bot.clients.prometheus import PrometheusClient, Series
from bot.errors import BackendError
from bot.graphs.panels import Panel, topic_prefixes
from bot.graphs.render import Chart, Line, PanelData
from bot.pipeline import prometheus_name
from bot.scope import Scope

POINTS = 240            # per series: enough for a 9-inch-wide line, few enough to be fast
MIN_STEP_SECONDS = 5.0
MIN_QUERY_SECONDS = 0.5
DEBEZIUM_LAG = 'dataflow:debezium_lag_seconds'
FLINK_PENDING = 'dataflow:flink_pending_records'


@dataclass
class Budget:
    """Seconds left for the queries still to come: each query's timeout is what remains."""

    deadline: float

    @classmethod
    def of(cls, seconds: float) -> Budget:
        return cls(time.monotonic() + seconds)

    def left(self) -> float:
        return self.deadline - time.monotonic()


@dataclass(frozen=True)
class Lag:
    debezium: dict[str, float] | None     # None: unknown, see the reason
    debezium_reason: str
    flink: dict[str, float] | None
    flink_reason: str


def fetch_chart(client: PrometheusClient, panels: list[Panel], title: str, start: float, end: float,
                budget: Budget, fired_at: float | None = None, resolved_at: float | None = None) -> Chart:
    """Every panel's series; a panel Prometheus failed for says why. Raises the failure when all failed."""
    step = float(math.ceil(max(MIN_STEP_SECONDS, (end - start) / POINTS)))
    # Prometheus evaluates at start + k*step (in whole milliseconds): a start that puts `end` on that grid
    # makes the last point the newest sample, which matters when the series began seconds ago (a fresh alert).
    end = math.floor(end * 1000) / 1000
    first = end - math.ceil((end - start) / step) * step
    drawn, failures = [], []
    for panel in panels:
        try:
            series = _range(client, panel.expr, first, end, step, budget)
        except BackendError as exc:
            failures.append(exc)
            drawn.append(PanelData(panel.title, panel.unit, note=f"Prometheus: {exc.reason}"))
            continue
        lines = tuple(Line(_legend(s, panel.legend), s.points) for s in series)
        drawn.append(PanelData(panel.title, panel.unit, lines, note="" if lines else "no series in this window"))
    if failures and len(failures) == len(panels):
        raise failures[0]
    return Chart(title, start, end, tuple(drawn), fired_at, resolved_at)


def fetch_lag(client: PrometheusClient, scope: Scope, budget: Budget) -> Lag:
    """Debezium's lag for the scope's topic prefixes and the Flink jobs' pending records, now."""
    prefixes = set(topic_prefixes(scope.topics))
    jobs = {prometheus_name(j) for j in scope.flink_jobs}
    debezium, debezium_reason = _instant(client, DEBEZIUM_LAG, "name", prefixes, budget)
    flink, flink_reason = _instant(client, FLINK_PENDING, "job_name", jobs, budget)
    return Lag(debezium, debezium_reason, flink, flink_reason)


def _instant(client: PrometheusClient, expr: str, label: str, wanted: set[str],
             budget: Budget) -> tuple[dict[str, float] | None, str]:
    """label value -> value, only the wanted ones when the scope names any; (None, reason) on failure."""
    if budget.left() < MIN_QUERY_SECONDS:
        return None, "no time left to ask Prometheus"
    try:
        series = client.query(expr, timeout=budget.left())
    except BackendError as exc:
        return None, f"Prometheus at {exc.where}: {exc.reason}"
    found = {s.labels.get(label, "?"): s.last for s in series if s.last is not None}
    values = {k: v for k, v in found.items() if not wanted or k in wanted}
    return values or None, ""


def _range(client: PrometheusClient, expr: str, start: float, end: float, step: float,
           budget: Budget) -> list[Series]:
    if budget.left() < MIN_QUERY_SECONDS:
        raise BackendError("Prometheus", client.where, "not asked: the time for the graph ran out")
    return client.query_range(expr, start, end, step, timeout=budget.left())


def _legend(series: Series, names: tuple[str, ...]) -> str:
    values = [series.labels[n] for n in names if series.labels.get(n)]
    return ".".join(values) if values else ",".join(f"{k}={v}" for k, v in sorted(series.labels.items())) or "value"
