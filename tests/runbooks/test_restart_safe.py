"""The restart step's pre-check after a missing schema history (reference difference 8): the Connect
simulator over HTTP answers status and config as the real Connect does."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx

from bot.deps import Deps
from bot.runbooks.actions_read import connect_restart_safe
from bot.runbooks.context import StepContext
from bot.sandbox.connect_sim import ConnectSimulator
from bot.scope import Scope
from tests.runbooks.test_skip_risk import incident

TRACE = (Path(__file__).parents[1] / "fixtures" / "debezium" / "history_missing.txt").read_text()
NAME = "history-probe"


def test_refused_while_the_history_is_missing_allowed_once_recovery_rebuilds_it(
        make_deps: Callable[..., Deps]) -> None:
    with ConnectSimulator() as sim:
        sim.add_connector(NAME, {"connector.class": "io.debezium.connector.mysql.MySqlConnector",
                                 "snapshot.mode": "initial", "tasks.max": "1"})
        sim.fail_task(NAME, 0, TRACE)
        deps = make_deps(connect_url=sim.url)
        ctx = StepContext(deps, incident(deps, []), Scope(connectors=(NAME,)), "U1")
        refused = connect_restart_safe(ctx, {"connector": NAME}, None)
        config = httpx.get(f"{sim.url}/connectors/{NAME}/config", timeout=5).json()
        httpx.put(f"{sim.url}/connectors/{NAME}/config", json={**config, "snapshot.mode": "recovery"},
                  timeout=5).raise_for_status()
        sim.fail_task(NAME, 0, TRACE)   # still FAILED: the new mode acts at the next start
        allowed = connect_restart_safe(ctx, {"connector": NAME}, None)
    assert not refused.ok and "schema history is missing" in refused.text
    assert "`snapshot.mode` is `initial`" in refused.text and "snapshot.mode=recovery" in refused.text
    assert allowed.ok and "rebuilds the missing schema history" in allowed.text
