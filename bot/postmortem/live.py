"""Checklist items verified live at export time: Alertmanager, Kafka Connect, Flink, the baseline."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx

from bot.backends import baseline_store, connect_client, flink_client
from bot.deps import Deps
from bot.errors import DataflowError
from bot.models import Incident, TimelineEvent
from bot.postmortem.model import Check
from bot.runbooks.skip_risk import skip_risks
from bot.scope import Scope

ALERT_LABEL = "Alert clear"
NOT_CHECKED = "could not check"     # a live check whose backend failed or did not answer: the answer says so
ACTIVE_STATES = {"active", "suppressed", "unprocessed"}


def alert_check(deps: Deps, inc: Incident) -> Check:
    url = deps.settings.alertmanager_url
    if not url:
        resolved = inc.status == "resolved"
        detail = ("all alerts of the incident resolved" if resolved else f"{len(inc.firing)} alert(s) still firing")
        return Check(ALERT_LABEL, resolved, f"{detail} (judged from the incident's own state: ALERTMANAGER_URL is not set)")
    try:
        resp = httpx.get(f"{url}/api/v2/alerts", params={"active": "true"}, timeout=deps.settings.enrich_timeout_seconds)
        resp.raise_for_status()
        active = _active_fingerprints(resp.json())
    except (httpx.HTTPError, ValueError) as exc:
        return Check(ALERT_LABEL, False, f"could not ask Alertmanager at {url}: {type(exc).__name__}")
    still = sorted(a.alertname for a in inc.alerts.values() if a.fingerprint in active)
    if still:
        return Check(ALERT_LABEL, False, f"still active in Alertmanager: {', '.join(still)}")
    return Check(ALERT_LABEL, True, "none of the incident's alerts is active in Alertmanager (checked live)")


def _active_fingerprints(body: Any) -> set[str]:
    if not isinstance(body, list):
        raise ValueError("Alertmanager /api/v2/alerts did not return a list")
    return {str(a.get("fingerprint")) for a in body if isinstance(a, dict)
            and (a.get("status") or {}).get("state", "active") in ACTIVE_STATES}


def connector_checks(deps: Deps, names: tuple[str, ...], events: list[TimelineEvent]) -> tuple[Check, ...]:
    risks = skip_risks(events)

    def one(client: Any, name: str) -> tuple[bool, str]:
        status = client.status(name)
        if status.is_healthy and name in risks:
            return False, (f"{status.summary()} (checked live), but it resumed after failing on a change event "
                           f"({risks[name]}): that event may have been skipped; verify the data by hand")
        return _verdict(status.is_healthy, status.summary())

    return _live_checks(connect_client(deps.settings), names, "Connector `{}` RUNNING", "CONNECT_URL", one)


def job_checks(deps: Deps, names: tuple[str, ...]) -> tuple[Check, ...]:
    def one(client: Any, name: str) -> tuple[bool, str]:
        health = client.job_health(name)
        if health.healthy or health.verdict is None:
            return _verdict(health.healthy, f"job {health.state}")
        return _verdict(False, f"job {health.verdict.summary()}")

    return _live_checks(flink_client(deps.settings), names, "Flink job `{}` RUNNING", "FLINK_URL", one)


def _verdict(ok: bool, detail: str) -> tuple[bool, str]:
    return bool(ok), f"{detail} (checked live)"


def _live_checks(client: Any, names: tuple[str, ...], label: str, variable: str,
                 one: Callable[[Any, str], tuple[bool, str]]) -> tuple[Check, ...]:
    """One check per name against a live backend; a backend that fails says so in the item."""
    if client is None:
        return tuple(Check(label.format(n), False, f"not verified: {variable} is not set") for n in names)
    with client:
        return tuple(_one(client, label.format(name), name, one) for name in names)


def _one(client: Any, label: str, name: str, one: Callable[[Any, str], tuple[bool, str]]) -> Check:
    try:
        ok, detail = one(client, name)
    except DataflowError as exc:
        return Check(label, False, f"{NOT_CHECKED}: {exc}")
    return Check(label, ok, detail)


def baseline_check(deps: Deps, inc: Incident, scope: Scope, events: list[TimelineEvent]) -> Check | None:
    """When the drift was accepted, the baseline must have moved: a snapshot taken after the incident opened."""
    accepted = [e for e in events if e.kind == "result" and e.data.get("step") == "accept-drift"
                and e.data.get("ok") is True]
    store = baseline_store(deps.settings, deps.store.r)
    for table in scope.tables:
        for base in store.history(table):
            taken = datetime.fromisoformat(base.taken_at).timestamp()
            # The watcher's own first snapshot is not an acceptance.
            if taken >= int(inc.opened_at) and base.taken_by != "drift-watcher":
                return Check("Baseline updated (drift accepted)", True,
                             f"`{table}` snapshot v{base.version} by {base.taken_by} at {base.taken_at}")
    if accepted:
        return Check("Baseline updated (drift accepted)", True, "the accept-drift step succeeded")
    return None
