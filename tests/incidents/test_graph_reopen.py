"""A reopened incident (resolved, then firing again) is a new episode: the real enrichment path posts it a
graph of its own, once; the first episode's graph is not posted twice. Real Redis, a real Prometheus, the
Slack emulator over HTTP, the real worker (fold -> reopen event) and the enrichment of the graph."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bot.deps import Deps
from bot.graphs.incident import enrich_graph
from bot.sandbox.slack_emulator import SlackEmulator
from bot.scope import incident_scope
from tests.e2e.alerting import alert
from tests.e2e.prometheus import Prometheus
from tests.harness import CHANNEL
from tests.incidents.test_incident_day import DRIFT, run_next, unpaced
from tests.incidents.test_worker import enqueue, worker_deps
from tests.postmortem import conftest as shared

slack, make_deps = shared.slack, shared.make_deps
__all__ = ["make_deps", "slack", "unpaced", "worker_deps"]    # the fixtures
RESOLVED = alert("SchemaDriftDetected", status="resolved", ends="2026-11-26T07:05:00Z", table="oltp.orders")
AGAIN = alert("SchemaDriftDetected", starts="2026-11-26T07:10:00Z", table="oltp.orders")


@pytest.fixture
def prometheus(tmp_path: Path) -> Iterator[Prometheus]:
    prom = Prometheus([], targets={}, alertmanager="127.0.0.1:9").start()
    try:
        yield prom
    finally:
        prom.stop()


def graphs(slack: SlackEmulator, root_ts: str) -> list[str]:
    return [str(f["name"]) for m in slack.replies(CHANNEL, root_ts) for f in m.get("files") or []
            if str(f.get("name", "")).endswith(".png")]


def test_each_episode_of_an_incident_gets_one_graph(unpaced: Callable[..., Deps], slack: SlackEmulator,
                                                    prometheus: Prometheus) -> None:
    deps = unpaced(prometheus_url=prometheus.url, incident_reopen_seconds=3600)

    def enrich() -> None:
        inc = deps.store.incidents(CHANNEL)[0]
        assert enrich_graph(deps, inc, incident_scope(deps, inc)) == []   # posted, not handed back

    enqueue(deps, DRIFT)
    run_next(deps)
    enrich()
    enrich()                                   # a retried enrichment of the same episode: nothing new
    root_ts = deps.store.incidents(CHANNEL)[0].root_ts or ""
    first = graphs(slack, root_ts)
    for notification in (RESOLVED, AGAIN):     # resolved, then firing again: reopened
        enqueue(deps, notification)
        run_next(deps)
    assert deps.store.incidents(CHANNEL)[0].status == "open"
    enrich()
    enrich()
    assert first == ["INC-1-graph.png"]
    assert graphs(slack, root_ts) == ["INC-1-graph.png", "INC-1-graph-reopen1.png"]
    captions = [m["text"] for m in slack.replies(CHANNEL, root_ts) if "*Graph*" in m.get("text", "")]
    assert len(captions) == 2
