"""Enrichment from the incident's scope: which connectors and jobs are asked, and what a thread says when
none is known or a name is not there (the Connect and Flink simulators over HTTP, real Redis)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.config import Settings
from bot.deps import Deps, build_deps
from bot.discovery import Note
from bot.incidents.enrich import enrich_connect, enrich_flink, enrich_logs
from bot.models import Incident
from bot.sandbox.connect_sim import ConnectSimulator
from bot.sandbox.flink_sim import FlinkSimulator
from bot.scope import Scope

INC = Incident(id="INC-1", number=1, correlation_key="group:x", title="t", channel="C1", opened_at=1.0,
               last_seen_at=1.0)


@pytest.fixture
def make_deps(redis_url: str) -> Iterator[Callable[..., Deps]]:
    made: list[Deps] = []

    def make(**values: Any) -> Deps:
        deps = build_deps(Settings(_env_file=None, redis_url=redis_url, pipeline_file=None, **values))  # type: ignore[call-arg]
        made.append(deps)
        return deps

    yield make
    for deps in made:
        deps.jobs.shutdown(wait=False)


def test_not_configured_backends_say_which_variable(make_deps: Callable[..., Deps]) -> None:
    deps = make_deps()
    assert "set CONNECT_URL" in enrich_connect(deps, INC, Scope(connectors=("c",)))[0].text
    assert "set FLINK_URL" in enrich_flink(deps, INC, Scope(flink_jobs=("j",)))[0].text


def test_every_scope_connector_is_asked_and_absent_names_are_noted(make_deps: Callable[..., Deps]) -> None:
    with ConnectSimulator() as sim:
        sim.add_connector("a-cdc", {"connector.class": "io.debezium.connector.mysql.MySqlConnector"})
        deps = make_deps(connect_url=sim.url)
        scope = Scope(connectors=("a-cdc",), notes=(Note("connect", "connector `old` is gone", absent=True),
                                                    Note("flink", "not about Connect")))
        texts = [e.text for e in enrich_connect(deps, INC, scope)]
    assert len(texts) == 2 and "`a-cdc`" in texts[0] and "connector `old` is gone" in texts[1]


def test_no_connector_known_says_why(make_deps: Callable[..., Deps], tmp_path: Path) -> None:
    with ConnectSimulator() as sim:
        deps = make_deps(connect_url=sim.url)
        [plain] = enrich_connect(deps, INC, Scope())
        [noted] = enrich_connect(deps, INC, Scope(notes=(Note("connect", "could not be discovered (HTTP 500)"),)))
    assert "no connector is known" in plain.text and "could not be discovered (HTTP 500)" in noted.text


def test_jobs_are_asked_by_their_real_names(make_deps: Callable[..., Deps]) -> None:
    with FlinkSimulator() as sim:
        sim.add_job("cdc-orders-enrich")
        deps = make_deps(flink_url=sim.url)
        texts = [e.text for e in enrich_flink(deps, INC, Scope(flink_jobs=("cdc-orders-enrich", "gone")))]
    assert "`cdc-orders-enrich`" in texts[0] and "no job named `gone`" in texts[1]


def test_logs_come_from_the_scopes_services(make_deps: Callable[..., Deps]) -> None:
    deps = make_deps(docker_host="tcp://127.0.0.1:9", enrich_timeout_seconds=0.5)
    with pytest.raises(Exception) as info:
        enrich_logs(deps, INC, Scope(log_services=("flink-jobmanager",)))
    assert "127.0.0.1:9" in str(info.value) or "Docker" in str(info.value)
