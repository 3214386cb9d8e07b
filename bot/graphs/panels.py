"""Which metrics matter for an incident, as PromQL over the incident's scope. Pure.

Each panel reads a series the shipped rules record (monitoring/prometheus/rules), so an exporter that
names a metric differently is a change in the rules, not here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.pipeline import prometheus_name, topic_prefixes
from bot.scope import Scope


@dataclass(frozen=True)
class Panel:
    key: str                   # what `/dataflow graph <key>` names
    title: str
    unit: str
    expr: str
    legend: tuple[str, ...]    # the labels that name a series in the legend


# Order is the pipeline's: source (drift, Debezium) -> Connect -> Flink.
PANEL_KEYS = ("drift", "failed-tasks", "lag", "restarts", "consumer-lag")


def panels_for(scope: Scope, keys: tuple[str, ...] = PANEL_KEYS) -> list[Panel]:
    """The panels for an incident's scope; a scope that names nothing of a kind shows all of that kind."""
    jobs = _matcher("job_name", [prometheus_name(j) for j in scope.flink_jobs])
    builders = {
        "drift": lambda: Panel("drift", "Schema drift: columns differing from the baseline", "columns",
                               _drift_expr(scope.tables), ("schema", "table")),
        "failed-tasks": lambda: Panel("failed-tasks", "Kafka Connect failed tasks", "tasks",
                                      f"dataflow:connect_failed_tasks{_matcher('connector', scope.connectors)}",
                                      ("connector",)),
        "lag": lambda: Panel("lag", "Debezium lag behind the binlog", "seconds",
                             f"dataflow:debezium_lag_seconds{_matcher('name', topic_prefixes(scope.topics))}",
                             ("name",)),
        "restarts": lambda: Panel("restarts", "Flink job restarts", "restarts",
                                  f"sum by (job_name) (flink_jobmanager_job_numRestarts{jobs})", ("job_name",)),
        "consumer-lag": lambda: Panel("consumer-lag", "Flink source records pending (consumer lag)", "records",
                                      f"dataflow:flink_pending_records{jobs}", ("job_name",)),
    }
    return [builders[key]() for key in keys]


def _drift_expr(tables: tuple[str, ...]) -> str:
    pairs = [t.split(".", 1) for t in tables if "." in t]
    if not pairs:
        return "dataflow_schema_drift_columns"
    return " or ".join(f'dataflow_schema_drift_columns{{schema="{_quote(db)}",table="{_quote(tb)}"}}'
                       for db, tb in pairs)


def _matcher(label: str, values: list[str] | tuple[str, ...]) -> str:
    """`{label=~"a|b"}` matching exactly these values, or "" (every series) when there are none."""
    if not values:
        return ""
    pattern = "|".join(re.escape(v) for v in dict.fromkeys(values))
    return f'{{{label}=~"{_quote(pattern)}"}}'


def _quote(text: str) -> str:
    """Inside a PromQL double-quoted string: backslashes and quotes escaped."""
    return text.replace("\\", "\\\\").replace('"', '\\"')
