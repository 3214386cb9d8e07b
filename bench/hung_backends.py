"""The incident day with one backend hung (issue #16): MariaDB, Kafka Connect, Flink or Docker, one at a time.

Each scenario starts a real `dataflow-bot serve` with every backend configured (the Connect, Flink and Docker
simulators and the local MariaDB) and ONE of them replaced by a hung one:
- `mysql_no_handshake`: a TCP server that accepts and never sends MariaDB's greeting (bench.common.HungServer);
- `mysql_mid_query`: a proxy to the real MariaDB that lets the bot log in and then never forwards its first
  query (bench.common.StallingMySQLProxy): a lock held, a `SELECT SLEEP()`;
- `connect`, `flink`, `docker`: a TCP server that accepts and never answers (HTTP, or Docker's API over TCP).
An incident is opened first (its enrichment done), then, while `help` is sent open-loop at RATE/s (Slack acks),
the incident's alert is re-sent at ALERTS_PER_S (Alertmanager's repeats: `/alerts`) and `/healthz` is polled,
every subcommand is sent once, one after another, from its own user. For each: its ack, when its answer came
(the first ephemeral or thread reply after it), whether that was within the backend timeout + 2 s, and, for
the commands that need the hung backend, whether the answer names it. Last, an alert about another pipeline:
the time to its root message. The same `help` load against a bare Bolt app (bench/bare_app.py) in the same
run is the ack baseline.

Run: .venv/bin/python -m bench.hung_backends [--scenarios mysql_no_handshake,connect] [--rate 20]
"""

from __future__ import annotations

import argparse
import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from bench.ack_latency import Requests, open_loop, start_bare
from bench.common import DEFAULT_REDIS_URL, HungServer, StallingMySQLProxy, fresh_redis, summary
from bot.config import Settings
from bot.sandbox.connect_sim import ConnectSimulator
from bot.sandbox.docker_sim import DockerEngineSimulator
from bot.sandbox.flink_sim import FlinkSimulator
from bot.sandbox.slack_emulator import SlackEmulator
from tests.conftest import free_port
from tests.e2e.alerting import alert, notification, post
from tests.harness import CHANNEL, SIGNING_SECRET, WEBHOOK_TOKEN, BotProcess, bot_env

BACKEND_TIMEOUT_S = float(Settings.model_fields["enrich_timeout_seconds"].default)
BUDGET_S = BACKEND_TIMEOUT_S + 2     # issue #16: answered within the backend timeout + 2 s
ALERTS_PER_S = 10.0
HEALTHZ_EVERY_S = 0.5
NAMES = {"mysql": "MySQL", "connect": "Kafka Connect", "flink": "Flink", "docker": "Docker"}
FIRST = alert("SchemaDriftDetected", table="oltp.orders", connector="mysql-oltp-orders")
NEXT = alert("DiskAlmostFull", instance="db-1")


@dataclass(frozen=True)
class Command:
    text: str
    needs: frozenset[str]    # the backends its answer depends on


def _cmd(text: str, *needs: str) -> Command:
    return Command(text, frozenset(needs))


# Every subcommand but `declare` and `resolve` (they open and close incidents: the next-incident check
# covers the first); `run` once per kind of backend its steps read.
COMMANDS = [
    _cmd("help"), _cmd("incidents"), _cmd("summary"), _cmd("runbook schema-drift"), _cmd("ack"),
    _cmd("severity warning"), _cmd("graph"),
    _cmd("status", "connect", "flink"), _cmd("schema oltp.orders", "mysql"), _cmd("logs connect", "docker"),
    _cmd("run connector-status", "connect"), _cmd("run flink-status", "flink"), _cmd("run schema-diff", "mysql"),
    _cmd("run connect-logs", "docker"), _cmd("postmortem", "connect", "flink"),
]
SCENARIOS = ("mysql_no_handshake", "mysql_mid_query", "connect", "flink", "docker")


def backend_of(scenario: str) -> str:
    return "mysql" if scenario.startswith("mysql") else scenario


@contextmanager
def backends(scenario: str) -> Iterator[dict[str, str]]:
    """The bot's backend settings: the simulators and MariaDB, with the scenario's backend hung."""
    with ConnectSimulator() as connect, FlinkSimulator() as flink, DockerEngineSimulator() as docker:
        connect.add_connector("mysql-oltp-orders", {"connector.class": "io.debezium.connector.mysql.MySqlConnector"})
        flink.add_job("cdc-orders-enrich")
        docker.add_container("dataflow-connect-1", "connect")
        env = {"CONNECT_URL": connect.url, "FLINK_URL": flink.url, "DOCKER_HOST": docker.docker_host,
               "MYSQL_URL": "mysql://root@127.0.0.1:3306/"}
        with _hung(scenario) as address:
            env[{"mysql": "MYSQL_URL", "connect": "CONNECT_URL", "flink": "FLINK_URL",
                 "docker": "DOCKER_HOST"}[backend_of(scenario)]] = address
            yield env


@contextmanager
def _hung(scenario: str) -> Iterator[str]:
    server = StallingMySQLProxy() if scenario == "mysql_mid_query" else HungServer()
    with server as hung:
        port = hung.port
        yield {"mysql": f"mysql://root@127.0.0.1:{port}/", "docker": f"tcp://127.0.0.1:{port}"}.get(
            backend_of(scenario), f"http://127.0.0.1:{port}")


class Background:
    """The incident day around the commands: Alertmanager repeating the alert, /healthz polled."""

    def __init__(self, bot_url: str) -> None:
        self.bot_url = bot_url
        self.stop = threading.Event()
        self.alerts: list[tuple[float, int]] = []
        self.healthz: list[tuple[float, int]] = []
        self._threads = [threading.Thread(target=self._alerts, daemon=True),
                         threading.Thread(target=self._healthz, daemon=True)]

    def __enter__(self) -> Background:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for thread in self._threads:
            thread.join(timeout=30)

    def _alerts(self) -> None:
        self._loop(1 / ALERTS_PER_S, self.alerts, lambda http: http.post(
            self.bot_url + "/alerts", content=json.dumps(notification(FIRST)) + "\n",
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {WEBHOOK_TOKEN}"}).status_code)

    def _healthz(self) -> None:
        self._loop(HEALTHZ_EVERY_S, self.healthz, lambda http: http.get(self.bot_url + "/healthz").status_code)

    def _loop(self, every: float, out: list[tuple[float, int]], call: Callable[[httpx.Client], int]) -> None:
        """Open loop: latency from the scheduled time; a call that fails counts as status 0."""
        with httpx.Client(timeout=30) as http:
            scheduled = time.monotonic()
            while not self.stop.is_set():
                try:
                    status = call(http)
                except httpx.HTTPError:
                    status = 0
                out.append((time.monotonic() - scheduled, status))
                scheduled += every
                self.stop.wait(max(0.0, scheduled - time.monotonic()))

    def report(self) -> dict[str, Any]:
        return {"alerts": {**summary([t for t, _ in self.alerts]), "status": _counts(s for _, s in self.alerts)},
                "healthz": {**summary([t for t, _ in self.healthz]), "status": _counts(s for _, s in self.healthz),
                            "over_2s": sum(t > 2 for t, _ in self.healthz)}}


def _counts(statuses: Any) -> dict[str, int]:
    found: dict[str, int] = {}
    for status in statuses:
        found[str(status)] = found.get(str(status), 0) + 1
    return found


ANSWER_METHODS = ("response_url", "chat.postEphemeral", "chat.postMessage")


def _answer_calls(emu: SlackEmulator) -> list[Any]:
    return [c for c in emu.calls() if c.method in ANSWER_METHODS and not c.limited]


def _kind(args: dict[str, Any]) -> str:
    metadata = args.get("metadata") or {}
    if isinstance(metadata, str):
        metadata = json.loads(metadata)
    return str(metadata.get("event_payload", {}).get("kind", ""))


def answers_since(emu: SlackEmulator, thread_ts: str, seen: int) -> list[tuple[float, str]]:
    """(arrival, text) of the answers to people (response_url, ephemeral) and of the thread's replies
    that are not enrichment or alert lines, after the first `seen` such calls. Commands go one at a time
    and `help` is answered inside its ack, so these are the current command's."""
    found = []
    for call in _answer_calls(emu)[seen:]:
        text = str(call.args.get("text", ""))
        if blocks := call.args.get("blocks"):    # what Slack shows when there are blocks
            text += "\n" + (blocks if isinstance(blocks, str) else json.dumps(blocks))
        if "Working on" in text:
            continue
        if call.method == "chat.postMessage" and (call.args.get("thread_ts") != thread_ts
                                                  or _kind(call.args).startswith(("enrich", "alert", "root"))):
            continue
        found.append((call.at, text))
    return found


def run_command(emu: SlackEmulator, user: str, command: Command, thread_ts: str) -> dict[str, Any]:
    seen = len(_answer_calls(emu))
    started = time.monotonic()
    ack = emu.slash_command(user, command.text)
    acked = time.monotonic() - started
    if ack.content.strip() and "Working on" not in ack.text:     # answered inside the ack (`help`)
        return {"ack_ms": round(acked * 1000, 1), "ack_status": ack.status_code,
                "answer_after_s": round(acked, 2), "texts": [ack.text[:300]]}
    deadline = started + 45
    while not (got := answers_since(emu, thread_ts, seen)) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)      # a `run` step posts its outcome, then the requester's confirmation
    got = answers_since(emu, thread_ts, seen)
    return {"ack_ms": round(acked * 1000, 1), "ack_status": ack.status_code,
            "answer_after_s": round(got[0][0] - started, 2) if got else None,
            "texts": [text[:600] for _, text in got]}


def judge(result: dict[str, Any], command: Command, backend: str) -> dict[str, Any]:
    after = result["answer_after_s"]
    within = after is not None and after <= BUDGET_S
    names = None
    if backend in command.needs:
        names = any(NAMES[backend] in text for text in result["texts"])
    return {**result, "within_budget": within, "names_hung_backend": names}


def root_after(emu: SlackEmulator, bot_url: str) -> float | None:
    """Seconds from POSTing an alert about another pipeline to its root message."""
    before = len(emu.messages(CHANNEL))
    started = time.monotonic()
    post(bot_url, notification(NEXT))
    deadline = started + 30
    while len(emu.messages(CHANNEL)) <= before and time.monotonic() < deadline:
        time.sleep(0.02)
    return round(time.monotonic() - started, 3) if len(emu.messages(CHANNEL)) > before else None


def open_incident(emu: SlackEmulator, bot_url: str) -> str:
    """The first incident's root ts, once its enrichment has posted (no reply for 2 s, at most 20 s)."""
    before = len(emu.messages(CHANNEL))     # the emulator is shared by the scenarios: this one's root is new
    post(bot_url, notification(FIRST))
    root = emu.wait_for(lambda: emu.messages(CHANNEL)[before:], timeout=20, what="the first root")[0]["ts"]
    quiet_since, count, deadline = time.monotonic(), 0, time.monotonic() + 20
    while time.monotonic() - quiet_since < 2 and time.monotonic() < deadline:
        if len(emu.replies(CHANNEL, root)) != count:
            count, quiet_since = len(emu.replies(CHANNEL, root)), time.monotonic()
        time.sleep(0.1)
    return str(root)


def scenario(emu: SlackEmulator, name: str, redis_url: str, rate: float) -> dict[str, Any]:
    backend = backend_of(name)
    with backends(name) as env:
        bot = BotProcess(bot_env(fresh_redis(redis_url), emu.api_url, free_port(), LOG_LEVEL="WARNING",
                                 **env)).start()
        emu.request_url = bot.url + "/slack/events"
        try:
            root_ts = open_incident(emu, bot.url)
            reqs, results = Requests(emu), {}
            with Background(bot.url) as load:
                help_load = threading.Thread(target=lambda: results.__setitem__(
                    "help", open_loop(emu.request_url or "", lambda: reqs.command("help"), rate, 10.0)))
                help_load.start()
                commands = {c.text: judge(run_command(emu, f"U0H{i:02d}", c, root_ts), c, backend)
                            for i, c in enumerate(COMMANDS)}
                help_load.join()
            next_root = root_after(emu, bot.url)
        finally:
            bot.stop()
    return {"hung": name, "commands": commands, "help_acks": results.get("help"), **load.report(),
            "next_root_after_s": next_root, **verdict(commands)}


def verdict(commands: dict[str, dict[str, Any]]) -> dict[str, Any]:
    named = [r["names_hung_backend"] for r in commands.values() if r["names_hung_backend"] is not None]
    return {"answered_within_budget": sum(r["within_budget"] for r in commands.values()),
            "commands_sent": len(commands), "needing_it_that_name_it": f"{sum(named)} of {len(named)}",
            "slowest_answer_s": max(99.0 if r["answer_after_s"] is None else r["answer_after_s"]
                                    for r in commands.values())}


def run(scenarios: list[str], rate: float, redis_url: str) -> dict[str, Any]:
    with SlackEmulator(signing_secret=SIGNING_SECRET) as emu:
        bare_port = free_port()
        bare = start_bare(bare_port, emu.api_url)
        try:
            bare_url = f"http://127.0.0.1:{bare_port}/slack/events"
            reqs = Requests(emu)
            open_loop(bare_url, lambda: reqs.command("help"), 10, 0.5)   # warm-up
            baseline = open_loop(bare_url, lambda: reqs.command("help"), rate, 10.0)
        finally:
            bare.terminate()
            bare.wait(timeout=10)
        results = {name: scenario(emu, name, redis_url, rate) for name in scenarios}
    for result in results.values():
        help_p99 = (result["help_acks"] or {}).get("p99_ms")
        result["help_p99_vs_bare"] = round(help_p99 / baseline["p99_ms"], 2) if help_p99 else None
    return {"backend_timeout_s": BACKEND_TIMEOUT_S, "budget_s": BUDGET_S, "rate": rate,
            "bare_help_acks": baseline, "scenarios": results}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--rate", type=float, default=20.0, help="`help` requests per second (Slack acks)")
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS_URL))
    args = parser.parse_args()
    chosen = [s for s in args.scenarios.split(",") if s]
    if unknown := [s for s in chosen if s not in SCENARIOS]:
        parser.error(f"--scenarios: unknown {', '.join(unknown)}; known: {', '.join(SCENARIOS)}")
    print(json.dumps(run(chosen, args.rate, args.redis_url), indent=2))


if __name__ == "__main__":
    main()
