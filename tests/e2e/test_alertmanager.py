"""Through the real Alertmanager: its webhook, its retries, its resolved notifications."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from bot.sandbox.slack_emulator import SlackEmulator
from tests.conftest import free_port
from tests.e2e.alertmanager import Alertmanager
from tests.e2e.conftest import OwnRedis
from tests.e2e.test_alert_intake import roots, wait_thread
from tests.harness import CHANNEL, WEBHOOK_TOKEN, BotProcess, bot_env


@pytest.fixture
def alertmanager(pipeline_bot: BotProcess) -> Iterator[Alertmanager]:
    am = Alertmanager(pipeline_bot.url, WEBHOOK_TOKEN).start()
    yield am
    am.stop()


def test_alertmanager_firing_joining_and_resolving(alertmanager: Alertmanager, slack: SlackEmulator) -> None:
    drift = {"alertname": "SchemaDriftDetected", "table": "oltp.orders", "severity": "critical"}
    alertmanager.fire(drift, "Columns of oltp.orders differ from the baseline")
    wait_thread(slack, "Kafka Connect", "Flink")
    root = roots(slack)[0]
    assert "SchemaDriftDetected" in root["text"]
    alertmanager.fire({"alertname": "ConnectorTaskFailed", "connector": "mysql-oltp-orders", "severity": "critical"})
    slack.wait_for(lambda: any("Also firing: *ConnectorTaskFailed*" in r["text"]
                               for r in slack.replies(CHANNEL, root["ts"])), what="the second alertname joining")
    alertmanager.fire(drift, resolve=True)
    slack.wait_for(lambda: any("Resolved: *SchemaDriftDetected*" in r["text"]
                               for r in slack.replies(CHANNEL, root["ts"])), what="the resolved line")
    alertmanager.fire({"alertname": "ConnectorTaskFailed", "connector": "mysql-oltp-orders", "severity": "critical"},
                      resolve=True)
    slack.wait_for(lambda: (m := slack.message(CHANNEL, root["ts"])) and m["text"].startswith("[RESOLVED]"),
                   what="the root edited to resolved")
    assert len(roots(slack)) == 1


def test_wrong_token_is_not_retried_and_posts_nothing(pipeline_bot: BotProcess, slack: SlackEmulator) -> None:
    am = Alertmanager(pipeline_bot.url, "wrong-token").start()
    try:
        am.fire({"alertname": "SchemaDriftDetected", "table": "oltp.orders"})
        log = am.dir / "am.log"
        slack_ok = slack.wait_for(lambda: "401" in log.read_text() and log.read_text(), timeout=15,
                                  what="Alertmanager logging the 401")
        assert "unexpected status code 401" in slack_ok
        assert roots(slack) == []
    finally:
        am.stop()


def test_a_503_is_retried_by_alertmanager_and_gives_one_root(own_redis: OwnRedis, slack: SlackEmulator) -> None:
    bot = BotProcess(bot_env(own_redis.url, slack.api_url, free_port())).start()
    am = Alertmanager(bot.url, WEBHOOK_TOKEN)
    try:
        own_redis.stop()                                  # the bot cannot store alerts: it answers 503
        am.start()
        am.fire({"alertname": "SchemaDriftDetected", "table": "oltp.orders", "severity": "critical"})
        log = am.dir / "am.log"
        slack.wait_for(lambda: "503" in log.read_text(), timeout=15, what="Alertmanager logging the 503")
        own_redis.start()                                 # Alertmanager retries 5xx: the next try lands
        slack.wait_for(lambda: roots(slack), timeout=20, what="the root after the retry")
        time.sleep(2)                                     # room for a duplicate delivery to show up, if any
        assert len(roots(slack)) == 1
        assert "unavailable" in httpx.get(bot.url + "/metrics").text   # the 503s were counted
    finally:
        am.stop()
        bot.stop()
