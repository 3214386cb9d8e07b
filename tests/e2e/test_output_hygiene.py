"""What the bot echoes is escaped for Slack, /healthz says a reason class (never exception text), and
/metrics labels are bounded whatever paths are requested."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator

import httpx
import pytest
from flask.testing import FlaskClient

from bot.app import build_app
from bot.blocks.common import escape
from bot.config import Settings
from bot.deps import build_deps
from bot.sandbox.slack_emulator import SlackEmulator
from tests.conftest import free_port
from tests.e2e.alerting import alert, notification, post
from tests.harness import CHANNEL, REPO, BotProcess

PING = "<!channel>"


def test_escape_is_idempotent_and_keeps_slack_escaped_input_as_typed() -> None:
    assert escape(PING) == "&lt;!channel&gt;"
    assert escape(escape(PING)) == "&lt;!channel&gt;"
    assert escape("a &lt; b & c") == "a &lt; b &amp; c"        # Slack sent a typed "<" as &lt; already


def test_user_input_echoed_in_errors_pings_nobody(bot: BotProcess, slack: SlackEmulator) -> None:
    assert post(bot.url, notification(alert("SchemaDriftDetected", table="oltp.orders"))).status_code == 200
    slack.wait_for(lambda: slack.messages(CHANNEL), what="the incident's root")
    unknown = slack.slash_command("U0ALICE", PING).json()["text"]
    assert "`&lt;!channel&gt;`" in unknown and PING not in unknown
    for command in (f"runbook {PING}", f"run {PING}", f"schema {PING}", f"schema oltp.{PING}"):
        before = len(slack.response_posts())
        slack.slash_command("U0ALICE", command)
        answer = slack.wait_for(lambda b=before: [p for p in slack.response_posts()[b:]
                                                  if not p["text"].startswith(":hourglass")] or None,
                                what=command)[-1]["text"]
        assert PING not in answer and "&amp;lt;" not in answer, (command, answer)
        assert "&lt;!channel&gt;" in answer, (command, answer)


def test_healthz_says_a_reason_class_not_exception_text(start_bot: Callable[..., BotProcess]) -> None:
    closed = free_port()
    bot = start_bot(CONNECT_URL=f"http://127.0.0.1:{closed}",
                    MYSQL_URL="mysql://nosuch:wrong-pw-1@127.0.0.1:3306/")
    body = httpx.get(bot.url + "/healthz", timeout=10).json()
    assert body["checks"]["kafka-connect"]["detail"] == "connection refused"
    assert body["checks"]["mysql"]["detail"] == "authentication failed"
    text = str(body)
    for raw in ("Errno", "Access denied", "nosuch", "wrong-pw-1", "OperationalError"):
        assert raw not in text


@pytest.fixture
def client(redis_url: str) -> Iterator[FlaskClient]:
    settings = Settings(slack_bot_token="xoxb-test", slack_signing_secret="s", incident_channel=CHANNEL,
                        alert_webhook_token="t", redis_url=redis_url,
                        pipeline_file=REPO / "config" / "pipelines.yml", _env_file=None)  # type: ignore[call-arg]
    deps = build_deps(settings)
    yield build_app(settings, deps).test_client()
    deps.jobs.shutdown(wait=False)


def _series(client: FlaskClient) -> set[str]:
    text = client.get("/metrics").get_data(as_text=True)
    return {line.rsplit(" ", 1)[0] for line in text.splitlines() if line.startswith("dataflow_http")}


def test_metrics_labels_do_not_grow_with_the_paths_requested(client: FlaskClient) -> None:
    for method in ("get", "post", "put", "delete"):
        getattr(client, method)("/nosuch")
        getattr(client, method)("/incidents/INC-1/postmortem.md")
    _series(client)  # /metrics itself is a route too
    before = _series(client)
    for _ in range(200):
        for method in ("get", "post", "put", "delete"):
            getattr(client, method)(f"/{secrets.token_hex(6)}/{secrets.token_hex(3)}")
            getattr(client, method)(f"/incidents/INC-{secrets.randbelow(10**6)}/postmortem.md")
    assert _series(client) == before
    assert not any("INC-" in s or "/nosuch" in s for s in before)
