"""The reconciler survives any error: per item and per round, logged redacted, and carries on."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace
from typing import Any

import pytest
from slack_sdk.errors import SlackApiError

from bot.config import Settings
from bot.redact import Redactor
from bot.runbooks import reconcile
from bot.runbooks.approvals import Approvals
from bot.store import Store
from tests.runbooks.test_step_run import request


def _deps(redis_client: Any) -> Any:
    return SimpleNamespace(settings=Settings(reconcile_interval_seconds=0.02), store=Store(redis_client),
                           redactor=Redactor(["hunter2"]))


def test_one_failing_run_and_a_failing_round_do_not_stop_the_loop(redis_client: Any,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    store = Approvals(redis_client)
    ids = [store.create(request(action=f"DROP COLUMN c{i}"))[0] for i in range(3)]
    checked: list[str] = []
    rounds = {"n": 0}

    def check_run(_deps: Any, _store: Any, approval_id: str) -> None:
        checked.append(approval_id)
        if approval_id == ids[0]:
            raise SlackApiError("boom hunter2", {"ok": False, "error": "internal_error"})

    def sync_run(_deps: Any, _approval_id: str) -> None:
        rounds["n"] += 1
        if rounds["n"] % 2:
            raise RuntimeError("any error at all")

    real_round = reconcile.reconcile_round

    def flaky_round(deps: Any) -> None:
        if len(checked) == 3:          # the second round dies before doing anything
            checked.append("round-died")
            raise ConnectionError("redis went away")
        real_round(deps)

    monkeypatch.setattr(reconcile, "check_run", check_run)
    monkeypatch.setattr(reconcile, "sync_run", sync_run)
    monkeypatch.setattr(reconcile, "reconcile_round", flaky_round)
    stop = threading.Event()
    loop = threading.Thread(target=reconcile.reconcile_interrupted, args=(_deps(redis_client), stop))
    loop.start()
    deadline = time.monotonic() + 5
    while checked.count(ids[2]) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    stop.set()
    loop.join(timeout=2)
    assert not loop.is_alive()
    assert "round-died" in checked and checked.count(ids[2]) >= 3    # every run checked, round after round
