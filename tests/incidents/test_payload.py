"""Alertmanager payload parsing, auth, correlation: pure functions."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from bot.incidents.payload import InvalidPayload, authorized, correlation_key, parse_notification, parse_time
from bot.pipeline import load_lineage
from tests.e2e.alerting import alert, notification

LINEAGE = load_lineage(Path(__file__).resolve().parents[2] / "config" / "pipelines.yml")


def test_a_real_shaped_notification_parses_with_zero_end_times() -> None:
    body = (json.dumps(notification(alert("SchemaDriftDetected", table="oltp.orders"))) + "\n").encode()
    n = parse_notification(body)
    assert n.alerts[0].ends_at is None and n.alerts[0].alertname == "SchemaDriftDetected"
    assert parse_time(n.alerts[0].startsAt).isoformat() == "2026-11-26T07:00:00.123456+00:00"  # type: ignore[union-attr]


@pytest.mark.parametrize("body, reason", [
    (b"", "not JSON"), (b"[1]", "JSON object"), (b'{"version": "3"}', "unsupported webhook version"),
    (json.dumps({**notification(alert("A")), "alerts": [{"status": "weird"}]}).encode(), "alerts.0"),
    (b"\xff\xfe", "not JSON"),
])
def test_invalid_payloads_say_what_is_wrong(body: bytes, reason: str) -> None:
    with pytest.raises(InvalidPayload) as info:
        parse_notification(body)
    assert reason in str(info.value)


def test_bearer_and_basic_auth_in_constant_time() -> None:
    assert authorized("Bearer tok-123", "tok-123")
    assert not authorized("Bearer tok-1234", "tok-123") and not authorized(None, "tok-123")
    assert not authorized("Bearer tok-123", "")                       # no token configured: nothing passes
    basic = base64.b64encode(b"am:tok-123").decode()
    assert authorized(f"Basic {basic}", "tok-123")
    assert not authorized("Basic !!notbase64", "tok-123") and not authorized("Token tok-123", "tok-123")


def test_alerts_about_one_pipeline_correlate_whatever_their_names() -> None:
    by_table = correlation_key(LINEAGE, {"alertname": "SchemaDriftDetected", "table": "oltp.orders"}, "g1")
    by_connector = correlation_key(LINEAGE, {"alertname": "ConnectorTaskFailed", "connector": "mysql-oltp-orders"}, "g2")
    by_schema = correlation_key(LINEAGE, {"alertname": "X", "schema": "oltp", "table": "orders"}, "g3")
    by_job = correlation_key(LINEAGE, {"alertname": "FlinkJobRestarting", "job_name": "cdc_orders_enrich"}, "g4")
    assert by_table == by_connector == by_schema == by_job == ("pipeline:orders", "orders")
    unknown = correlation_key(LINEAGE, {"alertname": "DiskFull"}, "{}:{alertname=\"DiskFull\"}")
    assert unknown[0].startswith("group:") and unknown[1] is None
