"""Slack ack latency of the bot vs a bare Bolt app (bench/bare_app.py) served the same way.

Open loop: requests are sent on a fixed schedule (RATE per second for SECONDS), each from its own
thread, and latency is measured from the *scheduled* send time to the end of the HTTP response, so a
slow server cannot hide its queueing by slowing the sender down (coordinated omission).

Scenarios: signed `/dataflow help` (answered inside the ack by the bot), a signed block_actions click
(the bot's Deny button: ack, then the work goes to the job pool), and `help` sent while 20 slow
`/dataflow status` commands (Kafka Connect answering after 2 s) occupy the bot's job pool.

Run: .venv/bin/python -m bench.ack_latency [--rate 20] [--seconds 5]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlencode

import httpx
from slack_sdk.signature import SignatureVerifier

from bench.common import DEFAULT_REDIS_URL, fresh_redis, summary
from bot.blocks.runbook import DENY
from bot.sandbox.connect_sim import ConnectSimulator
from bot.sandbox.slack_emulator import SlackEmulator
from bot.sandbox.slack_responses import ResponseTarget
from tests.conftest import free_port
from tests.harness import CHANNEL, SIGNING_SECRET, BotProcess, bot_env

USER = "U0ALICE"
Request = Callable[[], tuple[bytes, str]]  # a fresh (body, content type) per send


class Requests:
    """Signed Slack requests, built as the emulator builds them (fresh timestamp and trigger_id each)."""

    def __init__(self, emu: SlackEmulator) -> None:
        self.emu = emu

    def _response_url(self, source: str) -> str:
        return self.emu.sender.response_url(ResponseTarget(user=USER, channel=CHANNEL, source=source))

    def command(self, text: str) -> tuple[bytes, str]:
        fields = {"token": "verification_token", "team_id": "T0SANDBOX", "team_domain": "sandbox",
                  "channel_id": CHANNEL, "channel_name": "incidents", "user_id": USER, "user_name": "alice",
                  "command": "/dataflow", "text": text, "api_app_id": "A0SANDBOX",
                  "response_url": self._response_url("slash_command"), "trigger_id": self.emu.sender.trigger_id()}
        return urlencode(fields).encode(), "application/x-www-form-urlencoded"

    def click(self) -> tuple[bytes, str]:
        payload = {
            "type": "block_actions", "api_app_id": "A0SANDBOX", "token": "verification_token",
            "user": {"id": USER, "username": "alice", "name": "alice", "team_id": "T0SANDBOX"},
            "team": {"id": "T0SANDBOX", "domain": "sandbox"}, "trigger_id": self.emu.sender.trigger_id(),
            "container": {"type": "message", "message_ts": "1700000000.000100", "channel_id": CHANNEL,
                          "is_ephemeral": False},
            "channel": {"id": CHANNEL, "name": "incidents"}, "response_url": self._response_url("block_actions"),
            "actions": [{"action_id": DENY, "block_id": "b", "type": "button", "value": "bench-no-such-approval",
                         "action_ts": f"{time.time():.6f}"}],
        }
        return urlencode({"payload": json.dumps(payload)}).encode(), "application/x-www-form-urlencoded"


def send(http: httpx.Client, url: str, body: bytes, content_type: str) -> int:
    ts = str(int(time.time()))
    signature = SignatureVerifier(SIGNING_SECRET).generate_signature(timestamp=ts, body=body)
    headers = {"Content-Type": content_type, "X-Slack-Request-Timestamp": ts, "X-Slack-Signature": str(signature)}
    return http.post(url, content=body, headers=headers).status_code


def open_loop(url: str, make: Request, rate: float, seconds: float) -> dict[str, Any]:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    http = httpx.Client(timeout=30, limits=httpx.Limits(max_connections=128))

    def one(scheduled: float) -> None:
        body, content_type = make()
        status = send(http, url, body, content_type)
        done = time.monotonic()
        with lock:
            latencies.append(done - scheduled)
            statuses[status] = statuses.get(status, 0) + 1

    start = time.monotonic() + 0.2
    with ThreadPoolExecutor(max_workers=128) as pool:
        for k in range(int(rate * seconds)):
            scheduled = start + k / rate
            time.sleep(max(0.0, scheduled - time.monotonic()))
            pool.submit(one, scheduled)
    http.close()
    return {**summary(latencies), "status": statuses, "over_3s": sum(lat > 3 for lat in latencies)}


def start_bare(port: int, api_url: str) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen([sys.executable, "-m", "bench.bare_app", str(port), SIGNING_SECRET, DENY, api_url])
    for _ in range(100):
        try:
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=0.5)
            return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError("bare app did not start")


def ratio(bot: dict[str, Any], bare: dict[str, Any], key: str) -> float:
    return round(bot[key] / bare[key], 2) if bare.get(key) else float("nan")


def compare(bot_url: str, bare_url: str, make: Request, rate: float, seconds: float) -> dict[str, Any]:
    for url in (bare_url, bot_url):          # warm-up: first requests import and build lazily
        open_loop(url, make, 10, 0.5)
    bare = open_loop(bare_url, make, rate, seconds)
    bot = open_loop(bot_url, make, rate, seconds)
    return {"bare": bare, "bot": bot, "ratio_p50": ratio(bot, bare, "p50_ms"), "ratio_p99": ratio(bot, bare, "p99_ms")}


def under_slow_load(bot_url: str, reqs: Requests, connect: ConnectSimulator, rate: float) -> dict[str, Any]:
    """20 `status` commands at once against a Connect answering in 2 s, then `help` while they run."""
    connect.set_latency(2.0)
    answered_before = len(reqs.emu.response_posts())
    with ThreadPoolExecutor(max_workers=20) as pool:
        http = httpx.Client(timeout=30)
        started = time.monotonic()
        acks = list(pool.map(lambda _i: (send(http, bot_url, *reqs.command("status")), time.monotonic() - started),
                             range(20)))
        help_during = open_loop(bot_url, lambda: reqs.command("help"), rate, 3.0)
        http.close()
    # Proof the load was real: the 20 status answers arrive only after Connect's 2 s, in pool-sized waves.
    reqs.emu.wait_for(lambda: len(reqs.emu.response_posts()) >= answered_before + 20, timeout=60)
    connect.set_latency(0.0)
    return {"status_acks": {**summary([t for _, t in acks]), "status": sorted({s for s, _ in acks})},
            "status_answers_done_after_s": round(time.monotonic() - started, 2),
            "help_during_load": help_during}


def run(rate: float, seconds: float, redis_url: str) -> dict[str, Any]:
    with SlackEmulator(signing_secret=SIGNING_SECRET) as emu, ConnectSimulator() as connect:
        connect.add_connector("mysql-oltp-orders", {"connector.class": "io.debezium.connector.mysql.MySqlConnector"})
        bot = BotProcess(bot_env(fresh_redis(redis_url), emu.api_url, free_port(), CONNECT_URL=connect.url,
                                 LOG_LEVEL="WARNING")).start()
        bare_port = free_port()
        bare = start_bare(bare_port, emu.api_url)
        emu.request_url = bot.url + "/slack/events"
        bot_url, bare_url = bot.url + "/slack/events", f"http://127.0.0.1:{bare_port}/slack/events"
        reqs = Requests(emu)
        try:
            result = {
                "rate_per_s": rate, "seconds": seconds,
                "help": compare(bot_url, bare_url, lambda: reqs.command("help"), rate, seconds),
                "click": compare(bot_url, bare_url, reqs.click, rate, seconds),
                "slow_load": under_slow_load(bot_url, reqs, connect, min(rate, 10)),
            }
        finally:
            bare.terminate()
            bare.wait(timeout=10)
            bot.stop()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rate", type=float, default=20.0)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS_URL))
    args = parser.parse_args()
    print(json.dumps(run(args.rate, args.seconds, args.redis_url), indent=2))


if __name__ == "__main__":
    main()
