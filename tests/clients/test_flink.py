"""FlinkClient against the Flink simulator over real HTTP (and once through an injected transport)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from bot.clients.flink import FlinkClient
from bot.clients.flink_parse import parse_last_exception
from bot.errors import BackendError, NotFoundError
from bot.sandbox.flink_sim import FlinkSimulator
from tests.conftest import free_port

EXC = "org.apache.flink.util.FlinkRuntimeException"
TRACE = (f"{EXC}: Failed to deserialize consumer record\n\tat org.apache.flink.X.y(X.java:42)\n"
         "Caused by: org.apache.kafka.connect.errors.DataException: unexpected_field is not a valid field name")


@pytest.fixture(scope="module")
def server() -> Iterator[FlinkSimulator]:
    with FlinkSimulator(restart_delay=3600.0) as flink:
        yield flink


@pytest.fixture
def sim(server: FlinkSimulator) -> FlinkSimulator:
    server.reset()
    return server


@pytest.fixture
def client(sim: FlinkSimulator) -> Iterator[FlinkClient]:
    with FlinkClient(sim.url, timeout=2.0) as flink:
        yield flink


def test_ping_and_jobs_newest_first(sim: FlinkSimulator, client: FlinkClient) -> None:
    old = sim.add_job("orders-enrichment", state="CANCELED")
    new = sim.add_job("orders-enrichment")
    assert client.ping() == "1.18.1"
    jobs = client.jobs()
    assert [(j.jid, j.state) for j in jobs] == [(new, "RUNNING"), (old, "CANCELED")]
    assert jobs[0].start_time > jobs[1].start_time and jobs[0].duration >= 0


@pytest.mark.parametrize("api_version", ["1.x", "2.x"])
def test_job_health_of_a_restarting_job(api_version: str) -> None:
    with FlinkSimulator(api_version=api_version, restart_delay=3600.0) as sim:
        sim.add_job("orders-enrichment", state="CANCELED")
        jid = sim.add_job("orders-enrichment")
        sim.complete_checkpoint(jid, state_size=4096, duration_ms=80)
        sim.fail_and_restart("orders-enrichment", EXC, TRACE, task_name="Source: cdc-orders (1/1)")
        sim.fail_and_restart("orders-enrichment", EXC, TRACE)
        health = FlinkClient(sim.url).job_health("orders-enrichment")
    assert (health.jid, health.state, health.num_restarts, health.healthy) == (jid, "RESTARTING", 2, False)
    exc = health.last_exception
    assert exc is not None
    assert (exc.name, exc.task_name) == (EXC, "Source: cdc-orders (1/1)")
    assert exc.message == f"{EXC}: Failed to deserialize consumer record"
    assert exc.root_cause is not None and "unexpected_field" in exc.root_cause
    assert exc.timestamp is not None and exc.timestamp > 0
    checkpoint = health.last_checkpoint
    assert checkpoint is not None
    assert (checkpoint.id, checkpoint.state_size, checkpoint.duration_ms, checkpoint.completed_total) == (
        1, 4096, 80, 1)


def test_job_health_by_id_and_a_healthy_job(sim: FlinkSimulator, client: FlinkClient) -> None:
    jid = sim.add_job("orders-enrichment")
    health = client.job_health(jid)
    assert (health.name, health.state, health.num_restarts) == ("orders-enrichment", "RUNNING", 0)
    assert health.last_exception is None and health.last_checkpoint is None and health.healthy


def test_falls_back_to_the_deprecated_root_exception(sim: FlinkSimulator, client: FlinkClient) -> None:
    jid = sim.add_job("orders-enrichment")
    legacy = {"root-exception": TRACE, "timestamp": 1741083299000, "all-exceptions": [], "truncated": False,
              "exceptionHistory": {"entries": [], "truncated": False}}
    sim.inject(200, legacy, path=f"/jobs/{jid}/exceptions")
    exc = client.job_health("orders-enrichment").last_exception
    assert exc is not None
    assert (exc.name, exc.timestamp, exc.task_name) == (EXC, 1741083299000, None)
    assert exc.message.startswith(f"{EXC}: Failed to deserialize")


def test_prefers_history_entries_by_timestamp_over_position() -> None:
    older = {"exceptionName": "a.Old", "stacktrace": "a.Old: x", "timestamp": 1, "taskName": "t1"}
    newer = {"exceptionName": "b.New", "stacktrace": "b.New: y", "timestamp": 2, "taskName": "t2"}
    body = {"root-exception": "c.Root: z", "exceptionHistory": {"entries": [older, newer]}}
    exc = parse_last_exception(body)
    assert exc is not None and (exc.name, exc.message, exc.task_name) == ("b.New", "b.New: y", "t2")
    assert parse_last_exception({"exceptionHistory": {"entries": []}}) is None


def test_missing_metric_and_checkpoints_404_give_none(sim: FlinkSimulator, client: FlinkClient) -> None:
    jid = sim.add_job("orders-enrichment")
    sim.inject(200, [], path=f"/jobs/{jid}/metrics")
    sim.inject(404, {"errors": ["Checkpointing is not enabled"]}, path=f"/jobs/{jid}/checkpoints")
    health = client.job_health(jid)
    assert health.num_restarts is None and health.last_checkpoint is None


def test_find_jobs_skips_names_without_a_job(sim: FlinkSimulator, client: FlinkClient) -> None:
    sim.add_job("orders-enrichment")
    sim.add_job("payments-rollup")
    found = client.find_jobs(["payments-rollup", "no-such-job", "orders-enrichment"])
    assert [h.name for h in found] == ["payments-rollup", "orders-enrichment"]


def test_unknown_job_is_not_found(sim: FlinkSimulator, client: FlinkClient) -> None:
    with pytest.raises(NotFoundError, match="no-such-job"):
        client.job_health("no-such-job")
    with pytest.raises(NotFoundError):
        client.job_health("0" * 32)


def test_malformed_job_id_never_reaches_a_path(sim: FlinkSimulator, client: FlinkClient) -> None:
    evil = {"jid": "../../jars/upload", "name": "orders-enrichment", "state": "RUNNING", "start-time": 1}
    sim.inject(200, {"jobs": [evil]}, path="/jobs/overview")
    with pytest.raises(BackendError, match="malformed job id"):
        client.job_health("orders-enrichment")
    assert [path for _, path in sim.requests] == ["/jobs/overview"]


@pytest.mark.parametrize(("status", "body", "ctype", "reason"), [
    (500, {"errors": ["Internal server error.", "detail"]}, "application/json",
     "HTTP 500: Internal server error."),
    (502, "<html>Bad Gateway</html>", "text/html", "HTTP 502: not JSON (text/html)"),
    (503, {"message": "unavailable"}, "application/json", "HTTP 503"),
])
def test_http_failures(sim: FlinkSimulator, client: FlinkClient,
                       status: int, body: object, ctype: str, reason: str) -> None:
    sim.inject(status, body, content_type=ctype)
    with pytest.raises(BackendError) as err:
        client.ping()
    assert (err.value.backend, err.value.where, err.value.reason) == ("Flink", sim.url, reason)


def test_timeout(sim: FlinkSimulator) -> None:
    sim.set_latency(0.5)
    with FlinkClient(sim.url, timeout=0.1) as client, pytest.raises(BackendError) as err:
        client.ping()
    assert err.value.reason == "timed out after 0.1 s"


def test_connection_refused_and_no_credentials_in_where() -> None:
    port = free_port()
    with pytest.raises(BackendError) as err:
        FlinkClient(f"http://admin:s3cret@127.0.0.1:{port}/").ping()
    assert err.value.reason == "connection refused"
    assert err.value.where == f"http://127.0.0.1:{port}"
    assert "s3cret" not in str(err.value)


def test_injected_transport_is_used(sim: FlinkSimulator) -> None:
    sim.add_job("orders-enrichment")
    transport = httpx.WSGITransport(app=sim.app)   # the simulator's app in-process, no socket
    with FlinkClient("http://flink.invalid:8081", transport=transport) as client:
        assert client.job_health("orders-enrichment").state == "RUNNING"
