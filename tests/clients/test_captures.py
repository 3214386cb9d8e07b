"""Every JSON answer captured from a real Kafka Connect 3.9 + Debezium 3.0 and a real Flink 2.3 parses
with its model, and the bot's parsers read the facts out of it.

The captures are copied into tests/fixtures/captures/; when the shared reference folder is there too
(`../shared/reference/real-stack/captures/`), a capture it has and the fixtures lack fails the test.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, TypeAdapter

from bot.clients import connect_models as cm
from bot.clients import flink_control as fc
from bot.clients import flink_models as fm
from bot.clients.connect import parse_status
from bot.clients.flink_parse import (
    parse_jobs_overview,
    parse_last_checkpoint,
    parse_last_exception,
    parse_num_restarts,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "captures"
SHARED = Path(__file__).resolve().parents[3] / "shared" / "reference" / "real-stack" / "captures"

# file name prefix -> the model of that answer (the longest matching prefix wins)
FLINK: dict[str, Any] = {
    "checkpoints_config_": fm.CheckpointConfig, "checkpoints_": fm.CheckpointingStatistics,
    "config": fm.DashboardConfig, "exceptions_": fm.JobExceptions, "job_": fm.JobDetails,
    "jobconfig_": fm.JobConfig, "jobs_overview": fm.JobsOverview, "jobs": fm.JobIds, "metrics_": fm.METRICS,
    "overview": fm.ClusterOverview,
    "control_checkpoints_": fm.CheckpointingStatistics, "control_jars": fc.JarList, "control_run": fc.JarRunResponse,
    "control_savepoint_": fc.SavepointStatus, "control_stop": fc.TriggerResponse,
}
CONNECT: dict[str, Any] = {
    "connector_plugins": cm.PLUGINS, "connectors_expand_": cm.ExpandedConnectors, "connectors": cm.CONNECTOR_NAMES,
    "offsets": cm.ConnectorOffsets, "root": cm.ServerInfo, "status_": cm.ConnectorStateInfo, "task0_status": cm.TaskState, "tasks": cm.TASKS,
}


def model_for(kind: str, name: str) -> Any:
    table = FLINK if kind == "flink" else CONNECT
    prefix = max((p for p in table if name.startswith(p)), key=len, default=None)
    assert prefix is not None, f"no model for capture {kind}/{name}"
    return table[prefix]


def captures() -> list[tuple[str, Path]]:
    return [(kind, path) for kind in ("flink", "connect") for path in sorted((FIXTURES / kind).glob("*.json"))]


def parse(kind: str, path: Path) -> Any:
    model = model_for(kind, path.name)
    data = json.loads(path.read_text(encoding="utf-8"))
    return model.validate_python(data) if isinstance(model, TypeAdapter) else model.model_validate(data)


@pytest.mark.parametrize(("kind", "path"), captures(), ids=lambda v: getattr(v, "name", v))
def test_every_capture_parses_with_its_model(kind: str, path: Path) -> None:
    parsed = parse(kind, path)
    assert parsed is not None
    assert "dbz" not in repr(parsed)            # the connector's database.password is never kept


def test_the_fixtures_hold_every_shared_capture() -> None:
    if not SHARED.is_dir():
        pytest.skip("no shared reference folder beside the repository")
    shared = {p.name for p in SHARED.glob("*.json")} | {"connect/" + p.name for p in SHARED.glob("connect/*.json")}
    ours = {p.name for p in (FIXTURES / "flink").glob("*.json")} | {
        "connect/" + p.name for p in (FIXTURES / "connect").glob("*.json")}
    assert shared <= ours


def load(kind: str, name: str) -> Any:
    return json.loads((FIXTURES / kind / name).read_text(encoding="utf-8"))


def test_flink_facts_from_the_real_answers() -> None:
    jobs = parse_jobs_overview(load("flink", "jobs_overview.json"))
    assert (jobs[0].name, jobs[0].state) == ("cdc-doomed", "FAILED")     # newest first
    assert {j.name for j in jobs} == {"cdc-doomed", "cdc-healthy", "cdc-orders-enrich"}
    assert parse_num_restarts(load("flink", "metrics_numRestarts_loop.json")) == 10
    assert parse_num_restarts([]) is None                                        # unknown job: 200 []
    failed = parse_last_exception(load("flink", "exceptions_failed.json"))
    assert failed is not None and "Recovery is suppressed" in failed.message
    assert failed.task_name and failed.task_name.startswith("Source: cdc-orders")   # from concurrentExceptions
    assert parse_last_exception(load("flink", "exceptions_healthy.json")) is None
    checkpoint = parse_last_checkpoint(load("flink", "checkpoints_loop.json"))
    assert checkpoint is not None and (checkpoint.id, checkpoint.failed_total) == (9, 21)
    details = fm.JobDetails.model_validate(load("flink", "job_loop.json"))
    assert len(details.timestamps) == 11 and details.timestamps["FAILING"] == 0


def test_nan_percentiles_and_a_job_without_checkpointing() -> None:
    body = load("flink", "checkpoints_healthy.json")
    body["summary"]["end_to_end_duration"]["p99"] = "NaN"
    stats = fm.CheckpointingStatistics.model_validate(body)
    assert math.isnan(stats.summary["end_to_end_duration"].p99 or 0.0)
    empty = {"counts": {"restored": 0, "total": 0, "in_progress": 0, "completed": 0, "failed": 0},
             "summary": {}, "latest": {"completed": None, "savepoint": None, "failed": None, "restored": None},
             "history": []}
    assert parse_last_checkpoint(empty) is None


def test_connect_facts_from_the_real_answers() -> None:
    status = parse_status(load("connect", "status_ddl.json"))
    assert status.failed_tasks and "ParsingException" in (status.failed_tasks[0].trace or "")
    paused = parse_status(load("connect", "status_paused.json"))
    assert (paused.state, paused.tasks[0].state, paused.type) == ("PAUSED", "PAUSED", "source")
    expanded = cm.ExpandedConnectors.model_validate(load("connect", "connectors_expand_status_info.json"))
    info = expanded.root["inventory-connector"].info
    assert info is not None and info.config.topic_prefix == "dbserver1"
    assert info.config.database_include == "inventory"
    assert "password" not in json.dumps(info.model_dump(by_alias=True))


def test_models_ignore_fields_a_newer_version_adds() -> None:
    body = {**load("connect", "root.json"), "new_field": {"x": 1}}
    assert cm.ServerInfo.model_validate(body).version == "3.9.0"
    assert isinstance(cm.ServerInfo.model_validate(body), BaseModel)


def test_a_binlog_connectors_offset_names_where_it_resumes() -> None:
    offsets = cm.ConnectorOffsets.model_validate(load("connect", "offsets.json")).offsets
    assert offsets[0].binlog_position == ("mysql-bin.000003", 5363)
    assert cm.SourceOffset(partition={}, offset=None).binlog_position is None
    assert cm.SourceOffset(offset={"file": "f", "pos": "oops"}).binlog_position is None
