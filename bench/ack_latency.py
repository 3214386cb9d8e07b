"""Slack ack latency of the bot vs a bare Bolt app (bench/bare_app.py) served the same way.

Open loop: requests are sent on a fixed schedule (RATE per second for SECONDS), each from its own
thread, and latency is measured from the *scheduled* send time to the end of the HTTP response, so a
slow server cannot hide its queueing by slowing the sender down (coordinated omission).

Scenarios, at each rate (20 and 50 req/s by default): signed `/dataflow help` (answered inside the ack
by the bot) and a signed block_actions click (the bot's Deny button: ack, then the work goes to the job
pool). Then `help` sent while 20 slow `/dataflow status` commands (Kafka Connect answering after 2 s)
occupy the bot's job pool. Last, a second bot whose Kafka Connect is hung (a TCP server that accepts and
never answers): 20 `status` at once, `help` at the first rate meanwhile, then a Deny click; which of them
got their answer within the backend timeout + 2 s.

Run: .venv/bin/python -m bench.ack_latency [--rates 20,50] [--seconds 5]
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

from bench.common import DEFAULT_REDIS_URL, HungServer, fresh_redis, summary
from bot.blocks.runbook import DENY
from bot.config import Settings
from bot.sandbox.connect_sim import ConnectSimulator
from bot.sandbox.slack_emulator import SlackEmulator
from bot.sandbox.slack_responses import ResponseTarget
from tests.conftest import free_port
from tests.harness import CHANNEL, SIGNING_SECRET, BotProcess, bot_env

USER = "U0ALICE"
Request = Callable[[], tuple[bytes, str]]  # a fresh (body, content type) per send
BACKEND_TIMEOUT_S = float(Settings.model_fields["enrich_timeout_seconds"].default)  # the bot's Connect timeout
ANSWER_WINDOW_S = 45.0   # how long the hung-Connect run waits for answers before counting them missing


class Requests:
    """Signed Slack requests, built as the emulator builds them (fresh timestamp and trigger_id each)."""

    def __init__(self, emu: SlackEmulator) -> None:
        self.emu = emu
        self.last_response_id = ""

    def answered_at(self, response_id: str) -> float | None:
        """When the bot first POSTed to this response_url (emulator clock), if it did."""
        return next((c.at for c in self.emu.calls("response_url") if c.target == response_id), None)

    def _response_url(self, source: str) -> str:
        url = self.emu.sender.response_url(ResponseTarget(user=USER, channel=CHANNEL, source=source))
        self.last_response_id = url.rsplit("/", 1)[1]   # the emulator logs answers to it under this id
        return url

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


def signed_headers(body: bytes, content_type: str) -> dict[str, str]:
    ts = str(int(time.time()))
    signature = SignatureVerifier(SIGNING_SECRET).generate_signature(timestamp=ts, body=body)
    return {"Content-Type": content_type, "X-Slack-Request-Timestamp": ts, "X-Slack-Signature": str(signature)}


def send(http: httpx.Client, url: str, body: bytes, content_type: str) -> int:
    return http.post(url, content=body, headers=signed_headers(body, content_type)).status_code


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


def with_connect_hung(emu: SlackEmulator, reqs: Requests, redis_url: str, rate: float,
                      seconds: float) -> dict[str, Any]:
    """A bot whose Kafka Connect accepts and never answers: do acks and answers still come?"""
    with HungServer() as hung:
        bot = BotProcess(bot_env(fresh_redis(redis_url), emu.api_url, free_port(), CONNECT_URL=hung.url,
                                 LOG_LEVEL="WARNING")).start()
        emu.request_url = bot.url + "/slack/events"
        bot_url = emu.request_url
        try:
            open_loop(bot_url, lambda: reqs.command("help"), 10, 0.5)    # warm-up
            sent, acks = tracked_burst(bot_url, reqs, 20)
            help_during = open_loop(bot_url, lambda: reqs.command("help"), rate, seconds)
            click_ack, (_rid, click_at) = tracked_send(bot_url, reqs, reqs.click)
            answers = wait_answers(reqs, sent)
            click_answer = wait_ephemeral(reqs.emu, click_at, min(t for _, t in sent) + ANSWER_WINDOW_S)
        finally:
            bot.stop()
        accepted = hung.accepted()
    late = [answers.get(rid) for rid, _ in sent]
    within = BACKEND_TIMEOUT_S + 2
    return {"connections_held_by_hung_connect": accepted, "backend_timeout_s": BACKEND_TIMEOUT_S,
            "status_acks": {**summary([a for _, a in acks]), "status": sorted({st for st, _ in acks})},
            "status_answered_within_timeout_plus_2s": sum(t is not None and t <= within for t in late),
            "status_answered_within_45s": sum(t is not None for t in late), "status_sent": len(late),
            "status_answer_after": summary([t for t in late if t is not None]),
            "help_during": help_during,
            "click_after": {"ack_ms": round(click_ack[1] * 1000, 1), "status": click_ack[0],
                            "answered_after_s": click_answer}}


def tracked_send(url: str, reqs: Requests, make: Request) -> tuple[tuple[int, float], tuple[str, float]]:
    """One request; ((HTTP status, ack seconds), (its response_url id, send time))."""
    with httpx.Client(timeout=30) as http:
        body, content_type = make()
        rid, started = reqs.last_response_id, time.monotonic()
        status = send(http, url, body, content_type)
        return (status, time.monotonic() - started), (rid, started)


def tracked_burst(url: str, reqs: Requests, n: int) -> tuple[list[tuple[str, float]], list[tuple[int, float]]]:
    """n `/dataflow status` at once: their (response id, send time) and (status, ack seconds)."""
    made = []
    for _ in range(n):   # built here, one after another: last_response_id belongs to the one just made
        made.append((reqs.command("status"), reqs.last_response_id))
    results: list[tuple[tuple[int, float], tuple[str, float]]] = []

    def one(item: tuple[tuple[bytes, str], str]) -> None:
        (body, content_type), rid = item
        with httpx.Client(timeout=30) as http:
            started = time.monotonic()
            status = send(http, url, body, content_type)
            results.append(((status, time.monotonic() - started), (rid, started)))

    with ThreadPoolExecutor(max_workers=n) as pool:
        list(pool.map(one, made))
    return [s for _, s in results], [a for a, _ in results]


def wait_answers(reqs: Requests, sent: list[tuple[str, float]]) -> dict[str, float]:
    """response id -> seconds from its send to its first answer, waiting up to ANSWER_WINDOW_S."""
    deadline = min(t for _, t in sent) + ANSWER_WINDOW_S
    while True:
        answers = {rid: at - t for rid, t in sent if (at := reqs.answered_at(rid)) is not None}
        if len(answers) == len(sent) or time.monotonic() > deadline:
            return {rid: round(v, 2) for rid, v in answers.items()}
        time.sleep(0.2)


def wait_ephemeral(emu: SlackEmulator, since: float, deadline: float) -> float | None:
    """Seconds from `since` to the first chat.postEphemeral after it (a click's answer), or None by deadline.

    The bot answers a click with chat.postEphemeral (no response_url); nothing else posts one here.
    """
    while True:
        at = next((c.at for c in emu.calls("chat.postEphemeral") if c.at >= since and not c.limited), None)
        if at is not None or time.monotonic() > deadline:
            return round(at - since, 2) if at is not None else None
        time.sleep(0.2)


def at_rate(bot_url: str, bare_url: str, reqs: Requests, rate: float, seconds: float) -> dict[str, Any]:
    return {"help": compare(bot_url, bare_url, lambda: reqs.command("help"), rate, seconds),
            "click": compare(bot_url, bare_url, reqs.click, rate, seconds)}


def run(rates: list[float], seconds: float, redis_url: str) -> dict[str, Any]:
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
            result: dict[str, Any] = {"seconds": seconds,
                                      "rates": {str(r): at_rate(bot_url, bare_url, reqs, r, seconds) for r in rates},
                                      "slow_load": under_slow_load(bot_url, reqs, connect, min(rates[0], 10))}
            bot.stop()
            hung = with_connect_hung(emu, reqs, redis_url, rates[0], seconds)
            bare_help = result["rates"][str(rates[0])]["help"]["bare"]
            hung["bare_help_p99_ms"] = bare_help.get("p99_ms")
            hung["ratio_help_p99_vs_bare"] = ratio(hung["help_during"], bare_help, "p99_ms")
            result["connect_hung"] = hung
        finally:
            bare.terminate()
            bare.wait(timeout=10)
            bot.stop()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rates", default="20,50", help="comma-separated requests per second")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS_URL))
    args = parser.parse_args()
    try:
        rates = [float(r) for r in args.rates.split(",")]
    except ValueError:
        parser.error(f"--rates: numbers separated by commas, not {args.rates!r}")
    print(json.dumps(run(rates, args.seconds, args.redis_url), indent=2))


if __name__ == "__main__":
    main()
