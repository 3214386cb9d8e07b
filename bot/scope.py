"""What does an incident concern? One answer, used by enrichment, runbooks, commands and the postmortem.

The scope of an incident is the union of three sources, in this order of precedence (the first name of
each kind is what a runbook step targets):
1. the alerts' own labels (`table`/`schema`/`db`, `connector`, `topic`, `job_name`/`flink_job`);
2. the pipeline file (PIPELINE_FILE), when one of its pipelines matches: it adds what discovery cannot
   know (topics of non-Debezium flows, log services, validation queries) and its names come before
   discovered ones;
3. discovery (bot/discovery.py): the Debezium connectors that capture the scope's tables or write its
   topics, and the Flink jobs whose names match the labels as Prometheus sanitizes them.
Names that discovery proves absent (a connector Connect does not have) are left out, with a note.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict

from bot.discovery import Discovery, Note, discover
from bot.models import Incident
from bot.pipeline import Lineage, Pipeline, prometheus_name

if TYPE_CHECKING:
    from bot.deps import Deps

_QUALIFIED = re.compile(r"^[A-Za-z0-9_$]{1,64}\.[A-Za-z0-9_$]{1,64}$")
DEFAULT_LOG_SERVICES = ("connect",)


class Scope(BaseModel):
    """The connectors, tables (db.table), topics, Flink jobs and log services an incident concerns."""

    model_config = ConfigDict(frozen=True)

    pipeline: str | None = None              # the pipeline file's name for it, if it has one
    tables: tuple[str, ...] = ()
    connectors: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()
    flink_jobs: tuple[str, ...] = ()
    log_services: tuple[str, ...] = DEFAULT_LOG_SERVICES
    validation_queries: tuple[str, ...] = ()
    notes: tuple[Note, ...] = ()             # what could not be discovered, or was named but is not there

    def notes_about(self, about: str, known: bool) -> list[str]:
        """Notes on one backend; when the scope knows names there, only the ones about absent names."""
        return [n.text for n in self.notes if n.about == about and (n.absent or not known)]

    def first(self, kind: str) -> str:
        """The target of a runbook step: the first table, connector, topic, job or log service."""
        values = {"table": self.tables, "connector": self.connectors, "topic": self.topics,
                  "job": self.flink_jobs, "service": self.log_services}[kind]
        return values[0] if values else ""


def _unique(*groups: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v for group in groups for v in group if v))


def label_table(labels: Mapping[str, str]) -> str | None:
    """`table="oltp.orders"`, or `schema`/`db` + a bare `table`; None unless it is a valid db.table."""
    table, db = labels.get("table"), labels.get("schema") or labels.get("db")
    if table and db and "." not in table:
        table = f"{db}.{table}"
    return table if table and _QUALIFIED.match(table) else None


def _from_labels(labels: Sequence[Mapping[str, str]]) -> dict[str, tuple[str, ...]]:
    return {"tables": _unique(t for one in labels if (t := label_table(one))),
            "connectors": _unique(one.get("connector", "") for one in labels),
            "topics": _unique(one.get("topic", "") for one in labels),
            "jobs": _unique(one.get(k, "") for one in labels for k in ("job_name", "flink_job"))}


def _pipeline(lineage: Lineage, name: str | None, labels: Sequence[Mapping[str, str]]) -> Pipeline | None:
    if name and (found := lineage.by_name(name)):
        return found
    return next((p for one in labels if (p := lineage.for_labels(dict(one)))), None)


def resolve_scope(lineage: Lineage, pipeline: str | None, labels: Sequence[Mapping[str, str]],
                  found: Discovery) -> Scope:
    """The scope from the pipeline file, the alerts' labels and what was discovered (pure)."""
    own, p = _from_labels(labels), _pipeline(lineage, pipeline, labels)
    tables = _unique(own["tables"], p.tables if p else ())
    connectors = _unique(own["connectors"], p.connectors if p else ())
    topics = _unique(own["topics"], p.topics if p else ())
    notes: list[Note] = list(found.notes)
    if found.connectors is not None:
        tables, connectors, topics = _connect_scope(found, tables, connectors, topics, notes)
    jobs = _unique(own["jobs"], p.flink_jobs if p else ())
    if found.jobs is not None:
        jobs = _flink_scope(found, jobs, notes)
    return Scope(pipeline=p.name if p else None, tables=tables, connectors=connectors, topics=topics,
                 flink_jobs=jobs, log_services=tuple(p.log_services) if p else DEFAULT_LOG_SERVICES,
                 validation_queries=tuple(p.validation_queries) if p else (), notes=tuple(notes))


def _connect_scope(found: Discovery, tables: tuple[str, ...], connectors: tuple[str, ...],
                   topics: tuple[str, ...], notes: list[Note]) -> tuple[tuple[str, ...], ...]:
    captures = found.connectors or ()
    missing = [c for c in connectors if found.connector(c) is None]
    notes += [Note("connect", f"connector `{c}` is named by the alert or the pipeline file, but Kafka Connect "
                   "has no such connector", absent=True) for c in missing]
    named = [c for c in connectors if c not in missing]
    # A topic names its table (<prefix>.<db>.<table>); a named connector lists its tables, if one by one.
    tables = _unique(tables, (t for topic in topics for c in captures if (t := c.table_of_topic(topic))))
    if not tables:
        tables = _unique(t for name in named if (c := found.connector(name)) for t in c.listed_tables())
    capturing = [c.name for c in captures for t in tables if c.captures(t)]
    topics = _unique(topics, (tp for c in captures if c.name in {*named, *capturing}
                              for t in tables if (tp := c.topic_for(t))))
    readers = [c.name for c in captures if set(c.sink_topics) & set(topics)]
    return tables, _unique(named, capturing, readers), topics


def _flink_scope(found: Discovery, jobs: tuple[str, ...], notes: list[Note]) -> tuple[str, ...]:
    """Label and pipeline names -> real job names, matched as the Prometheus reporter sanitizes them."""
    real = found.job_names()
    matched: list[str] = []
    for name in jobs:
        same = [r for r in real if prometheus_name(r) == prometheus_name(name)]
        matched += same
        if not same:
            notes.append(Note("flink", f"no job named `{name}` (named by the alert or the pipeline file)",
                              absent=True))
    return _unique(matched)


def incident_labels(inc: Incident) -> list[dict[str, str]]:
    """The incident's correlation labels first, then every alert's labels, oldest first."""
    alerts = sorted(inc.alerts.values(), key=lambda a: (a.starts_at, a.fingerprint))
    return [inc.labels, *(a.labels for a in alerts)]


def incident_scope(deps: Deps, inc: Incident, found: Discovery | None = None) -> Scope:
    """THE answer to "what does this incident concern" (discovery is cached and fails soft)."""
    found = found if found is not None else discover(deps.settings)
    return resolve_scope(deps.lineage, inc.pipeline, incident_labels(inc), found)
