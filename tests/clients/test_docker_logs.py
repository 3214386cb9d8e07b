"""ContainerLogs (docker SDK) against the fake Docker Engine over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.clients.docker_logs import ContainerLogs
from bot.clients.docker_parse import split_timestamp
from bot.errors import BackendError, NotFoundError, UserInputError
from bot.sandbox.docker_sim import DockerEngineSimulator
from tests.conftest import free_port

T0 = datetime(2025, 3, 4, 10, 15, 31, tzinfo=UTC)


def at(ms: int) -> datetime:
    return T0 + timedelta(milliseconds=ms)


@pytest.fixture(scope="module")
def server() -> Iterator[DockerEngineSimulator]:
    with DockerEngineSimulator() as engine:
        yield engine


@pytest.fixture
def sim(server: DockerEngineSimulator) -> DockerEngineSimulator:
    server.reset()
    return server


@pytest.fixture
def logs(sim: DockerEngineSimulator) -> Iterator[ContainerLogs]:
    client = ContainerLogs(sim.docker_host, timeout=5.0)
    yield client
    client.close()


def test_lookup_by_compose_labels(sim: DockerEngineSimulator) -> None:
    sim.add_container("other-connect-1", "connect", project="other")
    sim.add_container("cdc-connect-run-1a2b", "connect", project="cdc", number=1, oneoff=True)
    sim.add_container("cdc-connect-10", "connect", project="cdc", number=10)
    second = sim.add_container("cdc-connect-2", "connect", project="cdc", number=2)
    sim.add_container("cdc-kafka-1", "kafka", project="cdc")
    ref = ContainerLogs(sim.docker_host, project="cdc").find_service_container("connect")
    assert (ref.id, ref.name, ref.service, ref.project) == (second, "cdc-connect-2", "connect", "cdc")
    assert ContainerLogs(sim.docker_host, project="other").find_service_container("connect").project == "other"


def test_only_one_off_containers_is_not_found(sim: DockerEngineSimulator, logs: ContainerLogs) -> None:
    sim.add_container("cdc-connect-run-1a2b", "connect", oneoff=True)
    with pytest.raises(NotFoundError, match="no container for compose service 'connect'"):
        logs.find_service_container("connect")
    with pytest.raises(NotFoundError, match="'flink'"):
        logs.grep("flink")


def test_grep_interleaves_streams_by_timestamp(sim: DockerEngineSimulator, logs: ContainerLogs) -> None:
    sim.add_container("cdc-connect-1", "connect")
    sim.append_log("cdc-connect-1", "INFO starting task", at=at(0))
    sim.append_log("cdc-connect-1", "ERROR Schema change not supported\n\tat io.debezium.Schema", "stderr", at(1))
    sim.append_log("cdc-connect-1", "WARN schema history topic lag", at=at(2))
    sim.append_log("cdc-connect-1", "ERROR task killed after SCHEMA error", "stderr", at(3))
    excerpt = logs.grep("connect", pattern="schema")
    assert excerpt.container == "cdc-connect-1"
    assert [(line.stream, line.text) for line in excerpt.lines] == [
        ("stderr", "ERROR Schema change not supported"),
        ("stderr", "\tat io.debezium.Schema"),
        ("stdout", "WARN schema history topic lag"),
        ("stderr", "ERROR task killed after SCHEMA error"),
    ]
    assert [line.timestamp for line in excerpt.lines] == [at(1), at(1), at(2), at(3)]
    assert (excerpt.scanned, excerpt.matched) == (5, 4)
    limited = logs.grep("connect", pattern="schema", limit=1)
    assert [line.text for line in limited.lines] == ["ERROR task killed after SCHEMA error"]
    assert limited.matched == 4


def test_pattern_is_a_literal_not_a_regex(sim: DockerEngineSimulator, logs: ContainerLogs) -> None:
    sim.add_container("cdc-connect-1", "connect")
    sim.append_log("cdc-connect-1", "field a.b( changed", at=at(0))
    sim.append_log("cdc-connect-1", "field axb( changed", at=at(1))
    assert [line.text for line in logs.grep("connect", pattern="A.B(").lines] == ["field a.b( changed"]


def test_tail_and_scan_tail_count_both_streams(sim: DockerEngineSimulator, logs: ContainerLogs) -> None:
    sim.add_container("cdc-connect-1", "connect")
    for i in range(6):
        sim.append_log("cdc-connect-1", f"line {i}", "stderr" if i % 2 else "stdout", at(i))
    assert [line.text for line in logs.tail("connect", lines=3).lines] == ["line 3", "line 4", "line 5"]
    scanned = logs.grep("connect", pattern="line", scan_tail=4)
    assert scanned.scanned == 4
    assert [line.text for line in scanned.lines] == ["line 2", "line 3", "line 4", "line 5"]
    with pytest.raises(UserInputError):
        logs.tail("connect", lines=0)


def test_since_is_exact_below_the_second(sim: DockerEngineSimulator, logs: ContainerLogs) -> None:
    sim.add_container("cdc-connect-1", "connect")
    sim.append_log("cdc-connect-1", "schema old", at=at(-2000))
    sim.append_log("cdc-connect-1", "schema just before", at=at(400))
    sim.append_log("cdc-connect-1", "schema after", "stderr", at(600))
    got = logs.grep("connect", since=at(500))
    assert [line.text for line in got.lines] == ["schema after"]
    naive = logs.grep("connect", since=at(500).replace(tzinfo=None))   # naive means UTC
    assert [line.text for line in naive.lines] == ["schema after"]


def test_from_env_honours_docker_host(sim: DockerEngineSimulator, monkeypatch: pytest.MonkeyPatch) -> None:
    sim.add_container("cdc-connect-1", "connect")
    monkeypatch.setenv("DOCKER_HOST", sim.docker_host)
    client = ContainerLogs()
    assert client.where == sim.docker_host
    assert client.find_service_container("connect").name == "cdc-connect-1"


def test_connection_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    host = f"tcp://127.0.0.1:{free_port()}"
    with pytest.raises(BackendError) as err:
        ContainerLogs(host).tail("connect")
    assert (err.value.backend, err.value.where, err.value.reason) == ("Docker", host, "connection refused")
    monkeypatch.setenv("DOCKER_HOST", host)
    with pytest.raises(BackendError, match="connection refused"):
        ContainerLogs().find_service_container("connect")


def test_engine_errors_and_timeouts(sim: DockerEngineSimulator, logs: ContainerLogs) -> None:
    cid = sim.add_container("cdc-connect-1", "connect")
    sim.inject(500, {"message": "engine on fire\nstack"}, path="/containers/json")
    with pytest.raises(BackendError) as err:
        logs.find_service_container("connect")
    assert (err.value.where, err.value.reason) == (sim.docker_host, "HTTP 500: engine on fire")
    sim.inject(404, {"message": f"No such container: {cid}"}, path=f"/containers/{cid}/logs")
    with pytest.raises(NotFoundError):   # the container went away between the lookup and the read
        logs.tail("connect")
    slow = ContainerLogs(sim.docker_host, timeout=0.2)
    sim.set_latency(0.6)
    with pytest.raises(BackendError, match=r"timed out after 0\.2 s"):
        slow.tail("connect")


def test_split_timestamp_variants() -> None:
    stamp, ns, text = split_timestamp("2025-03-04T10:15:31.123456789Z  indented text")
    assert (stamp, ns, text) == (T0.replace(microsecond=123456), int(T0.timestamp()) * 10**9 + 123456789,
                                 " indented text")
    offset, _, _ = split_timestamp("2025-03-04T12:15:31+02:00 x")
    assert offset == T0
    assert split_timestamp("no stamp here") == (None, None, "no stamp here")
