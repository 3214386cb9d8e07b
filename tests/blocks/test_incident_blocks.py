"""The root message and thread lines: pure builders, checked against Slack's limits."""

from __future__ import annotations

import json

from bot.blocks.common import fmt_duration, fmt_time
from bot.blocks.incident import alert_resolved_text, incident_metadata, root_blocks, root_text
from bot.models import AlertState, Incident


def _incident(**extra: object) -> Incident:
    alerts = {f"f{i}": AlertState(fingerprint=f"f{i}", alertname=f"A<{i}>", status="firing", summary="x & y")
              for i in range(40)}
    base = dict(id="INC-7", number=7, correlation_key="pipeline:orders", pipeline="orders", title="Drift <b>",
                channel="C1", opened_at=1_764_140_400.0, last_seen_at=1_764_140_460.0, alerts=alerts,
                labels={"table": "oltp.orders"}, truncated_alerts=3, external_url="http://am:9093")
    return Incident.model_validate({**base, **extra})


def test_root_message_escapes_caps_and_links() -> None:
    blocks = root_blocks(_incident(), tz="Asia/Ho_Chi_Minh")
    text = json.dumps(blocks, ensure_ascii=False)
    assert "A&lt;0&gt;" in text and "x &amp; y" in text and "<b>" not in blocks[1]["text"]["text"]
    assert "…and 25 more" in text and "left 3 alert(s) out" in text
    assert "<http://am:9093|Alertmanager>" in text and "(14:01:00 +07)" in text
    assert len(blocks) <= 50 and all(len(b.get("text", {}).get("text", "")) <= 3000 for b in blocks)
    assert root_text(_incident()) == "[FIRING] INC-7 Drift <b>"


def test_resolved_root_and_lines() -> None:
    inc = _incident(status="resolved", resolved_at=1_764_140_400.0 + 754)
    assert "*Resolved* after 12m 34s" in json.dumps(root_blocks(inc))
    alert = AlertState(fingerprint="f", alertname="SchemaDriftDetected", status="resolved", ends_at="2026-11-26T07:10:00Z")
    assert alert_resolved_text(alert) == ":white_check_mark: Resolved: *SchemaDriftDetected* (ended 2026-11-26T07:10:00Z)"
    assert incident_metadata("INC-7", "root") == {"event_type": "dataflow_incident",
                                                  "event_payload": {"incident_id": "INC-7", "kind": "root"}}


def test_times_and_durations() -> None:
    assert fmt_time(0) == "1970-01-01 00:00:00 UTC"
    assert fmt_duration(3725.9) == "1h 02m 05s" and fmt_duration(59.99) == "59s"
