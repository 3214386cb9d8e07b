"""Runbooks as data: the shipped definitions, validation of bad ones, parameters, and the Block Kit."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.blocks.runbook import (
    APPROVE,
    DENY,
    approval_blocks,
    approval_text,
    checklist_blocks,
    parse_step_value,
)
from bot.errors import ConfigError, UserInputError
from bot.models import Incident
from bot.runbooks.approvals import Approval
from bot.runbooks.context import StepContext
from bot.runbooks.model import choose_step, load_runbooks, runbooks
from bot.scope import Scope

SEED_STEPS = {"connector-status", "connect-logs", "schema-diff", "flink-status", "downstream-logs",
              "drill-create", "drill-revert", "rollback-schema", "accept-drift", "restart-connector",
              "resume-connector", "validate-data", "check-flink"}


def test_the_schema_drift_runbook_covers_the_seed_runbook() -> None:
    books = runbooks()
    assert {s.id for s in books["schema-drift"].steps} == SEED_STEPS
    assert {"connector-failed", "flink-restarting"} <= set(books)
    mutating = {s.id for s in books["schema-drift"].steps if s.kind == "mutate"}
    assert mutating == {"drill-create", "drill-revert", "rollback-schema", "accept-drift", "restart-connector",
                        "resume-connector"}
    assert all(books["schema-drift"].step(s).approval is not None for s in mutating)  # type: ignore[union-attr]


def _write(tmp_path: Path, body: str) -> Path:
    (tmp_path / "book.yml").write_text(body)
    return tmp_path


def test_a_new_runbook_of_existing_actions_needs_no_code(tmp_path: Path) -> None:
    books = load_runbooks(_write(tmp_path, """
name: lag
title: Consumer lag
steps:
  - {id: look, title: Look at the connector, kind: read, action: connect.status}
  - {id: kick, title: Restart it, kind: mutate, action: connect.restart, params: {connector: "{connector}"},
     approval: {ttl_seconds: 60}}
"""))
    assert books["lag"].step("kick").approval.ttl_seconds == 60  # type: ignore[union-attr]


@pytest.mark.parametrize("body, message", [
    ("name: x\ntitle: X\nsteps:\n  - {id: a, title: A, kind: read, action: no.such}\n", "unknown action 'no.such'"),
    ("name: x\ntitle: X\nsteps:\n  - {id: a, title: A, kind: read, action: connect.restart}\n", "is read but"),
    ("name: x\ntitle: X\nsteps:\n  - {id: a, title: A, kind: read, action: connect.status, approval: {}}\n",
     "a read step takes no approval"),
    ("name: x\ntitle: X\nsteps:\n  - {id: a, title: A, kind: read, action: connect.status}\n"
     "  - {id: a, title: B, kind: read, action: connect.status}\n", "duplicate step ids"),
    ("name: X!\ntitle: X\nsteps: []\n", "runbook book.yml"),
])
def test_bad_definitions_stop_the_bot_with_the_reason(tmp_path: Path, body: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_runbooks(_write(tmp_path, body))
    assert message in str(info.value)


def _ctx(args: list[str] | None = None) -> StepContext:
    inc = Incident(id="INC-3", number=3, correlation_key="pipeline:orders", pipeline="orders", title="t",
                   channel="C1", opened_at=1.0, last_seen_at=1.0)
    scope = Scope(pipeline="orders", tables=("oltp.orders",), connectors=("mysql-oltp-orders",),
                  flink_jobs=("cdc-orders-enrich",))
    return StepContext(deps=None, incident=inc, scope=scope, user="U1", args=args or [])  # type: ignore[arg-type]


def test_params_come_from_the_pipeline_and_the_arguments() -> None:
    params = {"table": "{table}", "connector": "{connector}", "column": "{column?}", "job": "{job}"}
    assert _ctx().resolve(params, "s") == {"table": "oltp.orders", "connector": "mysql-oltp-orders",
                                           "column": "", "job": "cdc-orders-enrich"}
    assert _ctx(["extra_col"]).resolve({"column": "{column}"}, "s") == {"column": "extra_col"}
    with pytest.raises(UserInputError) as info:
        _ctx().resolve({"column": "{column}"}, "rollback-schema")
    assert "/dataflow run rollback-schema &lt;column&gt;" in info.value.user_text()


def test_the_step_of_the_incidents_runbook_is_preferred() -> None:
    book, _ = choose_step(runbooks(), "restart-connector", ["ConnectorTaskFailed"])
    assert book.name == "connector-failed"
    book, step = choose_step(runbooks(), "restart-connector", ["SchemaDriftDetected"])
    assert book.name == "schema-drift" and step.precheck == "schema.diff"


def test_checklist_has_a_unique_button_per_step_within_limits() -> None:
    blocks = checklist_blocks(runbooks()["schema-drift"], "INC-3", drills=True)
    buttons = [e for b in blocks if b["type"] == "actions" for e in b["elements"]]
    assert len(buttons) == len(SEED_STEPS)
    assert len({b["action_id"] for b in buttons}) == len(buttons)
    assert parse_step_value(buttons[0]["value"]) == ("INC-3", "connector-status")
    assert all(len(b["text"]["text"]) <= 75 for b in buttons) and len(blocks) <= 50


def _approval(state: str = "pending") -> Approval:
    return Approval(id="a1", incident_id="INC-3", runbook="schema-drift", step="rollback-schema", params={},
                    summary="Drop `x`", action_text="ALTER TABLE `a`.`b` DROP COLUMN `x` <&>", action_hash="h",
                    requester="U1", created_at=0, expires_at=1800, channel="C1", state=state,  # type: ignore[arg-type]
                    decided_by="U2", decided_at=60)


def test_approval_message_shows_the_exact_action_then_loses_its_buttons() -> None:
    pending = str(approval_blocks(_approval()))
    assert "DROP COLUMN `x` &lt;&amp;&gt;" in pending and APPROVE in pending and DENY in pending
    done = str(approval_blocks(_approval("done")))
    assert APPROVE not in done and "Approved by <@U2> at 1970-01-01 00:01:00 UTC" in done


def test_an_incident_checklist_offers_no_drill_step_and_says_how_to_run_one() -> None:
    blocks = checklist_blocks(runbooks()["schema-drift"], "INC-3")
    buttons = {e["action_id"] for b in blocks if b["type"] == "actions" for e in b["elements"]}
    assert not any("drill" in b for b in buttons) and "run_step:rollback-schema" in buttons
    assert "confirm" in str(blocks) and "change the table" in str(blocks)


def test_the_message_headline_and_notification_text_say_the_state() -> None:
    pending = _approval()
    assert approval_text(pending, "<@U9> <!subteam^S1>").startswith("Approval needed")
    assert "<!subteam^S1>" in approval_text(pending, "<@U9> <!subteam^S1>")
    assert "<!subteam^S1>" in str(approval_blocks(pending, approvers="<@U9> <!subteam^S1>"))
    for state, words in [("approved", "Approved by <@U2>; running"), ("done", "Done (approved by <@U2>)"),
                         ("failed", "Failed"), ("denied", "Denied by <@U2>"), ("expired", "Expired"),
                         ("void", "Void"), ("interrupted", "Interrupted")]:
        a = _approval(state)
        assert approval_text(a, "<@U9>").startswith(words) and "<@U9>" not in approval_text(a, "<@U9>")
        head = approval_blocks(a)[0]["text"]["text"]
        assert words in head and "Approval needed" not in head and APPROVE not in str(approval_blocks(a))
