"""ConnectClient against the Kafka Connect simulator, over real HTTP."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bot.clients.connect import ConnectClient, ConnectorNotRunning, ConnectorStatus, http_reason
from bot.debezium import classify_trace
from bot.errors import BackendError, NotFoundError, UserInputError
from bot.sandbox.connect_sim import ConnectSimulator
from tests.conftest import free_port

CONFIG = {"connector.class": "io.debezium.connector.mysql.MySqlConnector", "tasks.max": "1",
          "database.password": "dbz-secret"}
TRACE = (Path(__file__).parents[1] / "fixtures" / "debezium" / "schema_unknown.txt").read_text()


@pytest.fixture(scope="module")
def server() -> Iterator[ConnectSimulator]:
    with ConnectSimulator() as simulator:
        yield simulator


@pytest.fixture
def sim(server: ConnectSimulator) -> ConnectSimulator:
    server.reset(restart_delay=0)
    server.add_connector("mysql-oltp", CONFIG)
    server.add_connector("jdbc-sink", {"connector.class": "JdbcSinkConnector"}, tasks=2, type="sink")
    return server


@pytest.fixture
def client(sim: ConnectSimulator) -> Iterator[ConnectClient]:
    with ConnectClient(sim.url, timeout=2.0) as connect:
        yield connect


def test_ping_and_list(client: ConnectClient) -> None:
    assert client.ping() == "3.9.0"
    assert client.list_connectors() == ["jdbc-sink", "mysql-oltp"]


def test_statuses_with_a_failed_task(sim: ConnectSimulator, client: ConnectClient) -> None:
    sim.fail_task("jdbc-sink", 1, TRACE)
    statuses = client.statuses()
    assert set(statuses) == {"jdbc-sink", "mysql-oltp"}
    assert statuses["mysql-oltp"].is_healthy
    sink = statuses["jdbc-sink"]
    assert (sink.type, sink.is_healthy, [t.id for t in sink.failed_tasks]) == ("sink", False, [1])
    assert sink.failed_tasks[0].trace == TRACE
    assert sink.tasks[0].trace is None
    assert sim.calls[-1] == ("GET", "/connectors", "expand=status")


def test_client_never_fetches_config(sim: ConnectSimulator, client: ConnectClient) -> None:
    client.ping()
    client.statuses()
    client.status("mysql-oltp")
    client.restart("mysql-oltp")
    assert not [call for call in sim.calls if "config" in call[1] or "info" in call[2]]


def test_restart_202_then_wait_until_running_reports_progress(sim: ConnectSimulator,
                                                              client: ConnectClient) -> None:
    sim.fail_task("mysql-oltp", 0, TRACE)
    seen_restarting = threading.Event()
    # The restart completes only once the client has seen RESTARTING: no race on timing.
    sim.health_check = lambda name: None if seen_restarting.wait(10) else "gate never opened"
    progress: list[ConnectorStatus] = []

    def on_progress(status: ConnectorStatus) -> None:
        progress.append(status)
        if status.tasks[0].state == "RESTARTING":
            seen_restarting.set()

    accepted = client.restart("mysql-oltp")
    assert accepted is not None and accepted.tasks[0].state == "RESTARTING"
    assert sim.calls[-1][2] == "includeTasks=true&onlyFailed=true"
    final = client.wait_until_running("mysql-oltp", timeout=10, interval=0.01, on_progress=on_progress)
    assert final.is_healthy
    assert [s.tasks[0].state for s in progress] == ["RESTARTING", "RUNNING"]  # once per change


def test_restart_connector_only_is_204(sim: ConnectSimulator, client: ConnectClient) -> None:
    sim.fail_connector("mysql-oltp", TRACE)
    assert client.restart("mysql-oltp", include_tasks=False, only_failed=False) is None
    assert sim.calls[-1][2] == "includeTasks=false&onlyFailed=false"
    assert client.status("mysql-oltp").state == "RUNNING"


def test_restart_accepts_200_empty(sim: ConnectSimulator, client: ConnectClient) -> None:
    sim.inject(200, body="", path_contains="/restart")
    assert client.restart("mysql-oltp") is None


def test_health_check_makes_restarted_task_fail_again(sim: ConnectSimulator, client: ConnectClient) -> None:
    sim.fail_task("mysql-oltp", 0, TRACE)
    sim.health_check = lambda name: TRACE  # the drifted column is still there
    accepted = client.restart("mysql-oltp")
    with pytest.raises(ConnectorNotRunning) as caught:
        client.wait_until_running("mysql-oltp", timeout=10, interval=0.01, restarted=accepted)
    assert "failed again after restart" in caught.value.reason
    trace = caught.value.status.failed_tasks[0].trace
    assert classify_trace(trace).kind == "schema_unknown"


def test_wait_until_running_times_out_with_last_state(sim: ConnectSimulator, client: ConnectClient) -> None:
    client.pause("jdbc-sink")
    with pytest.raises(ConnectorNotRunning) as caught:
        client.wait_until_running("jdbc-sink", timeout=0.2, interval=0.05)
    assert caught.value.reason == ("jdbc-sink not RUNNING after 0.2 s "
                                   "(connector PAUSED, task 0 PAUSED, task 1 PAUSED)")
    client.resume("jdbc-sink")
    assert client.status("jdbc-sink").is_healthy


def test_pause_and_resume(sim: ConnectSimulator, client: ConnectClient) -> None:
    client.pause("mysql-oltp")
    assert sim.status("mysql-oltp")["connector"]["state"] == "PAUSED"
    client.resume("mysql-oltp")
    assert sim.status("mysql-oltp")["tasks"][0]["state"] == "RUNNING"
    assert [c[:2] for c in sim.calls] == [("PUT", "/connectors/mysql-oltp/pause"),
                                          ("PUT", "/connectors/mysql-oltp/resume")]


@pytest.mark.parametrize("call", ["status", "restart", "pause", "resume"])
def test_unknown_connector_is_not_found(client: ConnectClient, call: str) -> None:
    with pytest.raises(NotFoundError, match="no-such"):
        getattr(client, call)("no-such")


def _reason(call: object) -> str:
    assert callable(call)
    with pytest.raises(BackendError) as caught:
        call()
    assert caught.value.backend == "Kafka Connect"
    return caught.value.reason


def test_html_error_body(sim: ConnectSimulator, client: ConnectClient) -> None:
    sim.inject(502, "<html><body>Bad Gateway</body></html>", content_type="text/html")
    assert _reason(client.statuses) == "HTTP 502: not JSON (text/html)"
    sim.inject(500, "<html>oops</html>", content_type="text/html; charset=utf-8")
    assert _reason(lambda: client.status("mysql-oltp")) == "HTTP 500: not JSON (text/html)"


def test_json_error_messages(sim: ConnectSimulator, client: ConnectClient) -> None:
    sim.inject(500)
    assert _reason(client.list_connectors) == "HTTP 500: Request timed out"
    sim.inject(409, path_contains="/restart")
    reason = _reason(lambda: client.restart("mysql-oltp"))
    assert reason == ("HTTP 409: Cannot complete request because of a conflicting operation "
                      "(e.g. worker rebalance)")


def test_error_message_is_redacted(sim: ConnectSimulator, client: ConnectClient) -> None:
    sim.inject(400, '{"error_code":400,"message":"bad value database.password=hunter2hunter2"}')
    reason = _reason(client.list_connectors)
    assert reason.startswith("HTTP 400: bad value") and "hunter2hunter2" not in reason


def test_success_that_is_not_json(sim: ConnectSimulator, client: ConnectClient) -> None:
    sim.inject(200, "<html>login page</html>", content_type="text/html")
    assert _reason(client.ping) == "HTTP 200: not JSON (text/html)"


def test_latency_gives_timeout(sim: ConnectSimulator) -> None:
    sim.set_latency(5)
    with ConnectClient(sim.url, timeout=0.2) as slow:
        assert _reason(slow.ping) == "timed out after 0.2 s"


def test_connection_refused_hides_credentials() -> None:
    base = f"http://admin:pa55word@127.0.0.1:{free_port()}"
    with ConnectClient(base) as closed, pytest.raises(BackendError) as caught:
        closed.statuses()
    assert caught.value.reason == "connection refused"
    assert "pa55word" not in str(caught.value)


def test_other_transport_errors_are_named() -> None:
    def broken(request: httpx.Request) -> httpx.Response:
        raise httpx.RemoteProtocolError("server hung up", request=request)

    with ConnectClient("http://connect:8083", transport=httpx.MockTransport(broken)) as client:
        assert _reason(client.ping) == "cannot connect (RemoteProtocolError)"


@pytest.mark.parametrize("name", ["../admin", "a/b", "x?expand=info", "..", ".", "", "a b", "%2e%2e",
                                  "x" * 256, "orders#frag"])
def test_hostile_names_are_refused_without_a_request(sim: ConnectSimulator, client: ConnectClient,
                                                     name: str) -> None:
    before = list(sim.calls)
    for call in (client.status, client.restart, client.pause, client.resume):
        with pytest.raises(UserInputError):
            call(name)
    assert sim.calls == before


def test_refused_name_is_echoed_defanged(client: ConnectClient) -> None:
    with pytest.raises(UserInputError) as caught:
        client.status("<!channel>")
    assert "<" not in str(caught.value) and "??channel?" in str(caught.value)


# -- what the restart pre-check reads (Connect 3.9 answers, over a mock transport) -----------------------------
OFFSETS = (Path(__file__).parents[1] / "fixtures" / "captures" / "connect" / "offsets.json").read_text()


def answering(routes: dict[str, tuple[int, str]]) -> ConnectClient:
    def handle(request: httpx.Request) -> httpx.Response:
        status, body = routes.get(request.url.path, (404, '{"error_code":404,"message":"HTTP 404 Not Found"}'))
        return httpx.Response(status, content=body.encode(), headers={"Content-Type": "application/json"})

    return ConnectClient("http://connect:8083", transport=httpx.MockTransport(handle))


def test_binlog_position_from_the_offsets_endpoint() -> None:
    with answering({"/connectors/c/offsets": (200, OFFSETS)}) as client:
        assert client.binlog_position("c") == ("mysql-bin.000003", 5363)


@pytest.mark.parametrize("answer", [(404, '{"error_code":404,"message":"HTTP 404 Not Found"}'),
                                    (405, '{"error_code":405,"message":"HTTP 405 Method Not Allowed"}'),
                                    (200, '{"offsets": []}')])
def test_no_offsets_endpoint_or_no_offset_is_unknown(answer: tuple[int, str]) -> None:
    with answering({"/connectors/c/offsets": answer}) as client:
        assert client.binlog_position("c") is None


def test_offsets_of_a_worker_that_fails_is_a_backend_error() -> None:
    failing = answering({"/connectors/c/offsets": (500, '{"error_code":500,"message":"Request timed out"}')})
    with failing, pytest.raises(BackendError, match="HTTP 500: Request timed out"):
        failing.binlog_position("c")


def test_info_keeps_the_skip_option_and_drops_the_password() -> None:
    body = ('{"name":"c","type":"source","tasks":[{"connector":"c","task":0}],"config":{"connector.class":'
            '"io.debezium.connector.mysql.MySqlConnector","database.password":"Wr0ng-1234",'
            '"schema.history.internal.skip.unparseable.ddl":"TRUE"}}')
    with answering({"/connectors/c": (200, body)}) as client:
        info = client.info("c")
    assert info.config.skips_unparseable_ddl
    assert "Wr0ng-1234" not in repr(info) + json.dumps(info.model_dump(by_alias=True))


def test_validation_refusal_names_the_user_not_the_password() -> None:
    # What Connect 3.9 + Debezium 3.0 answered to a PUT of a config with a wrong database.password.
    body = ('{"error_code":400,"message":"Connector configuration is invalid and contains the following 1 '
            "error(s):\\nUnable to connect: Access denied for user 'debezium'@'127.0.0.1' (using password: YES)"
            '\\nYou can also find the above list of errors at the endpoint '
            '`/connector-plugins/{connectorType}/config/validate`"}')
    assert "Access denied for user 'debezium'" in http_reason(400, "application/json", body.encode())
