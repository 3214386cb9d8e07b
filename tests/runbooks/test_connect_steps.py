"""connector-failed's pause-connector and restart-task: planned from the connector's state, refused when
they make no sense, run against the Connect simulator over HTTP (real Redis, the Slack emulator)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bot.deps import Deps
from bot.errors import ApprovalError, UserInputError
from bot.incidents.poster import ThreadPoster
from bot.runbooks.actions_mutate import pause_connector, plan_pause, plan_restart_task, restart_task
from bot.runbooks.approvals import Approvals
from bot.runbooks.context import StepContext
from bot.runbooks.decide import decide
from bot.runbooks.engine import request_step
from bot.runbooks.model import find_step, runbooks
from bot.runbooks.skip_risk import noted_skip_risks
from bot.sandbox.connect_sim import ConnectSimulator
from bot.sandbox.slack_emulator import SlackEmulator
from bot.scope import Scope
from tests.e2e.alerting import alert
from tests.harness import BOT_TOKEN, CHANNEL
from tests.incidents.test_fold import fold
from tests.runbooks.test_skip_risk import incident
from tests.runbooks.test_step_run import audit_of

NAME = "mysql-oltp-orders"
ROW_MISMATCH = (Path(__file__).parents[1] / "fixtures" / "debezium" / "row_schema_mismatch.txt").read_text()
AUTH = (Path(__file__).parents[1] / "fixtures" / "debezium" / "authentication.txt").read_text()


@pytest.fixture
def sim() -> Iterator[ConnectSimulator]:
    with ConnectSimulator(restart_delay=0.05) as simulator:
        simulator.add_connector(NAME, {"connector.class": "io.debezium.connector.mysql.MySqlConnector",
                                       "tasks.max": "3"}, tasks=3)
        yield simulator


@pytest.fixture
def ctx(make_deps: Callable[..., Deps], slack: SlackEmulator, sim: ConnectSimulator) -> Callable[..., StepContext]:
    deps = make_deps(connect_url=sim.url, slack_bot_token=BOT_TOKEN, slack_api_url=slack.api_url)
    inc = incident(deps, [])

    def make(*args: str) -> StepContext:
        return StepContext(deps, inc, Scope(connectors=(NAME,)), "U1", list(args))

    return make


def params(context: StepContext) -> dict[str, str]:
    book = runbooks()["connector-failed"]
    step = book.step("restart-task")
    assert step is not None
    return context.resolve(step.params, step.id)


def test_the_only_failed_task_is_planned_and_restarted(sim: ConnectSimulator, ctx: Callable[..., StepContext]) -> None:
    sim.fail_task(NAME, 1, AUTH)
    context = ctx()
    plan = plan_restart_task(context, params(context))
    outcome = restart_task(context, params(context), plan)
    assert plan.action_text.endswith(f"/connectors/{NAME}/tasks/1/restart") and plan.settled == {"task": "1"}
    assert outcome.ok and "task 1 is RUNNING again" in outcome.text
    assert [t["state"] for t in sim.status(NAME)["tasks"]] == ["RUNNING"] * 3
    assert ":warning:" not in outcome.text          # an auth failure is not on a change event


def test_task_param_picks_one_of_several_failed_and_only_that_one_restarts(
        sim: ConnectSimulator, ctx: Callable[..., StepContext]) -> None:
    sim.fail_task(NAME, 0, AUTH)
    sim.fail_task(NAME, 2, AUTH)
    with pytest.raises(UserInputError) as several:
        plan_restart_task(ctx(), params(ctx()))
    context = ctx("task=2")
    plan = plan_restart_task(context, params(context))
    outcome = restart_task(context, params(context), plan)
    assert "2 tasks of" in str(several.value) and "tasks 0, 2" in str(several.value)
    assert "task=&lt;n&gt;" in several.value.hint
    assert outcome.ok and [t["state"] for t in sim.status(NAME)["tasks"]] == ["FAILED", "RUNNING", "RUNNING"]


@pytest.mark.parametrize(("arg", "error", "says"), [
    (None, ApprovalError, "No task of `mysql-oltp-orders` is FAILED"),
    ("task=1", ApprovalError, "Task 1 of `mysql-oltp-orders` is RUNNING, not FAILED"),
    ("task=7", UserInputError, "has no task 7"),
    ("task=one", UserInputError, "`task=one` is not a task number"),
])
def test_restart_task_refused_with_the_reason(ctx: Callable[..., StepContext], arg: str | None,
                                              error: type[Exception], says: str) -> None:
    context = ctx(*([arg] if arg else []))
    with pytest.raises(error) as caught:
        plan_restart_task(context, params(context))
    assert says in str(caught.value)


def test_a_task_that_recovered_before_the_late_approval_is_not_restarted(
        sim: ConnectSimulator, ctx: Callable[..., StepContext]) -> None:
    sim.fail_task(NAME, 1, AUTH)
    context = ctx()
    settled = {**params(context), **plan_restart_task(context, params(context)).settled}
    sim.set_task_state(NAME, 1, "RUNNING")      # someone restarted it meanwhile
    with pytest.raises(ApprovalError, match="Task 1 of `mysql-oltp-orders` is RUNNING, not FAILED"):
        plan_restart_task(context, settled)      # what execution does before it runs


def test_restart_task_after_a_change_event_failure_warns_and_records_the_skip_risk(
        sim: ConnectSimulator, ctx: Callable[..., StepContext]) -> None:
    sim.fail_task(NAME, 0, ROW_MISMATCH)
    context = ctx()
    outcome = restart_task(context, params(context), plan_restart_task(context, params(context)))
    assert outcome.ok and "Debezium may have resumed *past* that event" in outcome.text
    assert noted_skip_risks(context.deps.store.events(context.incident.id)) == {
        NAME: "Rows of orders no longer match Debezium's schema model"}


def test_pause_waits_for_paused_and_a_second_pause_is_refused(
        sim: ConnectSimulator, ctx: Callable[..., StepContext], slack: SlackEmulator) -> None:
    sim.fail_task(NAME, 2, AUTH)
    context = ctx()
    plan = plan_pause(context, {"connector": NAME})
    outcome = pause_connector(context, {"connector": NAME}, plan)
    with pytest.raises(ApprovalError, match="is PAUSED already") as again:
        plan_pause(context, {"connector": NAME})
    assert plan.action_text.endswith(f"/connectors/{NAME}/pause")
    assert outcome.ok and "is PAUSED" in outcome.text
    assert "task 0 PAUSED, task 1 PAUSED, task 2 FAILED" in outcome.text    # a FAILED task stays FAILED
    assert "resume-connector" in again.value.hint
    progress = [c.args.get("text", "") for c in slack.calls("chat.update")]
    assert progress[-1].startswith(":white_check_mark:")


def test_pause_of_a_failed_connector_is_refused(sim: ConnectSimulator, ctx: Callable[..., StepContext]) -> None:
    sim.fail_connector(NAME, AUTH)
    with pytest.raises(ApprovalError, match="itself is FAILED"):
        plan_pause(ctx(), {"connector": NAME})


def test_a_task_restarted_while_the_connector_is_paused_comes_back_paused(
        sim: ConnectSimulator, ctx: Callable[..., StepContext]) -> None:
    sim.pause(NAME)
    sim.fail_task(NAME, 1, AUTH)
    context = ctx()
    outcome = restart_task(context, params(context), plan_restart_task(context, params(context)))
    assert outcome.ok and "task 1 is PAUSED again" in outcome.text
    assert [t["state"] for t in sim.status(NAME)["tasks"]] == ["PAUSED"] * 3


@pytest.mark.parametrize(("step", "before", "meanwhile", "void_because"), [
    ("pause-connector", lambda sim: None, lambda sim: sim.pause(NAME),
     "`mysql-oltp-orders` is PAUSED already"),
    ("restart-task", lambda sim: sim.fail_task(NAME, 2, AUTH), lambda sim: sim.set_task_state(NAME, 2, "RUNNING"),
     "Task 2 of `mysql-oltp-orders` is RUNNING, not FAILED"),
])
def test_a_late_approval_of_a_step_the_world_overtook_is_void_and_runs_nothing(
        make_deps: Callable[..., Deps], slack: SlackEmulator, sim: ConnectSimulator, step: str,
        before: Callable[[ConnectSimulator], None], meanwhile: Callable[[ConnectSimulator], None],
        void_because: str) -> None:
    deps = make_deps(slack_bot_token=BOT_TOKEN, slack_api_url=slack.api_url, incident_channel=CHANNEL,
                     connect_url=sim.url, approvers=["U0ALICE", "U0BOB"])
    [opened] = fold(deps.store, "1-0", alert("ConnectorTaskFailed", connector=NAME), now=time.time())
    ThreadPoster(deps).ensure_root(opened.incident)
    before(sim)
    book, found = find_step(runbooks(), step)
    assert "Approval requested" in request_step(deps, opened.incident, book, found, "U0ALICE", [])
    [approval_id] = Approvals(deps.store.r).live_ids()
    meanwhile(sim)
    decide(deps, approval_id, "U0BOB", True)
    approval = Approvals(deps.store.r).get(approval_id)
    assert approval is not None and approval.state == "void"
    lines = [m["text"] for m in slack.replies(CHANNEL, opened.incident.root_ts or "")]
    assert any(f"`{step}` was approved but is void" in t and void_because in t for t in lines), lines
    assert audit_of(deps.store.r, approval_id) == ["requested", "approved", "void"]     # never executing
