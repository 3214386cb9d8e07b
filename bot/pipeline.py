"""The lineage config (PIPELINE_FILE): which table feeds which connector, topic and Flink jobs."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from bot.errors import ConfigError

_QUALIFIED = re.compile(r"^[A-Za-z0-9_$]{1,64}\.[A-Za-z0-9_$]{1,64}$")
_PROMETHEUS_UNSAFE = re.compile(r"[^A-Za-z0-9_:]")
# Without PIPELINE_FILE set, this file is read when it exists; its absence is not an error.
DEFAULT_PIPELINE_FILE = Path("config/pipelines.yml")


class FlinkSubmission(BaseModel):
    """How a Flink job is submitted (POST /jars/<id>/run), so the bot can resubmit it from a savepoint or
    checkpoint: the jar as uploaded to the JobManager (found by file name in GET /jars), its entry class,
    program arguments and parallelism (None: the cluster's default), and where its savepoints go."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    jar: str = Field(pattern=r"^[^/\\]{1,200}\.jar$")
    entry_class: str = Field(pattern=r"^[A-Za-z_$][A-Za-z0-9_$]*(\.[A-Za-z_$][A-Za-z0-9_$]*)*$", max_length=300)
    program_args: list[str] = Field(default_factory=list)
    parallelism: int | None = Field(default=None, ge=1, le=32768)
    # Where stop-with-savepoint writes (targetDirectory); None: the cluster's execution.checkpointing.savepoint-dir.
    savepoint_dir: str | None = Field(default=None, min_length=1, max_length=500)


class Pipeline(BaseModel):
    """One CDC pipeline: MySQL tables -> Debezium connector(s) -> topics -> Flink job(s)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    tables: list[str] = Field(min_length=1)
    connectors: list[str] = Field(default_factory=list)
    topics: list[str] = Field(default_factory=list)
    flink_jobs: list[str] = Field(default_factory=list)
    log_services: list[str] = Field(default_factory=lambda: ["connect"])
    validation_queries: list[str] = Field(default_factory=list)
    # Flink job name -> how to resubmit it (the flink-restarting runbook's restart step needs it).
    flink_submit: dict[str, FlinkSubmission] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _submissions_name_jobs(self) -> Pipeline:
        unknown = sorted(set(self.flink_submit) - set(self.flink_jobs))
        if unknown:
            raise ValueError(f"flink_submit names {unknown}, which are not in flink_jobs {self.flink_jobs}")
        return self

    @field_validator("tables")
    @classmethod
    def _qualified_tables(cls, tables: list[str]) -> list[str]:
        for table in tables:
            if not _QUALIFIED.match(table):
                raise ValueError(f"table {table!r} must be 'db.table' with [A-Za-z0-9_$] names")
        return tables


class Lineage(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    pipelines: list[Pipeline] = Field(default_factory=list)

    def by_name(self, name: str) -> Pipeline | None:
        return next((p for p in self.pipelines if p.name == name), None)

    def for_labels(self, labels: dict[str, str]) -> Pipeline | None:
        """The pipeline an alert is about, from its table/connector/topic/topic_prefix/job labels."""
        table = _join(labels.get("schema") or labels.get("db"), labels.get("table"))
        jobs = {prometheus_name(labels[k]) for k in ("job_name", "flink_job") if labels.get(k)}
        for pipeline in self.pipelines:
            if table and table in pipeline.tables:
                return pipeline
            if labels.get("connector") in pipeline.connectors:
                return pipeline
            if labels.get("topic") in pipeline.topics:
                return pipeline
            # Debezium's own metrics know its topic.prefix, not the connector (DebeziumLagHigh).
            if labels.get("topic_prefix") in topic_prefixes(tuple(pipeline.topics)):
                return pipeline
            if jobs & {prometheus_name(j) for j in pipeline.flink_jobs}:
                return pipeline
        return None

    def for_table(self, table: str) -> Pipeline | None:
        return next((p for p in self.pipelines if table in p.tables), None)

    def submission_for(self, job: str) -> FlinkSubmission | None:
        """How the Flink job of this name is submitted, when a pipeline says."""
        return next((p.flink_submit[job] for p in self.pipelines if job in p.flink_submit), None)

    def watched_tables(self) -> list[str]:
        return sorted({t for p in self.pipelines for t in p.tables})


def topic_prefixes(topics: tuple[str, ...]) -> list[str]:
    """Debezium's `topic.prefix` (the `name` label of its metrics) from `<prefix>.<db>.<table>` topics."""
    return list(dict.fromkeys(t.rsplit(".", 2)[0] for t in topics if t.count(".") >= 2))


def prometheus_name(name: str) -> str:
    """A name as Flink's Prometheus reporter writes it into a label: every character outside
    [A-Za-z0-9_:] becomes '_' (job "cdc-orders-enrich" -> job_name="cdc_orders_enrich")."""
    return _PROMETHEUS_UNSAFE.sub("_", name)


def _join(db: str | None, table: str | None) -> str | None:
    if db and table and "." not in table:
        return f"{db}.{table}"
    return table


def load_lineage(path: str | Path | None) -> Lineage:
    """Read and validate the lineage file; ConfigError names the file and what is wrong.

    The file is optional: None (PIPELINE_FILE set empty) or a missing file at the default path give no
    pipelines, and the scope of an incident comes from its alerts and discovery alone. A file named
    explicitly must exist.
    """
    if path is None or str(path) == "":
        return Lineage()
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except FileNotFoundError as exc:
        if Path(path) == DEFAULT_PIPELINE_FILE:
            return Lineage()
        raise ConfigError([f"PIPELINE_FILE: {path} does not exist"]) from exc
    except yaml.YAMLError as exc:
        raise ConfigError([f"PIPELINE_FILE: {path} is not valid YAML: {exc}"]) from exc
    try:
        return Lineage.model_validate(raw)
    except ValidationError as exc:
        errors = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ConfigError([f"PIPELINE_FILE: {path} is invalid: {errors}"]) from exc
