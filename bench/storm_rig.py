"""The P3 storm's moving parts, reusable from tests: the open-loop sender, the floor receiver, and waits."""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from flask import Flask, Response, request
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bench.common import summary
from bench.storm_plan import Send
from bot.sandbox.server import BackgroundServer
from bot.sandbox.slack_emulator import INCIDENT_CHANNEL, SlackEmulator
from bot.store import ALERT_STREAM, WORKER_GROUP
from tests.harness import BotProcess

SENDERS = 64   # concurrent POSTs at most: enough for 200/s against a server answering in tens of ms


def send_storm(url: str, token: str, sends: list[Send], t0: float) -> dict[str, Any]:
    """POST each notification to url/alerts at t0 + its offset (open loop); statuses and latencies.

    Latency runs from the scheduled time, so a slow /alerts cannot hide queueing by slowing the sender.
    """
    headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})}
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    lock = threading.Lock()
    http = httpx.Client(timeout=30, limits=httpx.Limits(max_connections=SENDERS))

    def one(send: Send) -> None:
        try:
            status = str(http.post(url + "/alerts", content=json.dumps(send.body) + "\n", headers=headers).status_code)
        except httpx.HTTPError as exc:
            status = type(exc).__name__
        with lock:
            latencies.append(time.monotonic() - (t0 + send.at))
            statuses[status] = statuses.get(status, 0) + 1

    with ThreadPoolExecutor(max_workers=SENDERS) as pool:
        for send in sends:
            time.sleep(max(0.0, t0 + send.at - time.monotonic()))
            pool.submit(one, send)
    http.close()
    return {"posts": len(sends), "status": statuses, "latency": summary(latencies)}


class FloorReceiver:
    """The baseline: a plain Alertmanager receiver that posts one root per new group, in arrival order,
    from one thread, waiting out every 429's Retry-After exactly (no jitter, no other work)."""

    def __init__(self, api_url: str, token: str = "xoxb-sandbox-token") -> None:  # noqa: S107 (the emulator's)
        self.client = WebClient(token=token, base_url=api_url, timeout=10, retry_handlers=[])
        self.todo: queue.Queue[str] = queue.Queue()
        self.seen: set[str] = set()
        self.order: list[str] = []      # groups in the order their first notification arrived
        self.busy = threading.Event()   # set from a new group's arrival until its root is posted
        self.lock = threading.Lock()
        self.failures: list[str] = []
        self.stop = threading.Event()
        app = Flask("floor")
        app.post("/alerts")(self._intake)
        self.server = BackgroundServer(app)
        self.poster = threading.Thread(target=self._post_loop, name="floor-poster", daemon=True)

    @property
    def url(self) -> str:
        return self.server.url

    def _intake(self) -> Response:
        body = json.loads(request.get_data())
        group = str(body["groupLabels"].get("pipeline") or body["groupKey"])
        with self.lock:
            if group not in self.seen:
                self.seen.add(group)
                self.order.append(group)
                self.busy.set()
                self.todo.put(group)
        return Response("", status=200)

    def _post_loop(self) -> None:
        while not self.stop.is_set():
            try:
                group = self.todo.get(timeout=0.1)
            except queue.Empty:
                continue
            self._post(group)
            with self.lock:
                if self.todo.empty():
                    self.busy.clear()

    def _post(self, group: str) -> None:
        while not self.stop.is_set():
            try:
                self.client.chat_postMessage(channel=INCIDENT_CHANNEL, text=f"[FIRING] {group}",
                                             metadata={"event_type": "bench_floor",
                                                       "event_payload": {"kind": "root", "pipeline": group}})
                return
            except SlackApiError as err:
                if err.response.status_code != 429:
                    self.failures.append(f"{group}: {err.response.get('error')}")
                    return
                time.sleep(float(err.response.headers.get("Retry-After", "1")))

    def idle(self) -> bool:
        return self.todo.empty() and not self.busy.is_set()

    def __enter__(self) -> FloorReceiver:
        self.server.start()
        self.poster.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.poster.join(timeout=5)
        self.server.stop()


def wait_quiet(emu: SlackEmulator, t0: float, max_wait: float, quiet_s: float,
               drained: Callable[[], bool]) -> float | None:
    """Seconds from t0 to the last Slack call, once `drained()` and no call came for quiet_s; None if
    that did not happen within max_wait seconds of t0."""
    while time.monotonic() - t0 < max_wait:
        time.sleep(0.5)
        calls = emu.calls()
        last = calls[-1].at if calls else t0
        if drained() and time.monotonic() - last >= quiet_s:
            return round(last - t0, 2)
    return None


def bot_stream_state(r: Any) -> dict[str, int]:
    """The bot's alert stream: entries read but not done (pending) and not read yet (unread)."""
    groups = {g["name"]: g for g in r.xinfo_groups(ALERT_STREAM)} if r.exists(ALERT_STREAM) else {}
    group = groups.get(WORKER_GROUP)
    if group is None:
        unread = int(r.xlen(ALERT_STREAM)) if r.exists(ALERT_STREAM) else 0
        return {"pending": 0, "unread": unread, "left": unread}
    pending, unread = int(group["pending"]), int(group.get("lag") or 0)
    return {"pending": pending, "unread": unread, "left": pending + unread}


def rss_kib(bot: BotProcess, field: str = "VmRSS") -> int:
    """A /proc/<pid>/status memory figure of the bot process (VmHWM: the peak), in KiB."""
    assert bot.proc is not None
    with open(f"/proc/{bot.proc.pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0
