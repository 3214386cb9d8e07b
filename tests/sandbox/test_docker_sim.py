"""The fake Docker Engine over real HTTP: raw protocol checks, then the real docker SDK against it."""

from __future__ import annotations

import json
import re
import struct
from collections.abc import Iterator
from datetime import UTC, datetime

import docker
import docker.errors
import httpx
import pytest

from bot.sandbox.docker_sim import DockerEngineSimulator

T0 = datetime(2025, 3, 4, 10, 15, 31, 123456, tzinfo=UTC)
STAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{9}Z $")


@pytest.fixture(scope="module")
def server() -> Iterator[DockerEngineSimulator]:
    with DockerEngineSimulator() as engine:
        yield engine


@pytest.fixture
def sim(server: DockerEngineSimulator) -> DockerEngineSimulator:
    server.reset()
    return server


@pytest.fixture
def http(sim: DockerEngineSimulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sim.url) as client:
        yield client


def frames(body: bytes) -> list[tuple[int, bytes]]:
    """Split a multiplexed stream into (stream id, payload), checking each 8-byte header."""
    out, pos = [], 0
    while pos < len(body):
        stream, zero1, zero2, zero3, size = struct.unpack_from(">BBBBL", body, pos)
        assert (zero1, zero2, zero3) == (0, 0, 0)
        out.append((stream, body[pos + 8:pos + 8 + size]))
        pos += 8 + size
    return out


def test_ping_version_and_version_prefixes(http: httpx.Client) -> None:
    assert http.get("/_ping").text == "OK"
    assert http.get("/v1.41/_ping").headers["Api-Version"] == "1.45"
    version = http.get("/version").json()
    assert (version["ApiVersion"], version["MinAPIVersion"]) == ("1.45", "1.24")
    assert http.get("/v1.45/version").json() == version
    too_new = http.get("/v1.99/containers/json")
    assert too_new.status_code == 400 and "too new" in too_new.json()["message"]
    assert http.get("/nope").json() == {"message": "page not found"}


def test_list_filters_labels_anded_and_all(sim: DockerEngineSimulator, http: httpx.Client) -> None:
    connect_cdc = sim.add_container("cdc-connect-1", "connect", project="cdc")
    sim.add_container("other-connect-1", "connect", project="other")
    sim.add_container("cdc-mysql-1", "mysql", project="cdc", state="exited")
    labels = ["com.docker.compose.service=connect", "com.docker.compose.project=cdc"]
    got = http.get("/containers/json", params={"all": "1", "filters": json.dumps({"label": labels})}).json()
    assert [c["Id"] for c in got] == [connect_cdc]
    assert got[0]["Names"] == ["/cdc-connect-1"] and got[0]["Labels"]["com.docker.compose.oneoff"] == "False"
    cdc = {"label": {"com.docker.compose.project=cdc": True}}   # the older map form
    running = http.get("/containers/json", params={"filters": json.dumps(cdc)}).json()
    everything = http.get("/containers/json", params={"all": "1", "filters": json.dumps(cdc)}).json()
    assert (len(running), len(everything)) == (1, 2)
    assert http.get("/containers/json", params={"filters": '{"bogus": ["x"]}'}).status_code == 400


def test_inspect_by_name_or_id_and_404(sim: DockerEngineSimulator, http: httpx.Client) -> None:
    cid = sim.add_container("cdc-connect-1", "connect", tty=True)
    assert re.fullmatch(r"[0-9a-f]{64}", cid)
    by_name = http.get("/v1.45/containers/cdc-connect-1/json").json()
    assert by_name["Id"] == cid and by_name["Config"]["Tty"] is True and by_name["Name"] == "/cdc-connect-1"
    assert http.get(f"/containers/{cid[:12]}/json").json()["Id"] == cid
    missing = http.get("/containers/ghost/json")
    assert (missing.status_code, missing.json()) == (404, {"message": "No such container: ghost"})


def test_logs_are_multiplexed_with_timestamps(sim: DockerEngineSimulator, http: httpx.Client) -> None:
    sim.add_container("cdc-connect-1", "connect")
    sim.append_log("cdc-connect-1", "started", at=T0)
    sim.append_log("cdc-connect-1", "ERROR schema mismatch\n\tat io.debezium.X", stream="stderr", at=T0)
    resp = http.get("/containers/cdc-connect-1/logs", params={"stdout": "1", "stderr": "1", "timestamps": "1"})
    assert resp.headers["content-type"] == "application/vnd.docker.multiplexed-stream"
    got = frames(resp.content)
    assert [s for s, _ in got] == [1, 2, 2]
    stamp, text = got[1][1][:31], got[1][1][31:]
    assert STAMP.match(stamp.decode()) and stamp.startswith(b"2025-03-04T10:15:31.123456000Z")
    assert text == b"ERROR schema mismatch\n"
    only_out = http.get("/containers/cdc-connect-1/logs", params={"stdout": "1"}).content
    assert frames(only_out) == [(1, b"started\n")]
    assert http.get("/containers/cdc-connect-1/logs").status_code == 400


def test_logs_tail_and_since(sim: DockerEngineSimulator, http: httpx.Client) -> None:
    sim.add_container("c1", "connect")
    for second in range(5):
        sim.append_log("c1", f"line {second}", at=T0.replace(second=second, microsecond=0))
    base = {"stdout": "1", "stderr": "1"}
    tail = frames(http.get("/containers/c1/logs", params={**base, "tail": "2"}).content)
    assert [p for _, p in tail] == [b"line 3\n", b"line 4\n"]
    since = int(T0.replace(second=3, microsecond=0).timestamp())
    later = frames(http.get("/containers/c1/logs", params={**base, "since": str(since)}).content)
    assert [p for _, p in later] == [b"line 3\n", b"line 4\n"]
    assert len(frames(http.get("/containers/c1/logs", params={**base, "tail": "all"}).content)) == 5


def test_tty_container_logs_are_a_raw_stream(sim: DockerEngineSimulator, http: httpx.Client) -> None:
    sim.add_container("c1", "connect", tty=True)
    sim.append_log("c1", "to stderr, but a TTY has only one stream", stream="stderr", at=T0)
    resp = http.get("/containers/c1/logs", params={"stdout": "1", "stderr": "1"})
    assert resp.headers["content-type"] == "application/vnd.docker.raw-stream"
    assert resp.content == b"to stderr, but a TTY has only one stream\n"


@pytest.mark.parametrize("version", [None, "auto", "1.45", "1.41"])
def test_docker_sdk_lists_by_labels_and_demultiplexes_logs(sim: DockerEngineSimulator, version: str | None) -> None:
    cid = sim.add_container("cdc-connect-1", "connect", project="cdc")
    sim.add_container("cdc-kafka-1", "kafka", project="cdc")
    sim.append_log(cid, "stdout line", at=T0)
    sim.append_log(cid, "stderr line", stream="stderr", at=T0.replace(microsecond=999999))
    client = docker.DockerClient(base_url=sim.docker_host, version=version, timeout=5)
    # docker-py asks the engine's API version first when none (or "auto") is given.
    assert (("GET", "/version") in sim.requests) == (version in (None, "auto"))
    found = client.containers.list(all=True, filters={"label": ["com.docker.compose.service=connect"]})
    assert [c.name for c in found] == ["cdc-connect-1"]
    assert found[0].labels["com.docker.compose.project"] == "cdc"
    logs = found[0].logs(timestamps=True, tail=10).decode().splitlines()
    assert [line.split(" ", 1)[1] for line in logs] == ["stdout line", "stderr line"]
    assert logs[0].startswith("2025-03-04T10:15:31.123456000Z")
    assert found[0].logs(stdout=False, stderr=True) == b"stderr line\n"
    with pytest.raises(docker.errors.NotFound):
        client.containers.get("ghost")
    client.close()


def test_fault_injection(sim: DockerEngineSimulator, http: httpx.Client) -> None:
    sim.inject(500, {"message": "engine on fire"}, path="/containers/json")
    assert http.get("/_ping").status_code == 200
    failed = http.get("/v1.45/containers/json")
    assert (failed.status_code, failed.json()) == (500, {"message": "engine on fire"})
    assert http.get("/containers/json").status_code == 200
