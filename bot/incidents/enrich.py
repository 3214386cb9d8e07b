"""Enrichment: every backend asked in parallel, each with its own timeout; their replies in as few thread
messages as fit (bot/blocks/enrichment.pack), each reply its own event on the timeline."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from datetime import UTC, datetime

from bot.backends import baseline_store, connect_client, flink_client
from bot.blocks.enrichment import (
    SEPARATOR,
    Enrichment,
    connector_text,
    failure_text,
    flink_text,
    logs_text,
    pack,
)
from bot.blocks.links import incident_links, link_bases, links_line
from bot.clients.docker_logs import ContainerLogs
from bot.deps import Deps
from bot.errors import BackendError, NotFoundError
from bot.graphs.incident import enrich_graph
from bot.incidents.poster import ThreadPoster
from bot.incidents.storm import note_facts
from bot.log import get_logger
from bot.metrics import ENRICHMENT
from bot.models import Incident
from bot.postmortem import record_forensics
from bot.schema.baseline import BaselineStore
from bot.schema.render import render_diff_text
from bot.schema.report import build_report, report_text
from bot.scope import Scope, incident_scope

log = get_logger(__name__)
Enricher = Callable[[Deps, Incident, Scope], list[Enrichment]]
FORENSICS_LOOKBACK_SECONDS = 24 * 3600   # the drift usually happened shortly before the alert
LOG_PATTERN = "schema"


def _notes(scope: Scope, about: str, title: str, known: bool) -> list[Enrichment]:
    return [Enrichment(about, f":grey_question: *{title}*: {text}.") for text in scope.notes_about(about, known)]


def enrich_connect(deps: Deps, inc: Incident, scope: Scope) -> list[Enrichment]:
    client = connect_client(deps.settings)
    if client is None:
        return [Enrichment("connect", ":grey_question: *Kafka Connect*: not configured (set CONNECT_URL).")]
    notes = _notes(scope, "connect", "Kafka Connect", bool(scope.connectors))
    if not scope.connectors:
        return notes or [Enrichment("connect", ":grey_question: *Kafka Connect*: no connector is known for this "
                                               "incident (no `connector` label, no pipeline file entry, and no "
                                               "connector captures its tables).")]
    with client:
        return [_one_connector(client, name) for name in scope.connectors] + notes


def _one_connector(client: object, name: str) -> Enrichment:
    try:
        return connector_text(client.status(name))  # type: ignore[attr-defined]
    except NotFoundError:
        return Enrichment("connect", f":grey_question: *Kafka Connect*: connector `{name}` does not exist.")


def enrich_flink(deps: Deps, inc: Incident, scope: Scope) -> list[Enrichment]:
    client = flink_client(deps.settings)
    if client is None:
        return [Enrichment("flink", ":grey_question: *Flink*: not configured (set FLINK_URL).")]
    notes = _notes(scope, "flink", "Flink", bool(scope.flink_jobs))
    if not scope.flink_jobs:
        return notes or [Enrichment("flink", ":grey_question: *Flink*: no job is known for this incident.")]
    results = []
    with client:
        for name in scope.flink_jobs:
            try:
                results.append(flink_text(client.job_health(name), deps.settings.display_tz))
            except NotFoundError:
                results.append(Enrichment("flink", f":grey_question: *Flink*: no job named `{name}`."))
    return results + notes


def enrich_schema(deps: Deps, inc: Incident, scope: Scope) -> list[Enrichment]:
    mysql_url = deps.settings.mysql_url.get_secret_value() if deps.settings.mysql_url else ""
    if not mysql_url:
        return [Enrichment("schema", ":grey_question: *MySQL*: not configured (set MYSQL_URL).")]
    if not scope.tables:
        return [Enrichment("schema", ":grey_question: *Schema*: no table is known for this incident.")]
    since = datetime.fromtimestamp(inc.opened_at - FORENSICS_LOOKBACK_SECONDS, UTC)
    store = baseline_store(deps.settings, deps.store.r)
    return [_schema_one(mysql_url, store, deps, inc.id, table, since, scope) for table in scope.tables]


def _schema_one(mysql_url: str, store: BaselineStore, deps: Deps, inc_id: str, table: str,
                since: datetime, scope: Scope) -> Enrichment:
    report = build_report(mysql_url, store, deps.lineage, table, since, also=scope.tables,
                          timeout=deps.settings.enrich_timeout_seconds)
    if report.forensics is not None:
        record_forensics(deps.store, inc_id, report.forensics)   # the postmortem's root cause
    return Enrichment("schema", report_text(report, render_diff_text(report.diff)))


def enrich_logs(deps: Deps, inc: Incident, scope: Scope) -> list[Enrichment]:
    services = scope.log_services
    logs = ContainerLogs(deps.settings.docker_host, timeout=deps.settings.enrich_timeout_seconds)
    results = []
    try:
        for service in services:
            excerpt = logs.grep(service, pattern=LOG_PATTERN, limit=200)
            lines = [f"{line.timestamp.isoformat() if line.timestamp else '-'} {line.text}" for line in excerpt.lines]
            results.append(logs_text(excerpt.container, service, LOG_PATTERN, lines, excerpt.scanned))
    finally:
        logs.close()
    return results


ENRICHERS: dict[str, Enricher] = {"connect": enrich_connect, "flink": enrich_flink, "schema": enrich_schema,
                                  "logs": enrich_logs, "graph": enrich_graph}
BACKEND_NAMES = {"connect": "Kafka Connect", "flink": "Flink", "schema": "MySQL", "logs": "Docker",
                 "graph": "Prometheus"}


def enrich_incident(deps: Deps, poster: ThreadPoster, inc: Incident, entry_id: str) -> None:
    """One reply per backend; a backend that fails or hangs gives a line saying which, where and why."""
    timeout = deps.settings.enrich_timeout_seconds + 1.0
    scope = incident_scope(deps, inc)       # discovery is cached, bounded and never raises
    # Not `with`: leaving it would wait for a hung backend's call. A timed-out call is reported now, and
    # its thread ends when the client's own timeout fires.
    pool = ThreadPoolExecutor(max_workers=len(ENRICHERS), thread_name_prefix="enrich")
    try:
        futures = {name: pool.submit(_timed, name, fn, deps, inc, scope) for name, fn in ENRICHERS.items()}
        wait(futures.values(), timeout=timeout)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    parts = [(f"enrich:{name}:{i}:{entry_id}", item) for name, future in futures.items()
             for i, item in enumerate(_results(deps, name, future, timeout))]
    if links := incident_links(inc, link_bases(deps.settings)):   # where to look next, after the facts
        parts.append((f"enrich:links:0:{entry_id}", Enrichment("links", ":link: *Links*: " + links_line(links))))
    _post(poster, inc, entry_id, parts)
    note_facts(deps, inc, [fact for _, item in parts for fact in item.facts])


def _timed(name: str, fn: Enricher, deps: Deps, inc: Incident, scope: Scope) -> list[Enrichment]:
    with ENRICHMENT.labels(name, "any").time():
        return fn(deps, inc, scope)


def _results(deps: Deps, name: str, future: Future[list[Enrichment]], timeout: float) -> list[Enrichment]:
    if not future.done():
        ENRICHMENT.labels(name, "timeout").observe(timeout)
        return [Enrichment(name, failure_text(BACKEND_NAMES[name], _where(deps, name), f"timed out after {timeout:.0f} s"))]
    exc = future.exception()
    if isinstance(exc, BackendError):
        return [Enrichment(name, failure_text(exc.backend, exc.where, exc.reason))]
    if exc is not None:
        log.error("enrichment failed", backend=name, error=deps.redactor.text(repr(exc)))
        return [Enrichment(name, f":warning: *{BACKEND_NAMES[name]}*: could not be checked ({type(exc).__name__}).")]
    return future.result()


def _where(deps: Deps, name: str) -> str:
    s = deps.settings
    mysql = "(MYSQL_URL)" if s.mysql_url else None
    return {"connect": s.connect_url, "flink": s.flink_url, "logs": s.docker_host, "schema": mysql}.get(name) or "(default)"


def _post(poster: ThreadPoster, inc: Incident, entry_id: str, parts: list[tuple[str, Enrichment]]) -> None:
    """The replies in as few messages as fit (pack); each reply is still its own event on the timeline, under
    its own kind (`enrich:<backend>:<i>:<entry>`), which the postmortem reads."""
    for m, group in enumerate(pack([item.text for _, item in parts])):
        chosen = [parts[j] for j in group]
        poster.reply(inc, f"enrich:message:{m}:{entry_id}", SEPARATOR.join(item.text for _, item in chosen),
                     parts=[(kind, item.text) for kind, item in chosen])
        for kind, item in chosen:
            if item.file:
                poster.upload_once(inc, kind + ":file", *item.file)
