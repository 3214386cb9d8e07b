"""Graphs and lag from the real Prometheus: an alert through the real Alertmanager gives the thread a PNG
of the incident's metrics with alt text; `/dataflow graph` draws one on demand (slash and mention); and
without PROMETHEUS_URL one line says why there is no graph."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot.sandbox.connect_sim import DEFAULT_FAILED_METRIC, ConnectSimulator
from bot.sandbox.flink_sim import FlinkSimulator
from bot.sandbox.slack_emulator import SlackEmulator
from tests.conftest import free_port, require_binary
from tests.e2e.alertmanager import Alertmanager
from tests.e2e.commands_support import ask, ask_in_thread, open_incident
from tests.e2e.prometheus import Prometheus, fast_rules
from tests.e2e.test_alert_intake import roots
from tests.e2e.test_prometheus_to_bot import alertmanager_config, host_port
from tests.harness import CHANNEL, WEBHOOK_TOKEN, BotProcess

ALICE = "U0ALICE"
PNG = b"\x89PNG\r\n\x1a\n"


def pngs_in_thread(slack: SlackEmulator, root_ts: str) -> list[dict[str, Any]]:
    return [f for r in slack.replies(CHANNEL, root_ts) for f in r.get("files") or []
            if str(f.get("name", "")).endswith(".png")]


def uploaded(slack: SlackEmulator, name: str) -> tuple[bytes, str]:
    """The bytes Slack received for a file, and the alt text the upload asked for."""
    content = next(f["content"] for f in slack.files() if f["name"] == name)
    call = next(c for c in slack.calls("files.getUploadURLExternal") if c.args.get("filename") == name)
    return content, str(call.args.get("alt_txt", ""))


def test_an_alert_from_alertmanager_puts_a_graph_with_alt_text_in_the_thread_and_graph_draws_on_demand(
        start_bot: Callable[..., BotProcess], slack: SlackEmulator, connect_sim: ConnectSimulator,
        flink_sim: FlinkSimulator, tmp_path: Path) -> None:
    require_binary("prometheus")
    prom_port = free_port()   # the bot is told where Prometheus will be; Prometheus scrapes the bot
    bot = start_bot(CONNECT_URL=connect_sim.url, FLINK_URL=flink_sim.url,
                    PROMETHEUS_URL=f"http://127.0.0.1:{prom_port}")
    token_file = tmp_path / "alert_webhook_token"
    token_file.write_text(WEBHOOK_TOKEN)
    am = Alertmanager(bot.url, WEBHOOK_TOKEN, alertmanager_config(bot.url, token_file)).start()
    rules = fast_rules(tmp_path, renames={DEFAULT_FAILED_METRIC: connect_sim.failed_task_metric},
                       keep=frozenset({"DataflowBotDown"}))
    prom = Prometheus(rules, alertmanager=host_port(am.url), port=prom_port, targets={
        "dataflow-bot": host_port(bot.url), "kafka-connect": host_port(connect_sim.url),
        "flink": host_port(flink_sim.url)}).start()
    try:
        root = slack.wait_for(lambda: roots(slack), timeout=30, what="a root from Alertmanager")[0]
        (image,) = slack.wait_for(lambda: pngs_in_thread(slack, root["ts"]), timeout=30,
                                  what=f"a graph in the thread; bot log:\n{bot.logs()[-2000:]}")
        assert image["name"] == "INC-1-graph.png"
        content, alt = uploaded(slack, "INC-1-graph.png")
        assert content.startswith(PNG) and len(content) > 5000
        assert alt.startswith("INC-1: ") and "fired at" in alt
        assert "Kafka Connect failed tasks: mysql-oltp-orders last 1" in alt
        caption = next(r["text"] for r in slack.replies(CHANNEL, root["ts"]) if "*Graph*" in r["text"])
        assert "*Debezium lag*: unknown" in caption and "*Flink consumer lag*: unknown" in caption

        assert ":chart_with_upwards_trend: Posted the graph in INC-1's thread." in ask(slack, ALICE, "graph failed-tasks")
        slack.mention(ALICE, CHANNEL, "graph lag INC-1", thread_ts=root["ts"])
        slack.wait_for(lambda: len(pngs_in_thread(slack, root["ts"])) == 3, timeout=20, what="two graphs on demand")
        names = [f["name"] for f in pngs_in_thread(slack, root["ts"])[1:]]
        assert [n.rsplit("-", 1)[0] for n in names] == ["INC-1-graph-failed-tasks", "INC-1-graph-lag"]
        alts = [uploaded(slack, n)[1] for n in names]
        assert "Kafka Connect failed tasks: mysql-oltp-orders last 1" in alts[0] and "Debezium" not in alts[0]
        assert "Debezium lag behind the binlog: no series in this window." in alts[1]

        assert "Unknown metric `bogus`" in ask(slack, ALICE, "graph bogus")
        status = ask_in_thread(slack, ALICE, "status", root["ts"])
        assert "*Debezium lag*: unknown" in status and "*Flink consumer lag*: unknown" in status
    finally:
        prom.stop()
        am.stop()


def test_without_prometheus_one_line_says_why_there_is_no_graph(bot: BotProcess, slack: SlackEmulator) -> None:
    root = open_incident(slack, bot.url, table="oltp.orders")
    line = ("no graph, because Prometheus is not configured (set PROMETHEUS_URL). "
            "Debezium and Flink lag: unknown.")
    slack.wait_for(lambda: [r for r in slack.replies(CHANNEL, root) if line in r["text"]], what="the no-graph line")
    assert "no graph, because Prometheus is not configured" in ask_in_thread(slack, ALICE, "graph drift INC-1", root)
    assert pngs_in_thread(slack, root) == []
    assert "*Debezium and Flink lag*: unknown (set PROMETHEUS_URL)." in ask_in_thread(slack, ALICE, "status", root)
