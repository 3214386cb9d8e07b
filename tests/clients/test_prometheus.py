"""PrometheusClient and the lag/graph queries against the real Prometheus, evaluating our recording rules
over a scrape target that serves what the Connect jmx exporter and Flink's reporter would."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import httpx
import pytest

from bot.clients.prometheus import PrometheusClient
from bot.errors import BackendError
from bot.graphs.fetch import Budget, fetch_chart, fetch_lag
from bot.graphs.panels import panels_for
from bot.scope import Scope
from tests.clients.exporter import Exporter
from tests.conftest import free_port, require_binary
from tests.e2e.prometheus import RULES, Prometheus

EXPOSITION = """\
debezium_metrics_millisecondsbehindsource{plugin="mysql",context="streaming",name="dbserver1"} 1500
debezium_metrics_millisecondsbehindsource{plugin="mysql",context="streaming",name="other"} 99000
flink_taskmanager_job_task_operator_pendingRecords{job_name="cdc_orders_enrich",subtask_index="0"} 40
flink_taskmanager_job_task_operator_pendingRecords{job_name="cdc_orders_enrich",subtask_index="1"} 2
kafka_connect_worker_connector_failed_task_count{connector="mysql-oltp-orders"} 1
"""
SCOPE = Scope(connectors=("mysql-oltp-orders",), topics=("dbserver1.oltp.orders",), flink_jobs=("cdc-orders-enrich",))


@pytest.fixture(scope="module")
def prom() -> Iterator[Prometheus]:
    require_binary("prometheus")
    with Exporter(EXPOSITION) as exporter:
        server = Prometheus([RULES / "lag-metric.yml", RULES / "connect-metric.yml"],
                            targets={"pipeline": exporter.address}, alertmanager="127.0.0.1:9").start()
        try:
            for recorded in ("dataflow:debezium_lag_seconds", "dataflow:flink_pending_records",
                             "dataflow:connect_failed_tasks"):
                _wait_for_series(server.url, recorded)
            yield server
        finally:
            server.stop()


def _wait_for_series(url: str, expr: str) -> None:
    for _ in range(200):
        body = httpx.get(url + "/api/v1/query", params={"query": expr}, timeout=5).json()
        if body["data"]["result"]:
            return
        time.sleep(0.1)
    raise AssertionError(f"{expr} never recorded")


def test_instant_and_range_queries_return_the_series(prom: Prometheus) -> None:
    with PrometheusClient(prom.url, timeout=5) as client:
        (now,) = client.query('dataflow:debezium_lag_seconds{name="dbserver1"}')
        assert now.labels["name"] == "dbserver1" and now.last == 1.5
        end = time.time()
        (series,) = client.query_range("dataflow:connect_failed_tasks", end - 60, end, 1)
    assert series.labels["connector"] == "mysql-oltp-orders"
    assert series.points and all(v == 1.0 for _, v in series.points)
    assert [t for t, _ in series.points] == sorted(t for t, _ in series.points)


def test_the_lag_of_the_scope_is_read_from_the_recorded_series(prom: Prometheus) -> None:
    with PrometheusClient(prom.url, timeout=5) as client:
        lag = fetch_lag(client, SCOPE, Budget.of(5))
        everything = fetch_lag(client, Scope(), Budget.of(5))
    assert lag.debezium == {"dbserver1": 1.5} and lag.flink == {"cdc_orders_enrich": 42.0}
    assert everything.debezium == {"dbserver1": 1.5, "other": 99.0}


def test_a_chart_has_every_panel_and_says_which_have_no_series(prom: Prometheus) -> None:
    end = time.time()
    with PrometheusClient(prom.url, timeout=5) as client:
        chart = fetch_chart(client, panels_for(SCOPE), "t", end - 120, end, Budget.of(5), fired_at=end - 10)
    panels = {p.title: p for p in chart.panels}
    assert [line.label for line in panels["Kafka Connect failed tasks"].lines] == ["mysql-oltp-orders"]
    assert [line.label for line in panels["Debezium lag behind the binlog"].lines] == ["dbserver1"]
    assert panels["Flink job restarts"].note == "no series in this window"


def test_a_bad_query_is_a_backend_error_naming_prometheus_s_error_type(prom: Prometheus) -> None:
    with PrometheusClient(prom.url, timeout=5) as client, pytest.raises(BackendError) as caught:
        client.query("sum(")
    assert caught.value.backend == "Prometheus" and caught.value.reason.startswith("HTTP 400 bad_data")


def test_no_lag_is_unknown_with_the_reason_and_no_panel_means_the_failure(prom: Prometheus) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with PrometheusClient(url, timeout=2) as client:
        lag = fetch_lag(client, SCOPE, Budget.of(5))
        assert lag.debezium is None and "connection refused" in lag.debezium_reason
        with pytest.raises(BackendError) as caught:
            fetch_chart(client, panels_for(SCOPE), "t", 0, 60, Budget.of(5))
    assert caught.value.reason == "connection refused"


def test_a_prometheus_that_never_answers_times_out_within_the_budget() -> None:
    with socket.socket() as silent:   # accepts connections (the kernel's backlog), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        with PrometheusClient(f"http://127.0.0.1:{silent.getsockname()[1]}", timeout=5) as client:
            started = time.monotonic()
            lag = fetch_lag(client, SCOPE, Budget.of(1.2))
            spent = time.monotonic() - started
    assert lag.debezium is None and "timed out" in lag.debezium_reason
    assert lag.flink is None
    assert spent < 5   # the budget bounds both queries, not the client's 5 s each
