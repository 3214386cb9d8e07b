"""POST /alerts: a payload that can never be valid is a 400 with a reason (Alertmanager does not retry a
4xx); nothing is stored for it; no input gives a 5xx. Property-based over the webhook's schema."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.app import build_app
from bot.config import Settings
from bot.deps import build_deps
from bot.store import ALERT_STREAM
from tests.e2e.alerting import alert, notification
from tests.harness import REPO, WEBHOOK_TOKEN

AUTH = {"Authorization": f"Bearer {WEBHOOK_TOKEN}", "Content-Type": "application/json"}


@pytest.fixture
def client(redis_url: str) -> Iterator[FlaskClient]:
    settings = Settings(slack_bot_token="xoxb-test", slack_signing_secret="s", incident_channel="C0INCIDENT",
                        alert_webhook_token=WEBHOOK_TOKEN, redis_url=redis_url,
                        pipeline_file=REPO / "config" / "pipelines.yml", _env_file=None)  # type: ignore[call-arg]
    deps = build_deps(settings)
    yield build_app(settings, deps).test_client()
    deps.jobs.shutdown(wait=False)


def _stored(redis_url: str) -> int:
    return int(redis.Redis.from_url(redis_url).xlen(ALERT_STREAM))


def _valid() -> dict[str, Any]:
    return notification(alert("SchemaDriftDetected", table="oltp.orders"))


def _deep(levels: int) -> str:
    return "[" * levels + "]" * levels


@pytest.mark.parametrize("body, reason", [
    (json.dumps(_valid()).replace('"oltp.orders"', '"oltp\\ud800orders"'), "invalid Unicode"),
    (json.dumps(_valid()).replace('"severity"', '"\\udfffseverity"'), "invalid Unicode"),
    (_deep(100_000), "nested deeper"),
    (json.dumps(dict(_valid(), extra=json.loads(_deep(50)))), "nested deeper"),
    (json.dumps(_valid()).replace('"critical"', "5"), "valid string"),
    (json.dumps(_valid()).replace('"critical"', "true"), "valid string"),
    (json.dumps(dict(_valid(), truncatedAlerts="3")), "valid integer"),
    (json.dumps(_valid()).replace('"2026-11-26T07:00:00.123456789Z"', '"yesterday"'), "pattern"),
    (json.dumps(_valid()).replace('"2026-11-26T07:00:00.123456789Z"', "1764140400"), "valid string"),
    (json.dumps(dict(_valid(), truncatedAlerts=1)).replace(": 1,", ": NaN,"), "not JSON"),
    ('{"version": "4", "n": ' + "9" * 5000 + "}", "not JSON"),
    (b"\xff\xfe{not utf-8", "not JSON"),
    ("[]", "JSON object"),
    ("", "not JSON"),
])
def test_invalid_payloads_get_400_with_a_reason_and_nothing_is_stored(
        client: FlaskClient, redis_url: str, body: str | bytes, reason: str) -> None:
    resp = client.post("/alerts", data=body, headers=AUTH)
    assert resp.status_code == 400, resp.get_json()
    answer = resp.get_json()
    assert answer["error"] == "invalid payload" and reason in answer["reason"]
    assert _stored(redis_url) == 0


def test_a_valid_payload_is_stored(client: FlaskClient, redis_url: str) -> None:
    assert client.post("/alerts", data=json.dumps(_valid()), headers=AUTH).status_code == 200
    assert _stored(redis_url) == 1


# -- property-based: any mutation of a valid payload gives 200/400/401/413, and a 4xx stores nothing --------
_scalars = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
                     st.floats(allow_nan=False), st.text(max_size=20))
_json_values = st.recursive(_scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                            st.dictionaries(st.text(max_size=8), inner, max_size=3)),
                            max_leaves=12)
_paths = st.sampled_from([
    ("version",), ("status",), ("groupKey",), ("truncatedAlerts",), ("alerts",), ("alerts", 0),
    ("alerts", 0, "labels"), ("alerts", 0, "labels", "table"), ("alerts", 0, "annotations", "summary"),
    ("alerts", 0, "startsAt"), ("alerts", 0, "endsAt"), ("alerts", 0, "fingerprint"), ("alerts", 0, "status"),
    ("commonLabels",), ("groupLabels", "alertname"), ("externalURL",), ("receiver",), ("new_field",),
])


def _set(payload: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    target: Any = payload
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return payload


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(mutations=st.lists(st.tuples(_paths, _json_values), max_size=3),
       surrogate=st.booleans(), token_ok=st.booleans())
def test_fuzzed_payloads_never_give_a_5xx_and_a_4xx_stores_nothing(
        client: FlaskClient, redis_url: str, mutations: list[tuple[tuple[Any, ...], Any]], surrogate: bool,
        token_ok: bool) -> None:
    payload = _valid()
    for path, value in mutations:
        try:
            payload = _set(payload, path, value)
        except (KeyError, IndexError, TypeError):
            continue  # the path went away with an earlier mutation
    body = json.dumps(payload)
    if surrogate:
        body = body.replace("oltp", "oltp\\udc80", 1)
    headers = AUTH if token_ok else {**AUTH, "Authorization": "Bearer wrong"}
    before = _stored(redis_url)
    resp = client.post("/alerts", data=body, headers=headers)
    assert resp.status_code in (200, 400, 401, 413), resp.get_data(as_text=True)
    assert _stored(redis_url) == before + (1 if resp.status_code == 200 else 0)
    if resp.status_code != 200:
        assert resp.get_json()["reason"]
