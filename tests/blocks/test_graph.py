"""The graph's pure parts: panels for a scope (PromQL), the PNG, the caption, alt text and lag lines."""

from __future__ import annotations

import struct

import pytest

from bot.blocks.graph import ALT_TEXT_MAX, alt_text, caption, debezium_lag_line, flink_lag_line
from bot.graphs.panels import PANEL_KEYS, panels_for, topic_prefixes
from bot.graphs.render import DPI, PANEL_HEIGHT_IN, WIDTH_IN, Chart, Line, PanelData, render_png
from bot.scope import Scope

T0 = 1_767_000_000.0
SCOPE = Scope(tables=("oltp.orders",), connectors=("mysql-oltp-orders",), topics=("dbserver1.oltp.orders",),
              flink_jobs=("cdc-orders-enrich",))


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from the PNG signature and IHDR chunk."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def chart(panels: tuple[PanelData, ...]) -> Chart:
    return Chart("INC-7: drift on oltp.orders", T0 - 1800, T0 + 600, panels, fired_at=T0)


def test_panels_select_the_scope_s_series() -> None:
    exprs = {p.key: p.expr for p in panels_for(SCOPE)}
    assert list(exprs) == list(PANEL_KEYS)
    assert exprs["failed-tasks"] == 'dataflow:connect_failed_tasks{connector=~"mysql\\\\-oltp\\\\-orders"}'
    assert exprs["drift"] == 'dataflow_schema_drift_columns{schema="oltp",table="orders"}'
    assert exprs["lag"] == 'dataflow:debezium_lag_seconds{name=~"dbserver1"}'
    assert exprs["restarts"] == 'sum by (job_name) (flink_jobmanager_job_numRestarts{job_name=~"cdc_orders_enrich"})'
    assert exprs["consumer-lag"] == 'dataflow:flink_pending_records{job_name=~"cdc_orders_enrich"}'


def test_an_empty_scope_shows_every_series_and_one_panel_can_be_chosen() -> None:
    (panel,) = panels_for(Scope(), ("lag",))
    assert panel.expr == "dataflow:debezium_lag_seconds"
    assert [p.expr for p in panels_for(Scope(), ("drift",))] == ["dataflow_schema_drift_columns"]


def test_label_values_cannot_break_out_of_the_promql_string() -> None:
    (panel,) = panels_for(Scope(connectors=('a"} or vector(1) #',)), ("failed-tasks",))
    assert panel.expr.count('"') - panel.expr.count('\\"') == 2   # only the two that delimit the regex


def test_topic_prefix_is_what_precedes_db_and_table() -> None:
    assert topic_prefixes(("dbserver1.oltp.orders", "a.b.c.d", "plain")) == ["dbserver1", "a.b"]


@pytest.mark.parametrize("count", [1, 3, 5])
def test_render_gives_a_png_one_panel_high_per_metric(count: int) -> None:
    panels = tuple(PanelData(f"panel {i}", "tasks", (Line("c", ((T0 - 600, 0.0), (T0, 1.0))),))
                   for i in range(count))
    width, height = png_size(render_png(chart(panels)))
    assert width == int(WIDTH_IN * DPI)
    assert height == round((0.6 + PANEL_HEIGHT_IN * count) * DPI)


def test_render_copes_with_empty_panels_many_series_and_a_resolve() -> None:
    many = tuple(Line(f"s{i}", ((T0, float(i)),)) for i in range(12))
    data = render_png(Chart("x", T0 - 60, T0 + 60, (PanelData("empty", "s", note="no series"),
                                                     PanelData("many", "s", many)), T0, T0 + 30))
    assert png_size(data)[0] == int(WIDTH_IN * DPI)


def test_alt_text_says_what_each_panel_shows() -> None:
    text = alt_text(chart((PanelData("Kafka Connect failed tasks", "tasks",
                                     (Line("mysql-oltp-orders", ((T0 - 60, 0.0), (T0, 1.0), (T0 + 60, 1.0))),)),
                           PanelData("Debezium lag", "seconds", note="no series in this window"))))
    assert text.startswith("INC-7: drift on oltp.orders, ")
    assert "fired at" in text
    assert "Kafka Connect failed tasks: mysql-oltp-orders last 1, max 1 tasks." in text
    assert "Debezium lag: no series in this window." in text


def test_alt_text_is_within_slack_s_limit() -> None:
    lines = tuple(Line("x" * 80 + str(i), ((T0, 1.5),)) for i in range(40))
    assert len(alt_text(chart((PanelData("p", "u", lines),)))) <= ALT_TEXT_MAX


def test_caption_names_the_window_and_panels() -> None:
    text = caption(chart((PanelData("Kafka Connect failed tasks", "tasks"),)))
    assert text.startswith(":chart_with_upwards_trend: *Graph* (")
    assert "UTC, fired at" in text and "Kafka Connect failed tasks" in text


def test_lag_lines_say_the_value_or_why_it_is_unknown() -> None:
    assert debezium_lag_line({"dbserver1": 1.5}) == "*Debezium lag*: `dbserver1` 1.5 s behind the binlog"
    assert debezium_lag_line({"dbserver1": 600.0}) == "*Debezium lag*: `dbserver1` 10.0 min behind the binlog"
    assert "no event streamed yet" in debezium_lag_line({"dbserver1": -0.001})
    assert debezium_lag_line(None).startswith(":grey_question: *Debezium lag*: unknown (Prometheus has no ")
    assert "timed out" in debezium_lag_line(None, "Prometheus at http://p:9090: timed out after 1.0 s")
    assert flink_lag_line({"cdc_orders_enrich": 42.0}) == "*Flink consumer lag*: `cdc_orders_enrich` 42 record(s) pending"
    assert flink_lag_line({}).startswith(":grey_question: *Flink consumer lag*: unknown (")
