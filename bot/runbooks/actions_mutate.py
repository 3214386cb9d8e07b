"""Mutating actions. Each plans the exact SQL or HTTP call first; an approval binds to that text."""

from __future__ import annotations

from typing import Any

from bot.backends import baseline_store, require_connect
from bot.blocks.common import escape
from bot.clients.connect import ConnectClient, ConnectorStatus
from bot.clients.mysql import connect
from bot.debezium import TraceDiagnosis, classify_trace
from bot.errors import ApprovalError, UserInputError
from bot.runbooks.actions import Outcome, Plan, action
from bot.runbooks.actions_read import mysql_url
from bot.runbooks.context import StepContext
from bot.runbooks.skip_risk import record_skip_risk
from bot.schema.diff import diff_schemas
from bot.schema.drill import DEFAULT_TYPE, add_column_ddl, drop_column_ddl
from bot.schema.model import split_table
from bot.schema.report import live_schema, watched_table
from bot.schema.revert import Refusal, RevertPlan, execute_revert, plan_for_column, precheck
from bot.urls import without_userinfo

RESTART_TIMEOUT_S = 60.0


# -- revert a drifted column -----------------------------------------------------------------------
def plan_drop_column(ctx: StepContext, params: dict[str, str]) -> Plan:
    db, table = watched_table(ctx.deps.lineage, params["table"], ctx.scope.tables)
    baseline = baseline_store(ctx.deps.settings, ctx.deps.store.r).get(f"{db}.{table}")
    conn = connect(mysql_url(ctx), timeout=ctx.deps.settings.enrich_timeout_seconds)
    try:
        column = params.get("column") or _only_added_column(conn, db, table, baseline)
        found = plan_for_column(conn, db, table, column, baseline.schema if baseline else None)
        if isinstance(found, Refusal):
            raise ApprovalError(f"Refused: {found.reason}")
        check = precheck(conn, found)
    finally:
        conn.close()
    facts = [f"row estimate: {check.row_estimate if check.row_estimate is not None else 'unknown'}",
             found.algorithm_note] + [f":warning: {r}" for r in check.reasons]
    return Plan(f"Drop drifted column `{column}` from `{db}.{table}`", found.sql, facts,
                {"schema": db, "table": table, "column": column, "sql": found.sql,
                 "hash": found.action_hash, "note": found.algorithm_note}, settled={"column": column})


def _only_added_column(conn: Any, db: str, table: str, baseline: Any) -> str:
    if baseline is None:
        raise ApprovalError(f"No baseline for {db}.{table}: the bot cannot tell drift from design.")
    added = [c.column for c in diff_schemas(baseline.schema, live_schema(conn, db, table)).changes
             if c.kind == "added"]
    if len(added) != 1:
        which = ", ".join(f"`{c}`" for c in added) or "none"
        raise UserInputError(f"{db}.{table} has {len(added)} added column(s) ({which}): say which one.",
                             "Run `/dataflow run rollback-schema &lt;column&gt;`.")
    return added[0]


@action("schema.drop_column", mutating=True, plan=plan_drop_column)
def drop_column(ctx: StepContext, params: dict[str, str], plan: Plan | None) -> Outcome:
    assert plan is not None
    d = plan.data
    revert = RevertPlan(d["schema"], d["table"], d["column"], d["sql"], d["hash"], d["note"])
    result = execute_revert(mysql_url(ctx), revert, d["hash"])
    took = f" in {result.duration_s:.2f} s" if result.duration_s is not None else ""
    mark = ":white_check_mark:" if result.ok else ":x:"
    return Outcome(result.ok, f"{mark} `{escape(result.sql)}`: {escape(result.reason)}{took}")


# -- accept the drift as the new baseline -----------------------------------------------------------
def plan_accept(ctx: StepContext, params: dict[str, str]) -> Plan:
    db, table = watched_table(ctx.deps.lineage, params["table"], ctx.scope.tables)
    store = baseline_store(ctx.deps.settings, ctx.deps.store.r)
    conn = connect(mysql_url(ctx), timeout=ctx.deps.settings.enrich_timeout_seconds)
    try:
        live = live_schema(conn, db, table)
    finally:
        conn.close()
    current = store.get(f"{db}.{table}")
    changes = diff_schemas(current.schema, live).changes if current else ()
    columns = ", ".join(f"{c.name} {c.type}" for c in live.columns)
    text = f"accept-drift {db}.{table} as baseline v{(current.version if current else 0) + 1}: ({columns})"
    facts = [f"{len(changes)} change(s) become the expected schema"]
    if current and current.source == "contract":
        facts.append(":warning: the table has a contract file; update it in the repository too")
    return Plan(f"Accept the live schema of `{db}.{table}` as its baseline", text, facts,
                {"table": f"{db}.{table}"})


@action("schema.accept_drift", mutating=True, plan=plan_accept)
def accept_drift(ctx: StepContext, params: dict[str, str], plan: Plan | None) -> Outcome:
    assert plan is not None
    store = baseline_store(ctx.deps.settings, ctx.deps.store.r)
    result = store.accept_drift(plan.data["table"], by_user=ctx.user, live=_live(ctx, plan.data["table"]))
    return Outcome(True, f":white_check_mark: {escape(result.message)}")


def _live(ctx: StepContext, qualified: str) -> Any:
    db, table = split_table(qualified)
    conn = connect(mysql_url(ctx), timeout=ctx.deps.settings.enrich_timeout_seconds)
    try:
        return live_schema(conn, db, table)
    finally:
        conn.close()


# -- restart / resume the connector ------------------------------------------------------------------
def _client(ctx: StepContext) -> ConnectClient:
    return require_connect(ctx.deps.settings)


def plan_restart(ctx: StepContext, params: dict[str, str]) -> Plan:
    with _client(ctx) as client:
        status = client.status(params["connector"])
    url = without_userinfo(ctx.deps.settings.connect_url or "")
    return Plan(f"Restart connector `{status.name}` and its failed tasks",
                f"POST {url}/connectors/{status.name}/restart?includeTasks=true&onlyFailed=true",
                [f"now: {status.summary()}"], {"connector": status.name})


def plan_resume(ctx: StepContext, params: dict[str, str]) -> Plan:
    with _client(ctx) as client:
        status = client.status(params["connector"])
    return Plan(f"Resume connector `{status.name}`",
                f"PUT {without_userinfo(ctx.deps.settings.connect_url or '')}/connectors/{status.name}/resume",
                [f"now: {status.summary()}"], {"connector": status.name})


@action("connect.restart", mutating=True, plan=plan_restart)
def restart_connector(ctx: StepContext, params: dict[str, str], plan: Plan | None) -> Outcome:
    assert plan is not None
    name = plan.data["connector"]
    with _client(ctx) as client:
        failed_on = [d for d in (classify_trace(t.trace) for t in client.status(name).failed_tasks) if d.on_change_event]
        started = client.restart(name, include_tasks=True, only_failed=True)
        outcome = _wait_running(ctx, client, name, started)
    return _with_skip_warning(ctx, name, failed_on[0], outcome) if failed_on else outcome


def _with_skip_warning(ctx: StepContext, name: str, failure: TraceDiagnosis, outcome: Outcome) -> Outcome:
    """RUNNING again after failing on a change event: say the event may have been skipped, and remember it
    for validate-data and the postmortem (reference/real-stack, difference 10)."""
    warning = (f":warning: It had failed on a change event ({failure.title}). Debezium may have resumed *past* "
               "that event: the change can be missing downstream. Validate the data against the source before "
               "calling this clean.")
    record_skip_risk(ctx.deps, ctx.incident, name, failure.title)
    return Outcome(outcome.ok, f"{outcome.text}\n{warning}")


@action("connect.resume", mutating=True, plan=plan_resume)
def resume_connector(ctx: StepContext, params: dict[str, str], plan: Plan | None) -> Outcome:
    assert plan is not None
    with _client(ctx) as client:
        client.resume(plan.data["connector"])
        return _wait_running(ctx, client, plan.data["connector"], None)


def _wait_running(ctx: StepContext, client: ConnectClient, name: str, started: ConnectorStatus | None) -> Outcome:
    """Wait until RUNNING, editing one thread message to show progress."""
    slack, inc = ctx.deps.slack, ctx.incident
    msg = slack.chat_postMessage(channel=inc.channel, thread_ts=inc.root_ts,
                                 text=f":hourglass_flowing_sand: `{name}`: waiting for RUNNING…")

    def progress(status: ConnectorStatus) -> None:
        slack.chat_update(channel=inc.channel, ts=msg["ts"],
                          text=f":hourglass_flowing_sand: `{name}`: {status.summary()}")

    try:
        final = client.wait_until_running(name, timeout=RESTART_TIMEOUT_S, on_progress=progress, restarted=started)
    except Exception as exc:
        slack.chat_update(channel=inc.channel, ts=msg["ts"], text=f":x: `{name}` did not reach RUNNING")
        raise ApprovalError(f"`{name}` did not reach RUNNING: {ctx.deps.redactor.text(str(exc))}") from exc
    slack.chat_update(channel=inc.channel, ts=msg["ts"], text=f":white_check_mark: `{name}`: {final.summary()}")
    return Outcome(True, f":white_check_mark: `{name}` is RUNNING again ({final.summary()})")


# -- the chaos drill ----------------------------------------------------------------------------------
def plan_drill_create(ctx: StepContext, params: dict[str, str]) -> Plan:
    db, table = watched_table(ctx.deps.lineage, params["table"], ctx.scope.tables)
    live = _live(ctx, f"{db}.{table}")
    sql = add_column_ddl(live, params.get("column") or "unexpected_field", params.get("type") or DEFAULT_TYPE)
    return Plan(f"Drill: add an unexpected column to `{db}.{table}`", sql, [], {"sql": sql})


def plan_drill_revert(ctx: StepContext, params: dict[str, str]) -> Plan:
    db, table = watched_table(ctx.deps.lineage, params["table"], ctx.scope.tables)
    baseline = baseline_store(ctx.deps.settings, ctx.deps.store.r).get(f"{db}.{table}")
    if baseline is None:
        raise ApprovalError(f"No baseline for {db}.{table}: refusing to drop a column that may be legitimate.")
    live = _live(ctx, f"{db}.{table}")
    sql = drop_column_ddl(live, params.get("column") or "unexpected_field", set(baseline.schema.names()))
    return Plan(f"Drill: drop the drill column from `{db}.{table}`", sql, [], {"sql": sql})


@action("drill.create", mutating=True, plan=plan_drill_create)
@action("drill.revert", mutating=True, plan=plan_drill_revert)
def run_drill_sql(ctx: StepContext, params: dict[str, str], plan: Plan | None) -> Outcome:
    assert plan is not None
    conn = connect(mysql_url(ctx), timeout=ctx.deps.settings.enrich_timeout_seconds)
    try:
        with conn.cursor() as cur:
            cur.execute("SET SESSION lock_wait_timeout = 5")
            cur.execute(plan.data["sql"])
    finally:
        conn.close()
    return Outcome(True, f":white_check_mark: ran `{escape(plan.data['sql'])}`")

