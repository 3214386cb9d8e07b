"""Alertmanager webhook payloads as Alertmanager 0.25 sends them (body ends with a newline, like Go's encoder)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import httpx

from tests.harness import WEBHOOK_TOKEN

ZERO = "0001-01-01T00:00:00Z"


def alert(alertname: str, status: str = "firing", starts: str = "2026-11-26T07:00:00.123456789Z",
          ends: str = ZERO, **labels: str) -> dict[str, Any]:
    labels = {"alertname": alertname, "severity": "critical", **labels}
    fingerprint = hashlib.sha256(json.dumps(labels, sort_keys=True).encode()).hexdigest()[:16]
    return {"status": status, "labels": labels, "annotations": {"summary": f"{alertname} on {labels.get('table', '?')}"},
            "startsAt": starts, "endsAt": ends, "generatorURL": "http://prometheus:9090/graph?g0.expr=x",
            "fingerprint": fingerprint}


def notification(*alerts: dict[str, Any], group_key: str | None = None, truncated: int = 0) -> dict[str, Any]:
    first = alerts[0]["labels"]
    status = "firing" if any(a["status"] == "firing" for a in alerts) else "resolved"
    return {"receiver": "dataflow-bot", "status": status, "alerts": list(alerts),
            "groupLabels": {"alertname": first["alertname"]}, "commonLabels": first, "commonAnnotations": {},
            "externalURL": "http://alertmanager:9093", "version": "4", "truncatedAlerts": truncated,
            "groupKey": group_key or f'{{}}:{{alertname="{first["alertname"]}"}}'}


def post(bot_url: str, payload: dict[str, Any] | bytes, token: str = WEBHOOK_TOKEN) -> httpx.Response:
    body = payload if isinstance(payload, bytes) else (json.dumps(payload) + "\n").encode()
    return httpx.post(bot_url + "/alerts", content=body, timeout=10,
                      headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"})
