"""Shared pieces of the benchmarks: percentiles, a Redis database of their own, an `ok` receiver."""

from __future__ import annotations

import contextlib
import json
import socket
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Self

import redis
from flask import Flask, Response, request

from bot.sandbox.server import BackgroundServer

# A database the test suite does not use (it uses 11): the bench flushes it at start.
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/14"


def fresh_redis(url: str) -> str:
    client = redis.Redis.from_url(url)
    client.flushdb()
    client.close()
    return url


def median_seconds(repeat: int, fn: Callable[[], object]) -> float:
    """The median wall time of `repeat` calls of fn."""
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100); the samples are few, so no interpolation games."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def summary(values: list[float], scale: float = 1000.0) -> dict[str, float]:
    """p50/p95/p99/p99.9 in milliseconds (by default) of seconds-valued samples.

    p99.9 of fewer than 1,000 samples is their maximum (nearest rank): read it as such.
    """
    if not values:
        return {"n": 0}
    return {"n": len(values), "p50_ms": round(statistics.median(values) * scale, 1),
            "p95_ms": round(percentile(values, 95) * scale, 1),
            "p99_ms": round(percentile(values, 99) * scale, 1),
            "p999_ms": round(percentile(values, 99.9) * scale, 1)}


@dataclass
class Arrival:
    at: float                  # time.monotonic() on arrival, the same clock as the emulator's calls
    path: str
    body: dict[str, Any]


@dataclass
class OkReceiver:
    """Answers `ok` to any POST, as a Slack incoming webhook does; records arrivals.

    The Slack emulator has no /services/... endpoint, and Alertmanager's slack_configs needs one.
    """

    arrivals: list[Arrival] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        app = Flask("ok_receiver")

        @app.post("/<path:path>")
        def ok(path: str) -> Response:
            arrival = Arrival(time.monotonic(), path, json.loads(request.get_data() or b"{}"))
            with self.lock:
                self.arrivals.append(arrival)
            return Response("ok", content_type="text/plain")

        self.server = BackgroundServer(app)

    def __enter__(self) -> OkReceiver:
        self.server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.stop()

    def first(self, needle: str) -> Arrival | None:
        with self.lock:
            return next((a for a in self.arrivals if needle in json.dumps(a.body)), None)


class _HoldingServer:
    """A localhost TCP server that keeps every connection it takes until the `with` block ends; subclasses say
    what to do with each accepted socket (`_took`)."""

    def __init__(self, name: str) -> None:
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._sock.settimeout(0.1)
        self._held: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, name=name, daemon=True)

    @property
    def port(self) -> int:
        return int(self._sock.getsockname()[1])

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _addr = self._sock.accept()
            except TimeoutError:
                continue
            self._took(conn)

    def _took(self, conn: socket.socket) -> None:
        self._held.append(conn)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        for conn in self._held:
            with contextlib.suppress(OSError):
                conn.close()
        self._sock.close()


class HungServer(_HoldingServer):
    """A TCP server that accepts connections and never answers: a backend that is up but hung.

    It holds every accepted socket open until stop(), so a client's only way out is its own timeout.
    """

    def __init__(self) -> None:
        super().__init__("hung-server")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def accepted(self) -> int:
        return len(self._held)


COM_QUERY = 0x03


class StallingMySQLProxy(_HoldingServer):
    """A MariaDB that lets you log in and then hangs mid-query: a TCP proxy to a real server that forwards
    the handshake, the login and the session set-up (`SET NAMES ...`, which pymysql sends while connecting), and
    stops forwarding a connection at its first other query (a SELECT, a SHOW), holding it open: the client is
    left waiting for a result, as behind a held lock or a `SELECT SLEEP(...)`.

    MySQL packets are a 3-byte length, a sequence id and the payload; a command starts a new sequence (id 0)
    and its first payload byte says which command it is. No TLS here: the bot does not ask for it.
    """

    def __init__(self, upstream: tuple[str, int] = ("127.0.0.1", 3306)) -> None:
        super().__init__("stalling-mysql")
        self._upstream = upstream
        self.stalled = 0

    def _took(self, client: socket.socket) -> None:
        server = socket.create_connection(self._upstream, timeout=5)
        server.settimeout(None)
        self._held += [client, server]
        threading.Thread(target=self._pump, args=(server, client), daemon=True).start()
        threading.Thread(target=self._client_to_server, args=(client, server), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := src.recv(65536):
                dst.sendall(data)

    def _client_to_server(self, client: socket.socket, server: socket.socket) -> None:
        """Whole packets, one at a time, until the first query past the session set-up: never sent on."""
        with contextlib.suppress(OSError):
            while header := _recv_exactly(client, 4):
                payload = _recv_exactly(client, int.from_bytes(header[:3], "little"))
                if header[3] == 0 and payload[:1] == bytes([COM_QUERY]) and payload[1:5].upper() != b"SET ":
                    self.stalled += 1
                    self._stop.wait()          # hold the connection, answer nothing
                    return
                server.sendall(header + payload)


def _recv_exactly(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            return b""
        data += chunk
    return data
