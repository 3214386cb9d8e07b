"""Folding alerts into incidents against real Redis: open once, repeats, new alerts, resolve, reopen, replay."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import redis

from bot.incidents.fold import fold_notification
from bot.incidents.payload import AMNotification, parse_notification
from bot.pipeline import load_lineage
from bot.store import Store
from tests.e2e.alerting import alert, notification

LINEAGE = load_lineage(Path(__file__).resolve().parents[2] / "config" / "pipelines.yml")
CH = "C0INCIDENT"
DRIFT = alert("SchemaDriftDetected", table="oltp.orders")


def parsed(*alerts: dict[str, Any]) -> AMNotification:
    return parse_notification(json.dumps(notification(*alerts)).encode())


def fold(store: Store, entry: str, *alerts: dict[str, Any], now: float = 1000.0, window: float = 3600) -> list[Any]:
    return fold_notification(store, LINEAGE, parsed(*alerts), entry, CH, window, now=now)


def resolved(a: dict[str, Any]) -> dict[str, Any]:
    return {**a, "status": "resolved", "endsAt": "2026-11-26T07:10:00Z"}


def test_alerts_of_one_pipeline_open_one_incident_and_repeats_are_counted(redis_client: redis.Redis) -> None:
    store = Store(redis_client)
    [first] = fold(store, "1-0", DRIFT)
    assert first.opened and first.incident.id == "INC-1" and first.incident.pipeline == "orders"
    assert first.incident.labels == {"table": "oltp.orders"}
    [again] = fold(store, "2-0", DRIFT, alert("ConnectorTaskFailed", connector="mysql-oltp-orders"))
    assert not again.opened and again.incident.id == "INC-1"
    assert [a.alertname for a in again.new_alerts] == ["ConnectorTaskFailed"]
    assert again.incident.alerts[first.new_alerts[0].fingerprint].count == 2
    assert again.incident.labels == {"table": "oltp.orders", "connector": "mysql-oltp-orders"}


def test_a_redelivered_entry_replays_its_decision(redis_client: redis.Redis) -> None:
    store = Store(redis_client)
    [first] = fold(store, "1-0", DRIFT)
    [replayed] = fold(store, "1-0", DRIFT)
    assert replayed.opened and replayed.incident.id == first.incident.id
    assert store.incident("INC-1").alerts[first.new_alerts[0].fingerprint].count == 1  # type: ignore[union-attr]


def test_unrelated_alerts_get_their_own_incident(redis_client: redis.Redis) -> None:
    store = Store(redis_client)
    folds = fold(store, "1-0", DRIFT, alert("DiskAlmostFull", instance="db-1"))
    assert sorted(f.incident.correlation_key.split(":")[0] for f in folds) == ["group", "pipeline"]


def test_resolve_then_reopen_within_the_window_then_a_new_incident_after_it(redis_client: redis.Redis) -> None:
    store = Store(redis_client)
    fold(store, "1-0", DRIFT, now=1000)
    [done] = fold(store, "2-0", resolved(DRIFT), now=1100)
    assert done.all_resolved_now and done.incident.status == "resolved" and done.incident.resolved_at == 1100
    later = alert("SchemaDriftDetected", starts="2026-11-26T08:00:00Z", table="oltp.orders")
    [reopened] = fold(store, "3-0", later, now=1200)
    assert reopened.reopened and reopened.incident.id == "INC-1" and reopened.incident.status == "open"
    fold(store, "4-0", resolved(later), now=1300)
    [fresh] = fold(store, "5-0", alert("SchemaDriftDetected", starts="2026-11-26T09:00:00Z", table="oltp.orders"),
                   now=1300 + 3601)
    assert fresh.opened and fresh.incident.id == "INC-2"


def test_a_resolve_for_an_alert_never_seen_opens_nothing(redis_client: redis.Redis) -> None:
    assert fold(Store(redis_client), "1-0", resolved(DRIFT)) == []
    assert not redis_client.keys("dfo:incident:INC-*")


def test_a_stale_firing_after_its_resolve_is_ignored(redis_client: redis.Redis) -> None:
    store = Store(redis_client)
    fold(store, "1-0", DRIFT, now=1000)
    fold(store, "2-0", resolved(DRIFT), now=1010)
    [stale] = fold(store, "3-0", DRIFT, now=1020)      # the same startsAt: a retry interleaved with the resolve
    assert not stale.new_alerts and stale.incident.status == "resolved"
