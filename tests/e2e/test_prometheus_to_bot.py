"""The whole alert path with nothing faked but Slack and the pipeline's backends:

MariaDB drift -> the bot's drift watcher -> GET /metrics -> real Prometheus evaluating our rules ->
real Alertmanager routing with our alertmanager.yml -> POST /alerts -> one incident thread in Slack.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from bot.sandbox.connect_sim import DEFAULT_FAILED_METRIC, ConnectSimulator
from bot.sandbox.flink_sim import FlinkSimulator
from bot.sandbox.slack_emulator import SlackEmulator
from tests.conftest import require_binary
from tests.e2e.alertmanager import Alertmanager
from tests.e2e.prometheus import Prometheus, fast_rules
from tests.e2e.test_alert_intake import roots
from tests.harness import CHANNEL, REPO, WEBHOOK_TOKEN, BotProcess

AM_CONFIG = REPO / "monitoring" / "alertmanager" / "alertmanager.yml"
CONNECTOR = "mysql-oltp-orders"


def alertmanager_config(bot_url: str, token_file: Path) -> dict[str, Any]:
    """Our alertmanager.yml with only what a deployment changes: the bot's URL, the token file, and
    the group timings (30s/5m would make this test minutes long)."""
    cfg = yaml.safe_load(AM_CONFIG.read_text())
    cfg["route"].update(group_wait="1s", group_interval="1s")
    (hook,) = next(r for r in cfg["receivers"] if r["name"] == "dataflow-bot")["webhook_configs"]
    hook["url"] = bot_url + "/alerts"
    hook["http_config"]["authorization"]["credentials_file"] = str(token_file)
    return dict(cfg)


def host_port(url: str) -> str:
    return url.split("//", 1)[1]


def test_drift_in_mariadb_reaches_one_slack_thread_through_prometheus_and_alertmanager(
        start_bot: Callable[..., BotProcess], slack: SlackEmulator, connect_sim: ConnectSimulator,
        flink_sim: FlinkSimulator, drift_table: Any, tmp_path: Path) -> None:
    require_binary("prometheus")
    connect_sim.set_task_state(CONNECTOR, 0, "RUNNING")   # the connector fails later, on cue
    bot = start_bot(**drift_table.env, CONNECT_URL=connect_sim.url, FLINK_URL=flink_sim.url,
                    DRIFT_WATCH_INTERVAL_SECONDS="1")
    token_file = tmp_path / "alert_webhook_token"
    token_file.write_text(WEBHOOK_TOKEN)
    am = Alertmanager(bot.url, WEBHOOK_TOKEN, alertmanager_config(bot.url, token_file)).start()
    # DataflowBotDown keeps its 2m: absent(up{job="dataflow-bot"}) is true until the first scrape, and
    # with `for: 1s` it would open its own incident before Prometheus has ever scraped the bot.
    rules = fast_rules(tmp_path, renames={DEFAULT_FAILED_METRIC: connect_sim.failed_task_metric},
                       keep=frozenset({"DataflowBotDown"}))
    prom = Prometheus(rules, alertmanager=host_port(am.url), targets={
        "dataflow-bot": host_port(bot.url), "kafka-connect": host_port(connect_sim.url),
        "flink": host_port(flink_sim.url)}).start()
    try:
        drift_table.alter("ALTER TABLE orders ADD COLUMN unexpected_field VARCHAR(64) NULL")
        root = _wait(slack, prom, bot, lambda: roots(slack), "a root message")[0]
        assert "SchemaDriftDetected" in root["text"]
        assert drift_table.table in str(root["blocks"]), root["blocks"]   # label_join made table="db.orders"

        connect_sim.fail_task(CONNECTOR, 0, "io.debezium.DebeziumException: schema isn't known")
        joined = _wait(slack, prom, bot, lambda: [r for r in slack.replies(CHANNEL, root["ts"])
                                                  if "Also firing" in r["text"] and CONNECTOR in r["text"]],
                       "the Connect alert joining the thread")
        assert "failed task" in joined[0]["text"]
        assert len(roots(slack)) == 1
        assert [m["ts"] for m in slack.messages(CHANNEL)] == [root["ts"]]   # nothing else top-level
    finally:
        prom.stop()
        am.stop()


def _wait(slack: SlackEmulator, prom: Prometheus, bot: BotProcess, predicate: Callable[[], Any], what: str) -> Any:
    """slack.wait_for, and on a timeout say where the chain stopped: Prometheus's alerts, the bot's log."""
    try:
        return slack.wait_for(predicate, timeout=30, what=what)
    except AssertionError as exc:
        seen = [(a["labels"]["alertname"], a["labels"].get("signal", ""), a["state"]) for a in prom.alerts()]
        raise AssertionError(f"{exc}\nPrometheus alerts: {seen}\nbot log tail:\n{bot.logs()[-3000:]}") from None
