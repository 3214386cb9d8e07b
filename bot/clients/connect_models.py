"""Kafka Connect REST payloads as pydantic models (apache/kafka `connect_rest.yaml`, checked against
the captures of a real Connect 3.9 + Debezium 3.0 in tests/fixtures/captures/connect/).

Lenient on purpose: unknown fields are ignored (Connect adds some between versions). Connector configs
are read into `CaptureConfig`, which keeps only the keys that say what a connector captures:
`database.password` and every other secret are dropped while parsing, never stored.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, RootModel, TypeAdapter


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


class ServerInfo(_Wire):
    """GET /"""

    version: str
    commit: str = ""
    kafka_cluster_id: str | None = None


class InstanceState(_Wire):
    state: str
    worker_id: str = ""
    trace: str | None = None


class TaskState(InstanceState):
    id: int


class ConnectorStateInfo(_Wire):
    """GET /connectors/{name}/status, and the body of a 202 restart."""

    name: str
    connector: InstanceState
    tasks: list[TaskState]
    type: str = "unknown"


class ConnectorTaskId(_Wire):
    connector: str
    task: int


# Debezium snapshot modes that rebuild a missing schema history at start instead of failing on it.
HISTORY_REBUILDING_SNAPSHOT_MODES = frozenset({"recovery", "schema_only_recovery", "when_needed"})


class CaptureConfig(_Wire):
    """What a connector captures and where it writes: the only config keys the bot keeps."""

    connector_class: str = Field("", alias="connector.class")
    topic_prefix: str | None = Field(None, alias="topic.prefix")            # Debezium 2.x+
    server_name: str | None = Field(None, alias="database.server.name")     # Debezium 1.x
    database_include: str | None = Field(None, alias="database.include.list")
    database_exclude: str | None = Field(None, alias="database.exclude.list")
    table_include: str | None = Field(None, alias="table.include.list")
    table_exclude: str | None = Field(None, alias="table.exclude.list")
    database_whitelist: str | None = Field(None, alias="database.whitelist")  # Debezium 1.x names
    table_whitelist: str | None = Field(None, alias="table.whitelist")
    topics: str | None = None                                                # a sink's input topics
    # "true" lets Debezium step over a DDL its parser rejects (what a restart after one needs).
    skip_unparseable_ddl: str | None = Field(None, alias="schema.history.internal.skip.unparseable.ddl")
    snapshot_mode: str | None = Field(None, alias="snapshot.mode")

    @property
    def skips_unparseable_ddl(self) -> bool:
        return (self.skip_unparseable_ddl or "").strip().lower() == "true"

    @property
    def rebuilds_missing_history(self) -> bool:
        """A start with offsets but no schema history rebuilds it from the tables instead of failing
        (Debezium's snapshotters whose shouldSnapshotOnSchemaError() is true)."""
        return (self.snapshot_mode or "").strip().lower() in HISTORY_REBUILDING_SNAPSHOT_MODES


class ConnectorInfo(_Wire):
    """GET /connectors/{name}, and `info` of GET /connectors?expand=info."""

    name: str
    config: CaptureConfig
    tasks: list[ConnectorTaskId] = Field(default_factory=list)
    type: str = "unknown"


class TaskInfo(_Wire):
    """One entry of GET /connectors/{name}/tasks."""

    id: ConnectorTaskId
    config: CaptureConfig


class PluginInfo(_Wire):
    """One entry of GET /connector-plugins."""

    class_name: str = Field(alias="class")
    type: str
    version: str | None = None


class ExpandedConnector(_Wire):
    status: ConnectorStateInfo | None = None
    info: ConnectorInfo | None = None


class ExpandedConnectors(RootModel[dict[str, ExpandedConnector]]):
    """GET /connectors?expand=status&expand=info"""


class SourceOffset(_Wire):
    """One entry of GET /connectors/{name}/offsets (Connect 3.6+, KIP-875). A binlog connector's
    offset names the file and the position it resumes from (a restart reads again from there)."""

    partition: dict[str, object] = Field(default_factory=dict)
    offset: dict[str, object] | None = None

    @property
    def binlog_position(self) -> tuple[str, int] | None:
        file, pos = (self.offset or {}).get("file"), (self.offset or {}).get("pos")
        if isinstance(file, str) and isinstance(pos, int | str) and str(pos).isdigit():
            return file, int(pos)
        return None


class ConnectorOffsets(_Wire):
    offsets: list[SourceOffset] = Field(default_factory=list)


class ErrorMessage(_Wire):
    error_code: int
    message: str


CONNECTOR_NAMES: TypeAdapter[list[str]] = TypeAdapter(list[str])
TASKS: TypeAdapter[list[TaskInfo]] = TypeAdapter(list[TaskInfo])
PLUGINS: TypeAdapter[list[PluginInfo]] = TypeAdapter(list[PluginInfo])
