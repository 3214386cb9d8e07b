"""An alert from the real Prometheus through the real Alertmanager gives a root whose four links point at
the right place: the graph is this Prometheus's, the runbook is the rule's, the dashboard covers the
incident, and the silence's matchers select exactly the alert in this Alertmanager."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import httpx
import yaml

from bot.sandbox.connect_sim import DEFAULT_FAILED_METRIC, ConnectSimulator
from bot.sandbox.slack_emulator import SlackEmulator
from tests.conftest import require_binary
from tests.e2e.alertmanager import Alertmanager
from tests.e2e.prometheus import RULES, Prometheus, fast_rules
from tests.e2e.test_alert_intake import roots
from tests.e2e.test_prometheus_to_bot import alertmanager_config, host_port
from tests.harness import WEBHOOK_TOKEN, BotProcess

GRAFANA = "https://grafana.example"
RUNBOOKS = "https://git.example/dataflow/blob/main/"
_LINK = re.compile(r"<([^|>]+)\|([^>]+)>")


def rule_runbook_urls() -> dict[str, str]:
    return {rule["alert"]: rule["annotations"]["runbook_url"]
            for path in RULES.glob("*.yml") for group in yaml.safe_load(path.read_text())["groups"]
            for rule in group["rules"] if "alert" in rule}


def root_links(root: dict[str, Any]) -> dict[str, str]:
    line = next(b["text"]["text"] for b in root["blocks"] if b.get("text", {}).get("text", "").startswith(":link:"))
    return {label: url.replace("&amp;", "&") for url, label in _LINK.findall(line)}


def test_an_alert_from_alertmanager_gives_a_root_with_four_working_links(
        start_bot: Callable[..., BotProcess], slack: SlackEmulator, connect_sim: ConnectSimulator,
        redis_client: Any, tmp_path: Path) -> None:
    require_binary("prometheus")
    bot = start_bot(CONNECT_URL=connect_sim.url, GRAFANA_URL=GRAFANA, RUNBOOK_BASE_URL=RUNBOOKS)
    token_file = tmp_path / "alert_webhook_token"
    token_file.write_text(WEBHOOK_TOKEN)
    am = Alertmanager(bot.url, WEBHOOK_TOKEN, alertmanager_config(bot.url, token_file)).start()
    rules = fast_rules(tmp_path, renames={DEFAULT_FAILED_METRIC: connect_sim.failed_task_metric},
                       keep=frozenset({"DataflowBotDown"}))
    prom = Prometheus(rules, alertmanager=host_port(am.url), targets={
        "dataflow-bot": host_port(bot.url), "kafka-connect": host_port(connect_sim.url)}).start()
    try:
        root = slack.wait_for(lambda: roots(slack), timeout=30, what="a root from Alertmanager")[0]
        links = root_links(root)
        inc = json.loads(redis_client.get("dfo:incident:INC-1"))
        lead = next(a for a in inc["alerts"].values() if a["status"] == "firing")
        assert set(links) == {"Prometheus graph", "Runbook", "Grafana", "Silence"}, links

        graph = links["Prometheus graph"]
        assert graph.startswith(prom.url + "/graph?g0.expr="), graph
        assert "connect_failed_tasks" in parse_qs(urlsplit(graph).query)["g0.expr"][0]
        assert httpx.get(graph, timeout=5, follow_redirects=True).status_code == 200   # the UI serves it

        assert links["Runbook"] == RUNBOOKS + rule_runbook_urls()[lead["alertname"]]
        assert links["Grafana"] == (f"{GRAFANA}/d/dataflow-pipeline?"
                                    f"from={int((inc['opened_at'] - 1800) * 1000)}&to=now"
                                    f"&var-pipeline={inc['pipeline']}")

        silence = links["Silence"]
        assert silence.startswith(am.url + "/#/silences/new?filter=")   # the externalURL Alertmanager sent
        matchers = unquote(silence.split("filter=", 1)[1].split("&", 1)[0]).strip("{}").split(",")
        selected = httpx.get(am.url + "/api/v2/alerts", params={"filter": matchers}, timeout=5).json()
        assert [a["fingerprint"] for a in selected] == [lead["fingerprint"]]
    finally:
        prom.stop()
        am.stop()
