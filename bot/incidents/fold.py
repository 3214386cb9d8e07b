"""Folding alerts into incidents: one open incident per pipeline; repeats, resolves and reopen."""

from __future__ import annotations

import time

from pydantic import BaseModel, Field

from bot.incidents.payload import AMAlert, AMNotification, correlation_key
from bot.models import AlertState, Incident, TimelineEvent
from bot.pipeline import Lineage
from bot.store import Store

CORRELATION_LABELS = ("table", "schema", "connector", "topic", "job_name", "flink_job")


class Fold(BaseModel):
    """What one notification changed in one incident: the Slack side acts on this.

    Stored per stream entry, so a redelivered entry replays the same decisions instead of
    counting its alerts as repeats (and forgetting that it opened the incident).
    """

    incident: Incident
    opened: bool = False
    reopened: bool = False
    new_alerts: list[AlertState] = Field(default_factory=list)       # a new alert joined the thread
    resolved_alerts: list[AlertState] = Field(default_factory=list)
    all_resolved_now: bool = False


def group_alerts(lineage: Lineage, n: AMNotification) -> dict[tuple[str, str | None], list[AMAlert]]:
    groups: dict[tuple[str, str | None], list[AMAlert]] = {}
    for alert in n.alerts:
        groups.setdefault(correlation_key(lineage, alert.labels, n.groupKey), []).append(alert)
    return groups


def fold_notification(store: Store, lineage: Lineage, n: AMNotification, entry_id: str, channel: str,
                      reopen_window_s: float, now: float | None = None) -> list[Fold]:
    now = now or time.time()
    folds = []
    for (key, pipeline), alerts in group_alerts(lineage, n).items():
        record = f"{store.PREFIX_FOLD}{entry_id}:{key}"
        with store.lock(f"corr:{key}"):
            if (saved := store.r.get(record)) is not None:
                folds += [Fold.model_validate_json(saved)] if saved else []
                continue
            fold = _fold_group(store, key, pipeline, alerts, n, channel, reopen_window_s, now)
            if fold is not None:
                store.save_incident(fold.incident)
                folds.append(fold)
            store.r.set(record, fold.model_dump_json() if fold else "", ex=7 * 86400)
    return folds


def _fold_group(store: Store, key: str, pipeline: str | None, alerts: list[AMAlert], n: AMNotification,
                channel: str, reopen_window_s: float, now: float) -> Fold | None:
    firing = any(a.status == "firing" for a in alerts)
    incident = store.open_incident_for(key)
    fold: Fold | None = Fold(incident=incident) if incident else None
    if incident is None:
        last = store.last_incident_for(key)
        if last and last.resolved_at and now - last.resolved_at <= reopen_window_s and firing:
            last.status, last.resolved_at = "open", None
            fold = Fold(incident=last, reopened=True)
            store.add_event(last.id, TimelineEvent(ts=now, kind="incident_reopened", actor="alertmanager",
                                                   text="Incident reopened: the pipeline fired again",
                                                   source_id=f"reopen:{now}"))
        elif firing:
            fold = Fold(incident=_new_incident(store, key, pipeline, alerts, n, channel, now), opened=True)
        elif last is not None:
            fold = Fold(incident=last)  # a late resolve for a closed incident: record it, post nothing new
        else:
            return None         # resolved alerts we never saw firing: nothing to open or close
    assert fold is not None
    for alert in alerts:
        _apply_alert(store, fold, alert, now)
    inc = fold.incident
    inc.last_seen_at, inc.notifications = now, inc.notifications + (0 if fold.opened else 1)
    inc.external_url = n.externalURL or inc.external_url
    inc.truncated_alerts = max(inc.truncated_alerts, n.truncatedAlerts)
    if inc.status == "open" and inc.alerts and not inc.firing:
        inc.status, inc.resolved_at, fold.all_resolved_now = "resolved", now, True
    return fold


def _new_incident(store: Store, key: str, pipeline: str | None, alerts: list[AMAlert], n: AMNotification,
                  channel: str, now: float) -> Incident:
    number = store.next_incident_number()
    first = next(a for a in alerts if a.status == "firing")
    labels = {k: v for a in alerts for k, v in a.labels.items() if k in CORRELATION_LABELS}
    return Incident(
        id=f"INC-{number}", number=number, correlation_key=key, pipeline=pipeline,
        title=f"{first.alertname}" + (f" — {pipeline}" if pipeline else ""),
        severity=first.labels.get("severity", "warning"), channel=channel, opened_at=now,
        last_seen_at=now, external_url=n.externalURL, labels=labels,
    )


def _apply_alert(store: Store, fold: Fold, alert: AMAlert, now: float) -> None:
    inc = fold.incident
    known = inc.alerts.get(alert.fingerprint)
    for k, v in alert.labels.items():
        if k in CORRELATION_LABELS:
            inc.labels.setdefault(k, v)
    if alert.status == "firing":
        if known and known.status == "firing":
            known.count += 1   # the root message shows the count
            return
        if known and known.status == "resolved" and known.starts_at == alert.startsAt:
            return  # a stale firing delivered after its resolve (retries interleave)
        state = AlertState(fingerprint=alert.fingerprint, alertname=alert.alertname, status="firing",
                           labels=alert.labels, summary=alert.summary, starts_at=alert.startsAt,
                           generator_url=alert.generatorURL, runbook_url=alert.annotations.get("runbook_url", ""))
        inc.alerts[alert.fingerprint] = state
        fold.new_alerts.append(state)
        store.add_event(inc.id, TimelineEvent(
            ts=now, kind="alert_firing", actor="alertmanager", text=f"{alert.alertname} firing: {alert.summary}",
            source_id=f"firing:{alert.fingerprint}:{alert.startsAt}", key=fold.opened,
            data={"labels": alert.labels, "starts_at": alert.startsAt}))
    elif known and known.status == "firing":
        known.status, known.ends_at = "resolved", alert.ends_at
        fold.resolved_alerts.append(known)
        store.add_event(inc.id, TimelineEvent(
            ts=now, kind="alert_resolved", actor="alertmanager", text=f"{alert.alertname} resolved",
            source_id=f"resolved:{alert.fingerprint}:{alert.startsAt}",
            data={"labels": alert.labels, "ends_at": alert.ends_at}))
