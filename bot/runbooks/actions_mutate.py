"""Mutating actions. Each plans the exact SQL or HTTP call first; an approval binds to that text."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.backends import baseline_store, require_connect
from bot.blocks.common import escape
from bot.clients.connect import ConnectClient, ConnectorStatus, TaskStatus
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


# -- restart / resume / pause the connector, restart one task ----------------------------------------
def _client(ctx: StepContext) -> ConnectClient:
    return require_connect(ctx.deps.settings)


def _url(ctx: StepContext) -> str:
    return without_userinfo(ctx.deps.settings.connect_url or "")


def plan_restart(ctx: StepContext, params: dict[str, str]) -> Plan:
    with _client(ctx) as client:
        status = client.status(params["connector"])
    return Plan(f"Restart connector `{status.name}` and its failed tasks",
                f"POST {_url(ctx)}/connectors/{status.name}/restart?includeTasks=true&onlyFailed=true",
                [f"now: {status.summary()}"], {"connector": status.name})


def plan_resume(ctx: StepContext, params: dict[str, str]) -> Plan:
    with _client(ctx) as client:
        status = client.status(params["connector"])
    return Plan(f"Resume connector `{status.name}`", f"PUT {_url(ctx)}/connectors/{status.name}/resume",
                [f"now: {status.summary()}"], {"connector": status.name})


def plan_pause(ctx: StepContext, params: dict[str, str]) -> Plan:
    """Refused when pausing cannot change anything: at request time and again when it runs (the plan is
    made again at execution, so a late approval meets the connector as it is then)."""
    with _client(ctx) as client:
        status = client.status(params["connector"])
    if status.state in ("PAUSED", "STOPPED"):
        raise ApprovalError(f"`{status.name}` is {status.state} already ({status.summary()}): nothing to pause.",
                            "Run `/dataflow run resume-connector` to start it again.")
    if status.state == "FAILED":   # Connect leaves a FAILED connector FAILED: the pause would never land
        raise ApprovalError(f"The connector `{status.name}` itself is FAILED ({status.summary()}): Connect "
                            "does not pause a failed connector.", "Restart it: `/dataflow run restart-connector`.")
    return Plan(f"Pause connector `{status.name}`", f"PUT {_url(ctx)}/connectors/{status.name}/pause",
                [f"now: {status.summary()}", "it stays PAUSED until `resume-connector`"], {"connector": status.name})


def plan_restart_task(ctx: StepContext, params: dict[str, str]) -> Plan:
    with _client(ctx) as client:
        status = client.status(params["connector"])
    task = task_to_restart(status, params.get("task", ""))
    return Plan(f"Restart task {task.id} of connector `{status.name}`",
                f"POST {_url(ctx)}/connectors/{status.name}/tasks/{task.id}/restart",
                [f"now: {status.summary()}", f"task {task.id} failed: {classify_trace(task.trace).title}"],
                {"connector": status.name, "task": task.id}, settled={"task": str(task.id)})


def task_to_restart(status: ConnectorStatus, given: str) -> TaskStatus:
    """The task `task=<n>` names, which must be FAILED; else the only FAILED task."""
    if given:
        task = status.task(_task_number(given))
        if task is None:
            raise UserInputError(f"`{status.name}` has no task {escape(given)} ({status.summary()}).",
                                 "Name one of its tasks: `/dataflow run restart-task task=&lt;n&gt;`.")
        if task.state != "FAILED":
            raise ApprovalError(f"Task {task.id} of `{status.name}` is {task.state}, not FAILED "
                                f"({status.summary()}): nothing to restart.")
        return task
    failed = status.failed_tasks
    if len(failed) == 1:
        return failed[0]
    if not failed:
        raise ApprovalError(f"No task of `{status.name}` is FAILED ({status.summary()}): nothing to restart.")
    ids = ", ".join(str(t.id) for t in failed)
    raise UserInputError(f"{len(failed)} tasks of `{status.name}` are FAILED (tasks {ids}): say which one.",
                         "Run `/dataflow run restart-task task=&lt;n&gt;`, or `restart-connector` for all of them.")


def _task_number(given: str) -> int:
    if not given.isdigit() or len(given) > 6:
        raise UserInputError(f"`task={escape(given[:20])}` is not a task number.",
                             "Pass the task's id, e.g. `task=0` (`/dataflow run connector-status` lists them).")
    return int(given)


@action("connect.restart", mutating=True, plan=plan_restart)
def restart_connector(ctx: StepContext, params: dict[str, str], plan: Plan | None) -> Outcome:
    assert plan is not None
    name = plan.data["connector"]
    with _client(ctx) as client:
        failed_on = failed_on_change_event(client.status(name).failed_tasks)
        started = client.restart(name, include_tasks=True, only_failed=True)
        outcome = _wait(ctx, name, "RUNNING", "is RUNNING again", lambda progress: client.wait_until_running(
            name, timeout=RESTART_TIMEOUT_S, on_progress=progress, restarted=started))
    return _with_skip_warning(ctx, name, failed_on, outcome) if failed_on else outcome


@action("connect.restart_task", mutating=True, plan=plan_restart_task)
def restart_task(ctx: StepContext, params: dict[str, str], plan: Plan | None) -> Outcome:
    assert plan is not None
    name, task_id = plan.data["connector"], int(plan.data["task"])
    with _client(ctx) as client:
        before = client.status(name)
        failed_on = failed_on_change_event([t for t in before.failed_tasks if t.id == task_id])
        # A task restarted while its connector is PAUSED comes back PAUSED (observed on Connect 3.9.0).
        state = "PAUSED" if before.state == "PAUSED" else "RUNNING"
        client.restart_task(name, task_id)
        outcome = _wait(ctx, name, f"task {task_id} {state}", f"task {task_id} is {state} again",
                        lambda progress: client.wait_for_task(name, task_id, state, timeout=RESTART_TIMEOUT_S,
                                                              on_progress=progress))
    return _with_skip_warning(ctx, name, failed_on, outcome) if failed_on else outcome


def failed_on_change_event(failed: list[TaskStatus]) -> TraceDiagnosis | None:
    """The first of these FAILED tasks that failed on a change event: a restart may resume past it."""
    return next((d for d in (classify_trace(t.trace) for t in failed) if d.on_change_event), None)


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
    name = plan.data["connector"]
    with _client(ctx) as client:
        client.resume(name)
        return _wait(ctx, name, "RUNNING", "is RUNNING again", lambda progress: client.wait_until_running(
            name, timeout=RESTART_TIMEOUT_S, on_progress=progress))


@action("connect.pause", mutating=True, plan=plan_pause)
def pause_connector(ctx: StepContext, params: dict[str, str], plan: Plan | None) -> Outcome:
    assert plan is not None
    name = plan.data["connector"]
    with _client(ctx) as client:
        client.pause(name)
        return _wait(ctx, name, "PAUSED", "is PAUSED", lambda progress: client.wait_until_paused(
            name, timeout=RESTART_TIMEOUT_S, on_progress=progress))


def _wait(ctx: StepContext, name: str, goal: str, done: str,
          wait: Callable[[Callable[[ConnectorStatus], None]], ConnectorStatus]) -> Outcome:
    """Run `wait` (a bounded client wait for `goal`), editing one thread message to show progress."""
    slack, inc = ctx.deps.slack, ctx.incident
    msg = slack.chat_postMessage(channel=inc.channel, thread_ts=inc.root_ts,
                                 text=f":hourglass_flowing_sand: `{name}`: waiting for {goal}…")

    def progress(status: ConnectorStatus) -> None:
        slack.chat_update(channel=inc.channel, ts=msg["ts"],
                          text=f":hourglass_flowing_sand: `{name}`: {status.summary()}")

    try:
        final = wait(progress)
    except Exception as exc:
        slack.chat_update(channel=inc.channel, ts=msg["ts"], text=f":x: `{name}` did not reach {goal}")
        raise ApprovalError(f"`{name}` did not reach {goal}: {ctx.deps.redactor.text(str(exc))}") from exc
    slack.chat_update(channel=inc.channel, ts=msg["ts"], text=f":white_check_mark: `{name}`: {final.summary()}")
    return Outcome(True, f":white_check_mark: `{name}` {done} ({final.summary()})")


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

