"""P3: an alert storm into the real bot, with the Slack emulator enforcing Slack's rate limits.

2,000 Alertmanager notifications in 10 s over 50 pipelines (bench/storm_plan.py says what they carry),
POSTed to the real `dataflow-bot serve` /alerts; a late alert about an unrelated pipeline 15 s in.
Baseline in the same run (the floor): a plain receiver that posts one chat.postMessage per new group into
the same rate-limited emulator, waiting out each 429's Retry-After. What is measured is in
bench/storm_report.py and bench/README.md.

Run: .venv/bin/python -m bench.storm [--alerts 2000] [--pipelines 50] [--mode repeats|growing] [--max-wait 120]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import redis
import yaml

from bench.common import DEFAULT_REDIS_URL, fresh_redis
from bench.storm_plan import LATE, StormPlan, connector, pipelines_config, schedule
from bench.storm_report import summarise, update_allowance, visible_at
from bench.storm_rig import FloorReceiver, bot_stream_state, rss_kib, send_storm, wait_quiet
from bot.sandbox.connect_sim import ConnectSimulator
from bot.sandbox.flink_sim import FlinkSimulator
from bot.sandbox.slack_emulator import SlackEmulator
from bot.store import DEAD_STREAM
from tests.conftest import free_port
from tests.harness import SIGNING_SECRET, WEBHOOK_TOKEN, BotProcess, bot_env

TRACE = "org.apache.kafka.connect.errors.ConnectException: the storm's connector task failed"
QUIET_S = 5.0          # no Slack call for this long, and nothing left in the alert stream: quiet


def run_floor(emu: SlackEmulator, plan: StormPlan, max_wait: float) -> dict[str, Any]:
    """The plain receiver: the rate limit's floor for one message per incident."""
    emu.reset()
    emu.enable_rate_limits()
    with FloorReceiver(emu.api_url) as floor:
        t0 = time.monotonic()
        intake = send_storm(floor.url, "", schedule(plan), t0)
        quiet = wait_quiet(emu, t0, max_wait, QUIET_S, floor.idle)
        failures = list(floor.failures)
    return {**side_result(emu, plan, t0, quiet), "webhook": intake, "failures": failures}


def storm_world(plan: StormPlan, connect: ConnectSimulator, flink: FlinkSimulator, scratch: Path) -> Path:
    """Failed connectors and jobs for every pipeline (so enrichment has something to say); PIPELINE_FILE."""
    config = pipelines_config(plan)
    for p in config["pipelines"]:
        # Each captures its own table only: Debezium without an include list captures every table, and
        # the bot's discovery would rightly put every connector in every incident.
        connect.add_connector(connector(p["name"]), {"connector.class": "io.debezium.connector.mysql.MySqlConnector",
                                                     "database.include.list": "storm",
                                                     "table.include.list": p["tables"][0]})
        connect.fail_task(connector(p["name"]), 0, TRACE)
        flink.add_job(p["flink_jobs"][0])
    path = scratch / "pipelines.yml"
    path.write_text(yaml.safe_dump(config))
    return path


def run_bot(emu: SlackEmulator, plan: StormPlan, redis_url: str, max_wait: float) -> dict[str, Any]:
    emu.reset()
    scratch = Path(tempfile.mkdtemp(prefix="bench-storm-"))
    with ConnectSimulator() as connect, FlinkSimulator() as flink:
        env = bot_env(fresh_redis(redis_url), emu.api_url, free_port(), CONNECT_URL=connect.url,
                      FLINK_URL=flink.url, PIPELINE_FILE=str(storm_world(plan, connect, flink, scratch)),
                      DOCKER_HOST="tcp://127.0.0.1:9", LOG_LEVEL="WARNING")
        bot = BotProcess(env).start()
        r = redis.Redis.from_url(redis_url, decode_responses=True)
        try:
            emu.enable_rate_limits()
            t0 = time.monotonic()
            intake = send_storm(bot.url, WEBHOOK_TOKEN, schedule(plan), t0)
            quiet = wait_quiet(emu, t0, max_wait, QUIET_S, lambda: bot_stream_state(r)["left"] == 0)
            result = side_result(emu, plan, t0, quiet)
            result.update(webhook=intake, stream=bot_stream_state(r), dead_letters=r.xlen(DEAD_STREAM),
                          bot_rss_peak_mib=round(rss_kib(bot, "VmHWM") / 1024, 1))
        finally:
            r.close()
            bot.stop()
    return result


def side_result(emu: SlackEmulator, plan: StormPlan, t0: float, quiet: float | None) -> dict[str, Any]:
    """The figures of one side (floor or bot) from the emulator's log; times from the storm's start."""
    calls = emu.calls()
    result = summarise(calls, plan.names(), t0)
    if plan.late_at is not None:
        late = visible_at(calls, [LATE]).get(LATE)
        result["late_alert_root_after_s"] = round(late - (t0 + plan.late_at), 2) if late else None
    span = (quiet if quiet is not None else time.monotonic() - t0)
    result.update(quiet_after_s=quiet, chat_update_allowed_in_span=update_allowance(span),
                  span_s=round(span, 1))
    return result


def run(plan: StormPlan, redis_url: str, max_wait: float) -> dict[str, Any]:
    with SlackEmulator(signing_secret=SIGNING_SECRET) as emu:
        floor = run_floor(emu, plan, max_wait)
        bot = run_bot(emu, plan, redis_url, max_wait)
    return {"plan": {"alerts": plan.alerts, "pipelines": plan.pipelines, "seconds": plan.seconds,
                     "mode": plan.mode, "late_at_s": plan.late_at, "max_wait_s": max_wait},
            "floor": floor, "bot": bot, **ratios(floor, bot, max_wait),
            "note": "null times: not reached within max_wait (the run stops waiting there)"}


def ratios(floor: dict[str, Any], bot: dict[str, Any], max_wait: float) -> dict[str, float | None]:
    """The bot's time to every incident visible over the floor's; when the bot did not get there within
    max_wait, the ratio is at least max_wait over the floor (a lower bound, said as such)."""
    base = floor["all_visible_after_s"]
    if not base:
        return {"ratio_all_visible_vs_floor": None}
    if bot["all_visible_after_s"]:
        return {"ratio_all_visible_vs_floor": round(bot["all_visible_after_s"] / base, 2)}
    return {"ratio_all_visible_vs_floor": None, "ratio_all_visible_vs_floor_at_least": round(max_wait / base, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--alerts", type=int, default=2000)
    parser.add_argument("--pipelines", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--mode", choices=["repeats", "growing"], default="repeats")
    parser.add_argument("--late-at", type=float, default=15.0)
    parser.add_argument("--max-wait", type=float, default=120.0, help="stop waiting for the bot after this")
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS_URL))
    args = parser.parse_args()
    if args.alerts < args.pipelines or args.pipelines < 1:
        parser.error("need at least one pipeline and one alert per pipeline")
    plan = StormPlan(args.alerts, args.pipelines, args.seconds, args.mode, args.late_at)
    print(json.dumps(run(plan, args.redis_url, args.max_wait), indent=2))


if __name__ == "__main__":
    main()

