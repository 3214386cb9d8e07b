"""What the graph and lag replies say: the caption, the image's alt text, the lag lines. Pure."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.blocks.common import clip, escape
from bot.graphs.render import Chart, PanelData

ALT_TEXT_MAX = 1000   # Slack's limit for a file's alt text
NO_PROMETHEUS = ":grey_question: *Graph*: no graph, because Prometheus is not configured (set PROMETHEUS_URL)."


def hhmm(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%H:%M")


def window_text(chart: Chart) -> str:
    fired = f", fired at {hhmm(chart.fired_at)}" if chart.fired_at is not None else ""
    return f"{hhmm(chart.start)} to {hhmm(chart.end)} UTC{fired}"


def caption(chart: Chart) -> str:
    names = ", ".join(p.title for p in chart.panels)
    return f":chart_with_upwards_trend: *Graph* ({window_text(chart)}): {escape(names)}."


def alt_text(chart: Chart) -> str:
    """What the image shows, in words: every panel with each series' last and highest value."""
    parts = [f"{chart.title}, {window_text(chart)}."]
    parts += [f"{p.title}: {_panel_words(p)}." for p in chart.panels]
    return clip(" ".join(parts), ALT_TEXT_MAX)


def _panel_words(panel: PanelData) -> str:
    drawn = [line for line in panel.lines if line.points]
    if not drawn:
        return panel.note or "no data"
    return "; ".join(f"{line.label} last {_num(line.points[-1][1])}, max {_num(max(v for _, v in line.points))} "
                     f"{panel.unit}" for line in drawn)


def _num(value: float) -> str:
    return f"{value:.0f}" if value == int(value) else f"{value:.2f}"


def debezium_lag_line(lags: dict[str, float] | None, reason: str = "") -> str:
    """lags: Debezium's `name` (topic.prefix) -> seconds behind the source; None: unknown, with a reason."""
    if lags is None or not lags:
        why = reason or ("Prometheus has no `debezium_metrics_millisecondsbehindsource` series "
                         "(deploy/connect/jmx-exporter.yml's Debezium rule)")
        return f":grey_question: *Debezium lag*: unknown ({escape(why)})."
    return "*Debezium lag*: " + ", ".join(f"`{escape(n)}` {_seconds(s)}" for n, s in sorted(lags.items()))


def flink_lag_line(pending: dict[str, float] | None, reason: str = "") -> str:
    """pending: Flink job_name -> records its sources have not read yet; None: unknown, with a reason."""
    if pending is None or not pending:
        why = reason or "Prometheus has no `flink_taskmanager_job_task_operator_pendingRecords` series for it"
        return f":grey_question: *Flink consumer lag*: unknown ({escape(why)})."
    return "*Flink consumer lag*: " + ", ".join(f"`{escape(j)}` {_num(v)} record(s) pending"
                                                  for j, v in sorted(pending.items()))


def _seconds(value: float) -> str:
    # Debezium reports -1 until it has streamed an event: no lag is known yet.
    if value < 0:
        return "no event streamed yet"
    return f"{value:.1f} s behind the binlog" if value < 120 else f"{value / 60:.1f} min behind the binlog"
