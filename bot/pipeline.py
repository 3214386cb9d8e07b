"""The lineage config (PIPELINE_FILE): which table feeds which connector, topic and Flink jobs."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bot.errors import ConfigError

_QUALIFIED = re.compile(r"^[A-Za-z0-9_$]{1,64}\.[A-Za-z0-9_$]{1,64}$")


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
        """The pipeline an alert is about, from its table/connector/topic/job labels."""
        table = _join(labels.get("schema") or labels.get("db"), labels.get("table"))
        jobs = {_job_key(labels[k]) for k in ("job_name", "flink_job") if labels.get(k)}
        for pipeline in self.pipelines:
            if table and table in pipeline.tables:
                return pipeline
            if labels.get("connector") in pipeline.connectors:
                return pipeline
            if labels.get("topic") in pipeline.topics:
                return pipeline
            if jobs & {_job_key(j) for j in pipeline.flink_jobs}:
                return pipeline
        return None

    def for_table(self, table: str) -> Pipeline | None:
        return next((p for p in self.pipelines if table in p.tables), None)

    def watched_tables(self) -> list[str]:
        return sorted({t for p in self.pipelines for t in p.tables})


def _job_key(name: str) -> str:
    """Flink's Prometheus reporter may turn '-' and spaces in job names into '_': compare without them."""
    return name.replace("-", "_").replace(" ", "_").lower()


def _join(db: str | None, table: str | None) -> str | None:
    if db and table and "." not in table:
        return f"{db}.{table}"
    return table


def load_lineage(path: str | Path) -> Lineage:
    """Read and validate the lineage file; ConfigError names the file and what is wrong."""
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except FileNotFoundError as exc:
        raise ConfigError([f"PIPELINE_FILE: {path} does not exist"]) from exc
    except yaml.YAMLError as exc:
        raise ConfigError([f"PIPELINE_FILE: {path} is not valid YAML: {exc}"]) from exc
    try:
        return Lineage.model_validate(raw)
    except ValidationError as exc:
        errors = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ConfigError([f"PIPELINE_FILE: {path} is invalid: {errors}"]) from exc
