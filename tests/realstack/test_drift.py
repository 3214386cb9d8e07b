"""The seed's drift, for real: an added column that Debezium passes on and that breaks the strict Flink job
-> the real Prometheus rule fires -> Alertmanager -> one thread with the real connector status, the Flink
job's health and exception, the schema diff and the ALTER from the binlog -> revert with approval -> Flink
healthy again -> postmortem. The drill is the one `dataflow-bot demo --stack real` runs."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from bot.sandbox.demo import CHANNEL
from bot.sandbox.real_drill import DRIFT_ALERTS, RealDrill
from bot.sandbox.real_stack import DRIFT_COLUMN, RealStack

pytestmark = pytest.mark.realstack


@pytest.mark.covers_step("schema-drift", "rollback-schema")
@pytest.mark.covers_step("schema-drift", "check-flink")
@pytest.mark.covers_step("schema-drift", "validate-data")
def test_the_seed_drift_on_the_real_pipeline(real: RealStack, tmp_path: Path) -> None:
    drill = RealDrill(real, Console(file=io.StringIO()))
    root_ts = drill.run()

    roots = [m for m in real.slack.messages(CHANNEL) if any(a in m.get("text", "") for a in DRIFT_ALERTS)]
    assert len(roots) == 1, [m["text"][:80] for m in roots]         # one incident for the drift
    thread = "\n".join(m.get("text", "") for m in real.slack.replies(CHANNEL, root_ts))
    assert real.connector in thread and "RUNNING" in thread          # Debezium passed the column on
    assert f"unknown column {DRIFT_COLUMN}" in thread                # the job's own exception, from Flink
    assert DRIFT_COLUMN in thread.split("*Schema*")[1]               # the diff
    assert f"ADD COLUMN {DRIFT_COLUMN}" in thread and "binlog" in thread.lower()   # the ALTER, found
    assert "approved by <@U0BOB>" in thread.lower() or "<@U0BOB>" in thread
    assert DRIFT_COLUMN not in real.columns()                        # reverted on the real MariaDB
    assert real.flink_healthy(stable_s=10)                           # and the job runs again

    markdown = drill.postmortem(tmp_path).read_text()
    assert f"DROP COLUMN `{DRIFT_COLUMN}`" in markdown and "Bob" in markdown
    assert f"ADD COLUMN {DRIFT_COLUMN}" in markdown                  # the root cause, from the binlog
