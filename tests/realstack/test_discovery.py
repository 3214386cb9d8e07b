"""What the bot learns from the real pipeline itself: Prometheus's job labels as the Flink reporter
sanitizes them (reference difference 7), and which connector captures a table, with no pipeline file."""

from __future__ import annotations

import httpx
import pytest

from bot.config import Settings
from bot.discovery import Discovery, discover_connectors, discover_jobs
from bot.pipeline import Lineage
from bot.scope import resolve_scope
from tests.realstack.control import poll

pytestmark = pytest.mark.realstack


def prometheus_series(url: str, metric: str) -> list[dict[str, str]]:
    resp = httpx.get(f"{url}/api/v1/series", params={"match[]": metric}, timeout=10)
    resp.raise_for_status()
    return list(resp.json()["data"])


def test_a_flink_alert_label_and_a_bare_table_find_the_real_job_and_connector(stack_env: dict[str, str]) -> None:
    job = stack_env["FLINK_JOB_NAME"]
    series = poll(lambda: [s for s in prometheus_series(stack_env["PROMETHEUS_URL"],
                                                        "flink_jobmanager_job_numRestarts") if s.get("job_name")],
                  timeout=60, what="the Flink job's series in Prometheus")
    label = series[0]["job_name"]
    assert label == job.replace("-", "_") and label != job          # cdc-orders-enrich -> cdc_orders_enrich
    assert all(ch.isalnum() or ch in "_:" for ch in series[0]["host"])

    settings = Settings(_env_file=None, connect_url=stack_env["CONNECT_URL"],
                        flink_url=stack_env["FLINK_URL"])
    connectors, note_c = discover_connectors(settings, timeout=10)
    jobs, note_j = discover_jobs(settings, timeout=10)
    assert not note_c and not note_j, (note_c, note_j)
    found = Discovery(connectors, jobs)
    # No pipeline file: the alert's labels alone, as Prometheus writes them.
    scope = resolve_scope(Lineage(), None, [{"alertname": "FlinkJobRestarting", "job_name": label},
                                            {"alertname": "SchemaDriftDetected", "table": "orders",
                                             "schema": "oltp"}], found)
    assert scope.flink_jobs == (job,)
    assert stack_env["CONNECTOR_NAME"] in scope.connectors and stack_env["CDC_TABLE"] in scope.tables
    assert stack_env["CDC_TOPIC"] in scope.topics
