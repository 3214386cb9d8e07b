"""Pure builders of the incident commands and the root lines they change."""

from __future__ import annotations

import json

from bot.blocks.incident import root_blocks
from bot.blocks.incident_commands import (
    ACTIONS_SHOWN,
    SEVERITIES,
    commander_text,
    declared_text,
    filtered_incidents_text,
    resolved_by_hand_text,
    severity_text,
    summary_text,
    unknown_severity_hint,
)
from bot.blocks.links import Link
from bot.models import AlertState, Incident, TimelineEvent
from bot.runbooks.approvals import Approval

T0 = 1_764_140_400.0  # 2025-11-26 07:00:00 UTC


def incident(**extra: object) -> Incident:
    base = dict(id="INC-4", number=4, correlation_key="pipeline:orders", pipeline="orders", title="Drift <b>",
                channel="C0INCIDENT", opened_at=T0, last_seen_at=T0, severity="critical",
                alerts={"f": AlertState(fingerprint="f", alertname="SchemaDriftDetected", status="firing")})
    return Incident.model_validate({**base, **extra})


def approval(state: str = "pending") -> Approval:
    return Approval(id="a1", incident_id="INC-4", runbook="schema-drift", step="rollback-schema", params={},
                    summary="s", action_text="ALTER", action_hash="h", requester="U0ALICE", created_at=T0,
                    expires_at=T0 + 60, channel="C0INCIDENT", state=state)  # type: ignore[arg-type]


def event(n: int, kind: str = "command", actor: str = "U0BOB") -> TimelineEvent:
    return TimelineEvent(ts=T0 + n, kind=kind, text=f"action {n} <x>", actor=actor)  # type: ignore[arg-type]


def test_stored_incidents_without_the_new_fields_still_load() -> None:
    old = json.loads(incident().model_dump_json())
    for field in ("commander", "declared_by", "resolved_by", "resolve_reason", "resolved_by_hand_at"):
        old.pop(field)
    for alert in old["alerts"].values():
        alert.pop("runbook_url")
    loaded = Incident.model_validate_json(json.dumps(old))
    assert (loaded.commander, loaded.declared_by, loaded.resolved_by, loaded.resolve_reason) == (None, None, None, "")


def test_the_root_shows_commander_declarer_and_a_resolve_by_hand() -> None:
    text = json.dumps(root_blocks(incident()))
    assert "*Commander*: nobody yet (`ack` to take it)" in text and "Declared by" not in text
    declared = incident(alerts={}, commander="U0BOB", declared_by="U0ALICE", pipeline=None)
    text = json.dumps(root_blocks(declared))
    assert "*Open*" in text and "*Commander*: <@U0BOB>" in text and "*Declared by* <@U0ALICE>" in text
    assert "_No alert: declared by hand._" in text and "Firing" not in text
    closed = incident(status="resolved", resolved_at=T0 + 90, resolved_by="U0ALICE", resolve_reason="fixed <it>",
                      resolved_by_hand_at=T0 + 90)
    assert "*Resolved* after 1m 30s by <@U0ALICE>: fixed &lt;it&gt;" in json.dumps(root_blocks(closed))
    # Reopened by a firing, then resolved by Alertmanager: the old by-hand resolve is not shown as this one.
    later = closed.model_copy(update={"resolved_at": T0 + 900})
    assert "by <@U0ALICE>" not in json.dumps(root_blocks(later)) and not later.resolved_by_hand
    assert "fixed" not in summary_text(later, [], [], "UTC")


def test_command_answers_name_the_incident_and_escape_what_people_typed() -> None:
    inc = incident()
    assert commander_text(inc, "U0BOB", already=False) == ":raising_hand: <@U0BOB> is now the incident commander of *INC-4*."
    assert "already" in commander_text(inc, "U0BOB", already=True)
    assert severity_text(inc.model_copy(update={"severity": "info"}), "U0BOB", "critical") == (
        ":label: <@U0BOB> set the severity of *INC-4* to *info* (was critical).")
    assert "already *critical*" in severity_text(inc, "U0BOB", "critical")
    assert unknown_severity_hint() == "Valid severities: `critical`, `warning`, `info`." and SEVERITIES[0] == "critical"
    assert "declared *INC-4*: Drift &lt;b&gt;" in declared_text(inc, "U0ALICE")
    closed = incident(status="resolved", resolve_reason="a & b")
    assert resolved_by_hand_text(closed, "U0ALICE") == (
        ":white_check_mark: <@U0ALICE> resolved *INC-4* by hand: a &amp; b. 1 alert(s) still fire: Alertmanager's "
        "resolve is recorded when it comes, and a new firing reopens the incident.")
    assert "still fire" not in resolved_by_hand_text(incident(alerts={}, resolve_reason="x"), "U0ALICE")


def test_summary_has_state_commander_approvals_and_only_the_last_actions() -> None:
    events = [event(n) for n in range(8)] + [event(9, kind="bot_post", actor="bot"), event(10, kind="human_message")]
    text = summary_text(incident(commander="U0BOB"), [approval()], events, "UTC")
    assert text.splitlines()[0] == ":clipboard: *INC-4* Drift &lt;b&gt;"
    assert "State: *open*, 1 of 1 alert(s) firing · Severity: *critical* · Commander: <@U0BOB>" in text
    assert "*Open approvals*: 1\n• `schema-drift/rollback-schema` *pending*, asked by <@U0ALICE>" in text
    shown = [line for line in text.splitlines() if line.startswith("• 2025")]
    assert len(shown) == ACTIONS_SHOWN and "action 7 &lt;x&gt;" in shown[-1] and "action 3 " in shown[0]
    empty = summary_text(incident(status="resolved", resolved_at=T0 + 5, resolved_by="U0ALICE",
                                  resolve_reason="done", resolved_by_hand_at=T0 + 5), [], [], "UTC")
    assert "*Open approvals*: none" in empty and "*Last actions*: none yet" in empty
    assert "Resolved 2025-11-26 07:00:05 UTC by <@U0ALICE>: done" in empty and ":link:" not in empty
    linked = summary_text(incident(), [], [], "UTC", [Link("Runbook", "https://x.example/a?b=1&c=2")])
    assert linked.endswith(":link: <https://x.example/a?b=1&amp;c=2|Runbook>")


def test_filtered_incident_lists_say_the_filter() -> None:
    many = [incident(id=f"INC-{n}", number=n) for n in range(15, 0, -1)]
    text = filtered_incidents_text(many, "UTC", "open", "orders")
    assert text.splitlines()[0] == "*Open incidents of `orders`* (newest first, 10 shown):"
    assert len(text.splitlines()) == 11 and "*INC-15*" in text and "*INC-5*" not in text
    assert filtered_incidents_text([], "UTC", "resolved", None) == ":sparkles: No resolved incidents in this channel."
    assert filtered_incidents_text([], "UTC", None, "a<b") == ":sparkles: No incidents of `a&lt;b` in this channel."
