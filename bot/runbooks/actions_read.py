"""Read-only actions: they look, they never change anything."""

from __future__ import annotations

import time
from typing import Any

import pymysql

from bot.backends import baseline_store, require_connect, require_flink
from bot.blocks.common import escape
from bot.blocks.enrichment import connector_text, failure_text, flink_text, logs_text
from bot.clients.docker_logs import ContainerLogs
from bot.clients.flink_parse import JobHealth
from bot.clients.mysql import connect
from bot.debezium import TraceDiagnosis, classify_trace, unparseable_statement
from bot.errors import BackendError, ConfigError, UserInputError
from bot.graphs.fetch import Budget, fetch_lag
from bot.graphs.incident import lag_text, prometheus_for
from bot.runbooks.actions import Outcome, Plan, action
from bot.runbooks.context import StepContext
from bot.runbooks.restart_safety import ddl_restart_blockers, history_restart_blockers
from bot.runbooks.skip_risk import SkipRisk, running_again
from bot.schema.render import render_diff_text
from bot.schema.report import build_report, report_text

MAX_ROWS = 20

POLL_SECONDS = 3.0  # check-flink asks the JobManager this often while it waits


def mysql_url(ctx: StepContext) -> str:
    url = ctx.deps.settings.mysql_url
    if url is None:
        raise ConfigError(["MYSQL_URL is not set: the bot cannot reach the pipeline's MySQL"])
    return url.get_secret_value()


def _guard(func: Any) -> Any:
    """A backend that does not answer is a failed outcome with its reason, not an exception."""

    def wrapped(ctx: StepContext, params: dict[str, str], plan: Plan | None) -> Outcome:
        try:
            result: Outcome = func(ctx, params, plan)
            return result
        except BackendError as exc:
            return Outcome(False, failure_text(exc.backend, exc.where, exc.reason))

    return wrapped


@action("connect.status")
@_guard
def connect_status(ctx: StepContext, params: dict[str, str], plan: Plan | None) -> Outcome:
    with require_connect(ctx.deps.settings) as client:
        names = [params["connector"]] if params.get("connector") else sorted(client.statuses())
        statuses = [client.status(name) for name in names]
    parts = [connector_text(s) for s in statuses]
    files = [p.file for p in parts if p.file]
    shown = {s.name for s in statuses}
    warnings = [skip_warning(r) for r in running_again(ctx.deps, ctx.incident) if r.connector in shown]
    return Outcome(all(s.is_healthy for s in statuses), "\n\n".join([*(p.text for p in parts), *warnings]), files)


@action("connect.running")
@_guard
def connect_running(ctx: StepContext, params: dict[str, str], plan: Plan | None) -> Outcome:
    with require_connect(ctx.deps.settings) as client:
        status = client.status(params["connector"])
    mark = ":white_check_mark:" if status.is_healthy else ":x:"
    return Outcome(status.is_healthy, f"{mark} `{status.name}`: {status.summary()}")


@action("connect.restart_safe")
@_guard
def connect_restart_safe(ctx: StepContext, params: dict[str, str], plan: Plan | None) -> Outcome:
    """The restart step's pre-check: refused while a restart would only meet the same failure again
    (bot/runbooks/restart_safety.py says what was observed on the real stack)."""
    name = params["connector"]
    with require_connect(ctx.deps.settings) as client:
        status = client.status(name)
        failed = [(d, t.trace or "") for t in status.failed_tasks
                  if (d := classify_trace(t.trace)).statement_unparseable or d.history_missing]
        if not failed:
            return Outcome(True, f":white_check_mark: `{escape(name)}`: no task failed on a DDL statement or a "
                                 f"missing schema history ({escape(status.summary())}).")
        diagnosis, trace = failed[0]
        if diagnosis.history_missing:
            reasons = history_restart_blockers(client, name)
        else:
            reasons = ddl_restart_blockers(client, mysql_url(ctx), name, diagnosis, unparseable_statement(trace))
    if not reasons:
        return Outcome(True, f":white_check_mark: `{escape(name)}`: {_cause_gone(diagnosis)}")
    return Outcome(False, f":no_entry: A restart of `{escape(name)}` would fail again:\n"
                   + "\n".join(f"• {r}" for r in reasons) + f"\n*What to do*: {escape(diagnosis.advice)}")


def _cause_gone(diagnosis: TraceDiagnosis) -> str:
    if diagnosis.history_missing:
        return "its snapshot mode rebuilds the missing schema history at start."
    return "the DDL it failed on is behind it and the table no longer has what the parser rejects."


@action("logs.grep")
@_guard
def logs_grep(ctx: StepContext, params: dict[str, str], plan: Plan | None) -> Outcome:
    service, pattern = params["service"], params.get("pattern") or "schema"
    logs = ContainerLogs(ctx.deps.settings.docker_host, timeout=ctx.deps.settings.enrich_timeout_seconds)
    try:
        excerpt = logs.grep(service, pattern=pattern, limit=200)
    finally:
        logs.close()
    lines = [f"{ln.timestamp.isoformat() if ln.timestamp else '-'} {ln.text}" for ln in excerpt.lines]
    result = logs_text(excerpt.container, service, pattern, lines, excerpt.scanned)
    return Outcome(True, result.text, [result.file] if result.file else [])


@action("schema.diff")
@_guard
def schema_diff(ctx: StepContext, params: dict[str, str], plan: Plan | None) -> Outcome:
    store = baseline_store(ctx.deps.settings, ctx.deps.store.r)
    report = build_report(mysql_url(ctx), store, ctx.deps.lineage, params["table"], also=ctx.scope.tables,
                          timeout=ctx.deps.settings.enrich_timeout_seconds)
    return Outcome(report.diff.verdict == "none", report_text(report, render_diff_text(report.diff)))


@action("pipeline.lag")
@_guard
def pipeline_lag(ctx: StepContext, params: dict[str, str], plan: Plan | None) -> Outcome:
    """Debezium's lag and the Flink job's pending records now, from Prometheus; failed when unknown."""
    client = prometheus_for(ctx.deps.settings)
    if client is None:
        return Outcome(False, ":grey_question: *Lag*: unknown (set PROMETHEUS_URL).")
    with client:
        lag = fetch_lag(client, ctx.scope, Budget.of(ctx.deps.settings.enrich_timeout_seconds))
    return Outcome(lag.debezium is not None or lag.flink is not None, lag_text(lag))


@action("flink.status")
@_guard
def flink_status(ctx: StepContext, params: dict[str, str], plan: Plan | None) -> Outcome:
    with require_flink(ctx.deps.settings) as client:
        job = client.job_health(params["job"])
    return Outcome(job.healthy, flink_text(job, ctx.deps.settings.display_tz).text)


@action("flink.healthy")
@_guard
def flink_healthy(ctx: StepContext, params: dict[str, str], plan: Plan | None) -> Outcome:
    """Healthy means RUNNING for a while with no failure since (state, timestamps, exception history;
    not numRestarts, which lags). Polls for up to `window` seconds, so a job that just restarted after
    the fix gets the time to prove it."""
    deadline = time.monotonic() + float(params.get("window") or 90)
    with require_flink(ctx.deps.settings) as client:
        job = client.job_health(params["job"])
        while not job.healthy and not cannot_recover(job) and time.monotonic() < deadline:
            time.sleep(POLL_SECONDS)
            job = client.job_health(params["job"])
    summary = job.verdict.summary() if job.verdict else job.state
    mark = ":white_check_mark:" if job.healthy else ":x:"
    return Outcome(job.healthy, f"{mark} Flink `{escape(job.name)}`: {escape(summary)}"
                                + ("" if job.healthy else " — not healthy"))


# Globally terminal job states: such a job never runs again by itself (a new submission is a new job).
TERMINAL_JOB_STATES = frozenset({"FAILED", "CANCELED", "FINISHED"})


def cannot_recover(job: JobHealth) -> bool:
    """Waiting cannot make it healthy: on the real stack a job out of restarts stayed FAILED, and the
    step used to poll it for its whole window (90 s) before saying so."""
    exhausted = job.last_exception is not None and job.last_exception.restarts_exhausted
    return job.state in TERMINAL_JOB_STATES or exhausted


@action("data.validate")
@_guard
def data_validate(ctx: StepContext, params: dict[str, str], plan: Plan | None) -> Outcome:
    """The pipeline's validation queries, in a READ ONLY transaction: they cannot write."""
    queries = ctx.scope.validation_queries
    if not queries:
        raise UserInputError("This pipeline has no validation queries.",
                             "Add `validation_queries` to it in PIPELINE_FILE.")
    conn = connect(mysql_url(ctx), timeout=ctx.deps.settings.enrich_timeout_seconds)
    try:
        lines = [_run_read_only(conn, sql) for sql in queries]
    finally:
        conn.close()
    ok = all(not line.startswith(":x:") for line in lines)
    risks = running_again(ctx.deps, ctx.incident)
    lines += [skip_warning(risk) + " Counts cannot show one skipped change: compare the rows changed during "
              "the incident with the sink by key before calling this clean." for risk in risks]
    return Outcome(ok and not risks, "*Data validation*\n" + "\n".join(lines))


def skip_warning(risk: SkipRisk) -> str:
    name, why = escape(risk.connector), escape(risk.failure)
    if risk.state == "RUNNING":
        return (f":warning: `{name}` is RUNNING again after failing on a change event ({why}): RUNNING again "
                "may mean that event was skipped.")
    return (f":warning: `{name}` failed on a change event ({why}) and its state could not be checked "
            f"({escape(risk.detail)}): if it is RUNNING again, that event may have been skipped.")


def _run_read_only(conn: pymysql.Connection[Any], sql: str) -> str:
    try:
        with conn.cursor() as cur:
            cur.execute("START TRANSACTION READ ONLY")
            cur.execute(sql)
            names = [d[0] for d in cur.description or []]
            rows = cur.fetchmany(MAX_ROWS)
            cur.execute("ROLLBACK")
    except pymysql.MySQLError as exc:
        conn.rollback()
        return f":x: `{escape(sql[:200])}` failed: {escape(str(exc.args[-1])[:200])}"
    table = "; ".join(", ".join(f"{n}={v}" for n, v in zip(names, row, strict=False)) for row in rows)
    return f":white_check_mark: `{escape(sql[:200])}` → {escape(table) or '(no rows)'}"
