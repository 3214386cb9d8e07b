"""Health probes (HTTP, the MySQL handshake, Kafka ApiVersions) and poll(): wait on them, never on sleeps."""

from __future__ import annotations

import json
import socket
import struct
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

from stacklib.common import StackError
from stacklib.settings import HOST


def http(method: str, url: str, body: Any = None, timeout: float = 5.0) -> tuple[int, Any]:
    """(status, parsed JSON or text); status 0 when the server does not answer."""
    if not url.startswith("http://"):
        raise ValueError(f"not an http URL: {url}")
    headers = {"Accept": "application/json"}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    req = urllib.request.Request(url, data=data, method=method, headers=headers)  # noqa: S310 - http:// only
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 - http:// only
            status, raw = resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    except (urllib.error.URLError, OSError, TimeoutError):
        return 0, None
    return status, _parse(raw.decode("utf-8", "replace"))


def _parse(text: str) -> Any:
    try:
        return json.loads(text) if text else None
    except json.JSONDecodeError:
        return text


def http_ok(url: str) -> bool:
    return http("GET", url)[0] == 200


def port_open(port: int, host: str = HOST, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def mysql_greets(port: int) -> bool:
    """True when a MySQL/MariaDB server on the port sends its handshake (protocol 10)."""
    try:
        with socket.create_connection((HOST, port), timeout=1.0) as s:
            s.settimeout(2.0)
            _recv_exact(s, 4)                     # packet header
            return _recv_exact(s, 1) == b"\x0a"   # protocol version
    except OSError:
        return False


def kafka_api_versions(port: int) -> bool:
    """True when a Kafka-protocol broker answers ApiVersions v0 with error_code 0."""
    client = b"stack-probe"
    req = struct.pack(">hhih", 18, 0, 7, len(client)) + client   # api key 18, v0, correlation id 7
    try:
        with socket.create_connection((HOST, port), timeout=1.0) as s:
            s.settimeout(3.0)
            s.sendall(struct.pack(">i", len(req)) + req)
            size = struct.unpack(">i", _recv_exact(s, 4))[0]
            corr, err = struct.unpack(">ih", _recv_exact(s, size)[:6])
            return corr == 7 and err == 0
    except (OSError, struct.error):
        return False


def _recv_exact(s: socket.socket, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise OSError("connection closed")
        buf += chunk
    return buf


def poll(check: Callable[[], Any], deadline: float, what: str, alive: Callable[[], str | None] | None = None,
         interval: float = 0.25) -> Any:
    """Call `check` until it returns a truthy value or the deadline passes (a short poll interval,
    growing to 1 s). `alive` returns a reason string when the process being waited on died."""
    started = time.monotonic()
    while True:
        result = check()
        if result:
            return result
        dead = alive() if alive is not None else None
        if dead:
            raise StackError(f"{what}: {dead}")
        if time.monotonic() > deadline:
            raise StackError(f"{what}: not ready after {time.monotonic() - started:.0f}s")
        time.sleep(interval)
        interval = min(interval * 1.5, 1.0)
