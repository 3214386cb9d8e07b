"""Background: approved steps whose process died mid-execution are reported, not left "executing" forever."""

from __future__ import annotations

import threading

import redis

from bot.deps import Deps
from bot.log import get_logger
from bot.runbooks.approvals import ALIVE_TTL_SECONDS, Approvals
from bot.runbooks.decide import report_interrupted

log = get_logger(__name__)


def reconcile_interrupted(deps: Deps, stop: threading.Event) -> None:
    """Every replica checks; the executing→failed compare-and-set lets only one of them report each step."""
    while True:
        try:
            for approval in Approvals(deps.store.r).silent_executions():
                log.warning("step interrupted by a dead process", approval=approval.id, step=approval.step)
                report_interrupted(deps, approval)
        except redis.RedisError as exc:
            log.warning("could not check for interrupted steps", error=type(exc).__name__)
        if stop.wait(ALIVE_TTL_SECONDS / 2):
            return
