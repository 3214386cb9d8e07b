"""Alert -> Slack latency of the bot vs Alertmanager's own Slack integration, from the same flush.

One Alertmanager receiver has both integrations (webhook -> the bot, slack_configs -> a local `ok`
receiver), so both are sent by the same group flush, concurrently (Alertmanager's fan-out stage).
The native arrival is therefore "Alertmanager's send" plus one localhost HTTP hop, the same hop the
bot's /alerts gets. For each of N alerts (distinct alertname and pipeline, fired one after another):

  native      = native arrival - fire            (Alertmanager's floor: group_wait + its own work)
  root        = bot's root chat.postMessage arrival at the emulator - native arrival
  last_enrich = bot's last enrichment reply arrival at the emulator - native arrival

Run: .venv/bin/python -m bench.alert_latency [--alerts 20]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from functools import partial
from pathlib import Path
from typing import Any

import yaml

from bench.common import DEFAULT_REDIS_URL, OkReceiver, fresh_redis, summary
from bot.sandbox.connect_sim import ConnectSimulator
from bot.sandbox.flink_sim import FlinkSimulator
from bot.sandbox.slack_emulator import SlackEmulator
from bot.sandbox.slack_faults import RecordedCall
from tests.conftest import free_port
from tests.e2e.alertmanager import Alertmanager
from tests.harness import SIGNING_SECRET, WEBHOOK_TOKEN, BotProcess, bot_env

# The enrichment's last reply (Alertmanager's externalURL always gives a silence link).
LINKS = ":link: *Links*:"
TRACE = "io.debezium.DebeziumException: Encountered change event for table bench.t whose schema isn't known"


def am_config(bot_url: str, native_url: str) -> dict[str, Any]:
    return {
        "route": {"receiver": "both", "group_by": ["alertname"], "group_wait": "1s",
                  "group_interval": "10s", "repeat_interval": "1h"},
        "receivers": [{
            "name": "both",
            "webhook_configs": [{"url": bot_url + "/alerts", "send_resolved": True, "http_config": {
                "authorization": {"type": "Bearer", "credentials": WEBHOOK_TOKEN}}}],
            "slack_configs": [{"api_url": native_url + "/services/T0/B0/X0", "channel": "#bench",
                               "send_resolved": True, "title": "[{{ .GroupLabels.alertname }}]"}],
        }],
    }


def pipelines_file(n: int, directory: Path) -> Path:
    path = directory / "pipelines.yml"
    path.write_text(yaml.safe_dump({"pipelines": [
        {"name": f"bench-{i}", "tables": [f"bench.t_{i}"], "connectors": [f"bench-conn-{i}"],
         "flink_jobs": [f"bench-job-{i}"]} for i in range(n)]}))
    return path


def payload(call: RecordedCall) -> dict[str, Any]:
    metadata = call.args.get("metadata") or {}
    if isinstance(metadata, str):
        metadata = json.loads(metadata)
    return dict(metadata.get("event_payload") or {})


def bot_times(emu: SlackEmulator, alertname: str) -> tuple[float, float] | None:
    """(root arrival, last enrichment reply arrival) once the enrichment's last message (the one that ends
    with the links line) is there, else None. The replies of every enricher travel in as few messages as fit
    (bot/incidents/enrich.py), the links line last."""
    posts = emu.calls("chat.postMessage")
    root = next((c for c in posts if payload(c).get("kind") == "root" and f"{alertname} " in
                 str(c.args.get("text", "")) + " "), None)
    if root is None:
        return None
    incident = payload(root).get("incident_id")
    last = next((c for c in posts if payload(c).get("incident_id") == incident
                 and str(payload(c).get("kind", "")).startswith("enrich:") and LINKS in str(c.args.get("text", ""))),
                None)
    return (root.at, last.at) if last else None


def wait(predicate: Any, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while (value := predicate()) is None:
        if time.monotonic() > deadline:
            raise TimeoutError(f"no answer within {timeout:.0f} s")
        time.sleep(0.005)
    return value


def run(n: int, redis_url: str) -> dict[str, Any]:
    scratch = Path(tempfile.mkdtemp(prefix="bench-alerts-"))
    with SlackEmulator(signing_secret=SIGNING_SECRET) as emu, ConnectSimulator(restart_delay=0.2) as connect, \
            FlinkSimulator() as flink, OkReceiver() as native:
        for i in range(n):
            connect.add_connector(f"bench-conn-{i}", {"connector.class": "io.debezium.connector.mysql.MySqlConnector",
                                                      "table.include.list": f"bench.t_{i}"})   # its table only
            connect.fail_task(f"bench-conn-{i}", 0, TRACE)
            flink.add_job(f"bench-job-{i}")
        env = bot_env(fresh_redis(redis_url), emu.api_url, free_port(), CONNECT_URL=connect.url, FLINK_URL=flink.url,
                      PIPELINE_FILE=str(pipelines_file(n, scratch)), DOCKER_HOST="tcp://127.0.0.1:9",
                      LOG_LEVEL="WARNING")
        bot = BotProcess(env).start()
        am = Alertmanager(bot.url, WEBHOOK_TOKEN, am_config(bot.url, native.server.url)).start()
        rows: list[dict[str, float]] = []
        try:
            for i in range(n):
                name = f"bench_{i}"
                fired = time.monotonic()
                am.fire({"alertname": name, "connector": f"bench-conn-{i}", "severity": "critical"})
                t_native = wait(partial(native.first, f"[{name}]")).at
                t_root, t_enrich = wait(partial(bot_times, emu, name))
                rows.append({"native": t_native - fired, "root": t_root - t_native,
                             "last_enrich": t_enrich - t_native, "root_from_fire": t_root - fired})
        finally:
            am.stop()
            bot.stop()
    return {
        "alerts": n,
        "measured_from": "native slack_configs arrival (same Alertmanager flush as the bot's webhook)",
        "alertmanager_native_from_fire": summary([r["native"] for r in rows]),
        "bot_root_from_fire": summary([r["root_from_fire"] for r in rows]),
        "bot_overhead_root": summary([r["root"] for r in rows]),
        "bot_overhead_last_enrichment": summary([r["last_enrich"] for r in rows]),
        "ratio_root_vs_native_p50": round(statistics.median(r["root_from_fire"] for r in rows)
                                          / statistics.median(r["native"] for r in rows), 2),
        "note": "Alertmanager flushes a new group at once when its alert started more than group_wait ago "
                "(these alerts start 1 min in the past, as a Prometheus alert past its `for:` does)",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--alerts", type=int, default=20)
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS_URL))
    args = parser.parse_args()
    print(json.dumps(run(args.alerts, args.redis_url), indent=2))


if __name__ == "__main__":
    main()
