"""Is a Flink job healthy? Judged from its state, its `timestamps` and its exception history. Pure.

Not from `numRestarts`: over REST that metric comes from a cache refreshed every 10 s; it lags the
RESTARTING state by seconds and freezes on a FAILED job, so "restarts over a 5 s window" called a
restart-looping job healthy in 3 of 10 trials (reference/real-stack, difference 1). The job's state,
timestamps and exception history are current. A restart loop never enters FAILING and flips between
RESTARTING and a brief RUNNING, so RUNNING alone is not health either: a job that has failed must have
run for a while with no failure since.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from bot.clients.flink_models import JobDetails
from bot.clients.flink_parse import ExceptionInfo, failure_times, parse_last_exception

WINDOW_SECONDS = 60.0  # failures counted over this
STABLE_SECONDS = 30.0  # RUNNING this long with no failure is healthy (longer than a restart delay)


@dataclass(frozen=True)
class Verdict:
    state: str
    healthy: bool
    running_for_s: float | None  # since the job last entered RUNNING, when it is RUNNING
    failures_in_window: int  # exception-history entries within the window (the history is capped)
    window_s: float
    last_failure: ExceptionInfo | None

    @property
    def restart_loop(self) -> bool:
        return self.state in ("RUNNING", "RESTARTING") and self.failures_in_window >= 2

    def summary(self) -> str:
        """One line for the thread and the runbook step."""
        if self.healthy:
            return f"RUNNING for {self.running_for_s:.0f} s with no failure since"
        if self.last_failure and self.last_failure.restarts_exhausted:
            return f"{self.state}: restarts exhausted (Flink: recovery is suppressed)"
        if self.restart_loop:
            return f"restart loop: {self.failures_in_window} failures in the last {self.window_s:.0f} s"
        if self.state == "RUNNING" and self.running_for_s is not None:
            return f"RUNNING for only {self.running_for_s:.0f} s since its last (re)start: not stable yet"
        return self.state


def judge(details: Any, exceptions: Any, window_s: float = WINDOW_SECONDS,
          stable_s: float = STABLE_SECONDS) -> Verdict:
    """`details` is GET /jobs/<id>, `exceptions` GET /jobs/<id>/exceptions. Times are the JobManager's
    own (`now`), so a clock that differs between the bot and Flink does not matter."""
    try:
        job = JobDetails.model_validate(details)
    except ValidationError:
        return Verdict("UNKNOWN", False, None, 0, window_s, parse_last_exception(exceptions))
    now = job.now or 0
    entered_running = job.timestamps.get("RUNNING") or 0
    running_for = (now - entered_running) / 1000 if job.state == "RUNNING" and entered_running else None
    times = failure_times(exceptions)
    # A job that never failed is healthy once RUNNING; one that failed must have run stable_s since.
    stable = not times or (now - times[0] >= stable_s * 1000 and (running_for or 0) >= stable_s)
    healthy = job.state == "RUNNING" and running_for is not None and stable
    recent = sum(1 for t in times if now - t <= window_s * 1000)
    return Verdict(job.state, healthy, running_for, recent, window_s, parse_last_exception(exceptions))
