"""The lag runbook's step `pipeline.lag` against the real Prometheus evaluating our recording rules."""

from __future__ import annotations

import time
from collections.abc import Callable

from bot.deps import Deps
from bot.models import Incident
from bot.runbooks.actions import StepContext
from bot.runbooks.actions_read import pipeline_lag
from tests.clients.test_prometheus import SCOPE, prom
from tests.e2e.prometheus import Prometheus
from tests.postmortem import conftest as shared

make_deps = shared.make_deps
__all__ = ["prom"]
INC = Incident(id="INC-4", number=4, correlation_key="pipeline:orders", pipeline="orders", title="lag",
               channel="C0INCIDENT", opened_at=time.time(), last_seen_at=time.time())


def test_the_lag_now_for_the_incident_scope(make_deps: Callable[..., Deps], prom: Prometheus) -> None:
    outcome = pipeline_lag(StepContext(make_deps(prometheus_url=prom.url), INC, SCOPE, "U1"), {}, None)
    assert outcome.ok and "dbserver1" in outcome.text and "other" not in outcome.text


def test_without_prometheus_the_step_fails_saying_why(make_deps: Callable[..., Deps]) -> None:
    outcome = pipeline_lag(StepContext(make_deps(), INC, SCOPE, "U1"), {}, None)
    assert not outcome.ok and "set PROMETHEUS_URL" in outcome.text
