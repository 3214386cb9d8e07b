"""Enrichment: every backend asked in parallel, each with its own timeout, each its own thread reply."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from datetime import UTC, datetime

from bot.backends import baseline_store, connect_client, flink_client
from bot.blocks.enrichment import Enrichment, connector_text, failure_text, flink_text, logs_text
from bot.clients.docker_logs import ContainerLogs
from bot.deps import Deps
from bot.errors import BackendError, NotFoundError
from bot.incidents.poster import ThreadPoster
from bot.log import get_logger
from bot.metrics import ENRICHMENT
from bot.models import Incident
from bot.postmortem import record_forensics
from bot.schema.baseline import BaselineStore
from bot.schema.render import render_diff_text
from bot.schema.report import build_report, report_text

log = get_logger(__name__)
Enricher = Callable[[Deps, Incident], list[Enrichment]]
FORENSICS_LOOKBACK_SECONDS = 24 * 3600   # the drift usually happened shortly before the alert
LOG_PATTERN = "schema"


def incident_connectors(deps: Deps, inc: Incident) -> list[str]:
    pipeline = deps.lineage.by_name(inc.pipeline) if inc.pipeline else None
    if pipeline and pipeline.connectors:
        return list(pipeline.connectors)
    return [inc.labels["connector"]] if inc.labels.get("connector") else []


def incident_jobs(deps: Deps, inc: Incident) -> list[str]:
    pipeline = deps.lineage.by_name(inc.pipeline) if inc.pipeline else None
    if pipeline and pipeline.flink_jobs:
        return list(pipeline.flink_jobs)
    return [v for k in ("job_name", "flink_job") if (v := inc.labels.get(k))]


def enrich_connect(deps: Deps, inc: Incident) -> list[Enrichment]:
    client = connect_client(deps.settings)
    if client is None:
        return [Enrichment("connect", ":grey_question: *Kafka Connect*: not configured (set CONNECT_URL).")]
    names = incident_connectors(deps, inc)
    if not names:
        return [Enrichment("connect", ":grey_question: *Kafka Connect*: no connector is known for this incident "
                                      "(no `connector` label, and the pipeline file names none).")]
    with client:
        return [_one_connector(client, name) for name in names]


def _one_connector(client: object, name: str) -> Enrichment:
    try:
        return connector_text(client.status(name))  # type: ignore[attr-defined]
    except NotFoundError:
        return Enrichment("connect", f":grey_question: *Kafka Connect*: connector `{name}` does not exist.")


def enrich_flink(deps: Deps, inc: Incident) -> list[Enrichment]:
    client = flink_client(deps.settings)
    if client is None:
        return [Enrichment("flink", ":grey_question: *Flink*: not configured (set FLINK_URL).")]
    names = incident_jobs(deps, inc)
    if not names:
        return [Enrichment("flink", ":grey_question: *Flink*: no job is known for this incident.")]
    results = []
    with client:
        for name in names:
            try:
                results.append(flink_text(client.job_health(name), deps.settings.display_tz))
            except NotFoundError:
                results.append(Enrichment("flink", f":grey_question: *Flink*: no job named `{name}`."))
    return results


def incident_tables(deps: Deps, inc: Incident) -> list[str]:
    pipeline = deps.lineage.by_name(inc.pipeline) if inc.pipeline else None
    if pipeline:
        return list(pipeline.tables)
    table = inc.labels.get("table")
    return [table] if table and table in deps.lineage.watched_tables() else []


def enrich_schema(deps: Deps, inc: Incident) -> list[Enrichment]:
    mysql_url = deps.settings.mysql_url.get_secret_value() if deps.settings.mysql_url else ""
    if not mysql_url:
        return [Enrichment("schema", ":grey_question: *MySQL*: not configured (set MYSQL_URL).")]
    tables = incident_tables(deps, inc)
    if not tables:
        return [Enrichment("schema", ":grey_question: *Schema*: no watched table is known for this incident.")]
    since = datetime.fromtimestamp(inc.opened_at - FORENSICS_LOOKBACK_SECONDS, UTC)
    store = baseline_store(deps.settings, deps.store.r)
    return [_schema_one(mysql_url, store, deps, inc.id, table, since) for table in tables]


def _schema_one(mysql_url: str, store: BaselineStore, deps: Deps, inc_id: str, table: str,
                since: datetime) -> Enrichment:
    report = build_report(mysql_url, store, deps.lineage, table, since)
    if report.forensics is not None:
        record_forensics(deps.store, inc_id, report.forensics)   # the postmortem's root cause
    return Enrichment("schema", report_text(report, render_diff_text(report.diff)))


def enrich_logs(deps: Deps, inc: Incident) -> list[Enrichment]:
    pipeline = deps.lineage.by_name(inc.pipeline) if inc.pipeline else None
    services = list(pipeline.log_services) if pipeline else ["connect"]
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
                                  "logs": enrich_logs}
BACKEND_NAMES = {"connect": "Kafka Connect", "flink": "Flink", "schema": "MySQL", "logs": "Docker"}


def enrich_incident(deps: Deps, poster: ThreadPoster, inc: Incident, entry_id: str) -> None:
    """One reply per backend; a backend that fails or hangs gives a line saying which, where and why."""
    timeout = deps.settings.enrich_timeout_seconds + 1.0
    with ThreadPoolExecutor(max_workers=len(ENRICHERS), thread_name_prefix="enrich") as pool:
        futures = {name: pool.submit(_timed, name, fn, deps, inc) for name, fn in ENRICHERS.items()}
        wait(futures.values(), timeout=timeout)
        for name, future in futures.items():
            for i, item in enumerate(_results(deps, name, future, timeout)):
                _post(deps, poster, inc, f"enrich:{name}:{i}:{entry_id}", item)


def _timed(name: str, fn: Enricher, deps: Deps, inc: Incident) -> list[Enrichment]:
    with ENRICHMENT.labels(name, "any").time():
        return fn(deps, inc)


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


def _post(deps: Deps, poster: ThreadPoster, inc: Incident, kind: str, item: Enrichment) -> None:
    text = deps.redactor.text(item.text)
    ts = poster.reply(inc, kind, text)
    if item.file and not deps.store.post_ts(inc.id, kind + ":file"):
        name, content = item.file
        deps.slack.files_upload_v2(channel=inc.channel, thread_ts=inc.root_ts, filename=name, title=name,
                                   content=deps.redactor.text(content))
        deps.store.record_post(inc.id, kind + ":file", ts)
