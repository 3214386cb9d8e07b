"""GET /healthz, GET /metrics and `dataflow-bot check-config`, as an operator would use them."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from bench.common import StallingMySQLProxy
from bot.sandbox.slack_emulator import SlackEmulator
from tests.conftest import free_port
from tests.e2e.alerting import alert, notification, post
from tests.e2e.conftest import OwnRedis
from tests.harness import BOT_TOKEN, WEBHOOK_TOKEN, BotProcess, bot_env, run_cli


def test_healthz_turns_503_when_redis_goes_away(own_redis: OwnRedis, slack: SlackEmulator) -> None:
    url = own_redis.url
    bot = BotProcess(bot_env(url, slack.api_url, free_port(), CONNECT_URL="http://127.0.0.1:9")).start()
    try:
        resp = httpx.get(bot.url + "/healthz", timeout=10)
        assert resp.status_code == 200
        body = resp.json()
        assert body["checks"]["redis"]["ok"] is True
        assert body["checks"]["kafka-connect"]["ok"] is False      # configured, nothing listens on port 9
        assert body["status"] == "degraded"
        own_redis.stop()
        resp = httpx.get(bot.url + "/healthz", timeout=10)
        assert resp.status_code == 503
        assert resp.json()["checks"]["redis"]["ok"] is False
    finally:
        bot.stop()


def test_metrics_count_requests_and_slack_calls(bot: BotProcess, slack: SlackEmulator) -> None:
    slack.mention("U0BOB", "C0INCIDENT", "help")
    slack.wait_for(lambda: slack.ephemerals("U0BOB"))
    text = httpx.get(bot.url + "/metrics").text
    assert 'dataflow_http_requests_total{route="/slack/events",status="200"}' in text
    assert 'dataflow_slack_api_calls_total{method="chat.postEphemeral",outcome="ok"}' in text
    assert "dataflow_http_request_duration_seconds_bucket" in text


def test_check_config_names_a_missing_bot_token(redis_url: str, slack: SlackEmulator) -> None:
    env = bot_env(redis_url, slack.api_url, free_port())
    del env["SLACK_BOT_TOKEN"]
    result = run_cli(["check-config"], env)
    assert result.returncode == 2
    assert "SLACK_BOT_TOKEN: missing" in result.stderr


def test_check_config_names_malformed_and_unreachable_settings(redis_url: str, slack: SlackEmulator) -> None:
    env = bot_env(redis_url, slack.api_url, free_port(), INCIDENT_CHANNEL="#incidents",
                  FLINK_URL="http://127.0.0.1:9")
    result = run_cli(["check-config"], env)
    assert result.returncode == 2
    assert "INCIDENT_CHANNEL: malformed" in result.stderr
    env["INCIDENT_CHANNEL"] = "C0INCIDENT"
    result = run_cli(["check-config"], env)
    assert result.returncode == 2
    assert "FLINK_URL: unreachable (flink at http://127.0.0.1:9: connection refused)" in result.stderr
    assert BOT_TOKEN not in result.stdout + result.stderr
    assert "xoxb-…(18 chars)" in result.stdout or "xoxb-" in result.stdout


def test_check_config_passes_and_prints_sources(redis_url: str, slack: SlackEmulator) -> None:
    result = run_cli(["check-config"], bot_env(redis_url, slack.api_url, free_port()))
    assert result.returncode == 0, result.stderr
    assert "configuration OK" in result.stdout
    assert "REDIS_URL" in result.stdout and "[env]" in result.stdout and "[default]" in result.stdout
    assert any(line.startswith("CONNECT_URL") and line.endswith("[unset]") for line in result.stdout.splitlines())
    assert "ok   slack" in result.stdout


def test_serve_refuses_to_start_with_the_same_messages(redis_url: str, slack: SlackEmulator,
                                                        start_bot: Callable[..., BotProcess]) -> None:
    env = bot_env(redis_url, slack.api_url, free_port(), SLACK_BOT_TOKEN="xoxp-user-token")
    result = run_cli(["serve"], env)
    assert result.returncode == 2
    assert "SLACK_BOT_TOKEN: malformed (a bot token starts with xoxb-)" in result.stderr
    env = bot_env(redis_url, slack.api_url, free_port(), SLACK_BOT_TOKEN="xoxb-revoked-token")
    result = run_cli(["serve"], env)
    assert result.returncode == 2
    assert "SLACK_BOT_TOKEN: unreachable (slack at" in result.stderr and "invalid_auth" in result.stderr


def test_help_on_every_command() -> None:
    for args in (["--help"], ["serve", "--help"], ["check-config", "--help"]):
        result = run_cli(args, {"PATH": "/usr/bin:/bin"})
        assert result.returncode == 0, args
        assert "Usage" in result.stdout


def test_healthz_reports_every_configured_backend(start_bot: Callable[..., BotProcess]) -> None:
    from bot.sandbox.docker_sim import DockerEngineSimulator

    with DockerEngineSimulator() as docker_sim:
        bot = start_bot(DOCKER_HOST=docker_sim.docker_host, FLINK_URL="http://127.0.0.1:9",
                        MYSQL_URL="mysql://root@127.0.0.1:3306/")
        body = httpx.get(bot.url + "/healthz", timeout=10).json()
    checks = body["checks"]
    assert checks["docker"]["ok"] is True and checks["docker"]["detail"].startswith("API ")
    assert checks["mysql"]["ok"] is True and checks["flink"]["ok"] is False
    assert "root" not in checks["mysql"]["where"]                  # no credentials in the answer
    assert body["status"] == "degraded"


class SilentServer:
    """Accepts connections and never answers: a MariaDB or Kafka Connect that hangs."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                self.held.append(self.sock.accept()[0])

    def close(self) -> None:
        for conn in self.held:
            conn.close()
        self.sock.close()


@pytest.mark.parametrize("mysql_hangs", ["before its greeting", "after the login"])
def test_healthz_answers_with_hung_backends_and_intake_keeps_working(start_bot: Callable[..., BotProcess],
                                                                     mysql_hangs: str) -> None:
    """MariaDB, Kafka Connect, Flink and Docker all accept and never answer."""
    silent = [SilentServer() for _ in range(4)]
    proxy = StallingMySQLProxy().__enter__()
    mysql_port = silent[0].port if mysql_hangs == "before its greeting" else proxy.port
    try:
        bot = start_bot(MYSQL_URL=f"mysql://root@127.0.0.1:{mysql_port}/",
                        CONNECT_URL=f"http://127.0.0.1:{silent[1].port}", FLINK_URL=f"http://127.0.0.1:{silent[2].port}",
                        DOCKER_HOST=f"tcp://127.0.0.1:{silent[3].port}")
        with ThreadPoolExecutor(max_workers=8) as pool:     # more pending probes than before took the server down
            answers = list(pool.map(lambda _i: httpx.get(bot.url + "/healthz", timeout=15), range(8)))
        for resp in answers:   # the last background probe (the start-up check's, at first) and its age
            checks = resp.json()["checks"]
            assert resp.status_code == 200 and resp.json()["status"] == "degraded"
            assert checks["mysql"] == {**checks["mysql"], "ok": False, "detail": "timed out"}
            for name in ("kafka-connect", "flink", "docker"):
                assert checks[name]["ok"] is False and checks[name]["detail"] == "timed out", checks
            assert checks["redis"]["ok"] is True and isinstance(checks["mysql"]["age_seconds"], float)
        stored = post(bot.url, notification(alert("SchemaDriftDetected", table="oltp.orders")))
        assert stored.status_code == 200
    finally:
        proxy.__exit__(None, None, None)
        for server in silent:
            server.close()


def test_check_config_lists_every_malformed_and_missing_setting_in_one_run(redis_url: str,
                                                                          slack: SlackEmulator) -> None:
    env = bot_env(redis_url, slack.api_url, free_port(), BOT_PORT="abc", LOG_LEVEL="LOUD",
                  DRIFT_WATCH_INTERVAL_SECONDS="-5")
    for unset in ("INCIDENT_CHANNEL", "ALERT_WEBHOOK_TOKEN"):
        env.pop(unset)
    result = run_cli(["check-config"], env)
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert "BOT_PORT: malformed (expected a whole number, e.g. 3000)" in lines
    assert any(line.startswith("LOG_LEVEL: malformed (unknown log level 'LOUD'") for line in lines)
    assert "DRIFT_WATCH_INTERVAL_SECONDS: malformed (must be at least 0)" in lines
    assert sum(line.startswith(("INCIDENT_CHANNEL: missing", "ALERT_WEBHOOK_TOKEN: missing")) for line in lines) == 2


def test_serve_with_an_unknown_log_level_exits_2_with_one_line(redis_url: str, slack: SlackEmulator) -> None:
    result = run_cli(["serve"], bot_env(redis_url, slack.api_url, free_port(), LOG_LEVEL="LOUD"))
    assert result.returncode == 2
    assert result.stderr.startswith("LOG_LEVEL: malformed (unknown log level 'LOUD'")
    assert "Traceback" not in result.stdout + result.stderr


def test_slow_exports_cannot_take_the_threads_of_intake(start_bot: Callable[..., BotProcess],
                                                        slack: SlackEmulator) -> None:
    """HTTP_THREADS=4 leaves one slot to postmortem exports; with Slack slow to answer them, a second
    export is refused at once (503, Retry-After) and alerts are still taken."""
    bot = start_bot(HTTP_THREADS="4")
    post(bot.url, notification(alert("SchemaDriftDetected", table="oltp.orders")))
    slack.wait_for(lambda: slack.messages("C0INCIDENT"), what="the root")
    slack.set_latency(3.0, "conversations.replies")
    auth = {"Authorization": f"Bearer {WEBHOOK_TOKEN}"}
    with ThreadPoolExecutor(max_workers=3) as pool:
        first = pool.submit(httpx.get, bot.url + "/incidents/INC-1/postmortem.md", headers=auth, timeout=30)
        slack.wait_for(lambda: slack.calls("conversations.replies"), what="the first export reading the thread")
        second = httpx.get(bot.url + "/incidents/INC-1/postmortem.md", headers=auth, timeout=30)
        intake = post(bot.url, notification(alert("DiskAlmostFull", instance="db-1")))
        assert first.result().status_code == 200
    assert second.status_code == 503 and second.headers["Retry-After"] == "5"
    assert second.json() == {"error": "busy",
                             "reason": "postmortem exports: 1 already running, the most at once; retry in a few seconds"}
    assert intake.status_code == 200
