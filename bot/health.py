"""Probes of every backend: used by GET /healthz and `dataflow-bot check-config`."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import docker
import docker.errors
import httpx
import pymysql
import redis

from bot.clients.docker_parse import reason_for
from bot.clients.http import tls_context
from bot.config import Settings
from bot.incidents.channels import gone_channels
from bot.redact import redact

if TYPE_CHECKING:
    from bot.deps import Deps


@dataclass(frozen=True)
class Probe:
    name: str  # the backend
    variable: str  # the setting that points at it
    where: str  # its address, never with credentials
    ok: bool
    latency_ms: float
    detail: str  # version, or why it failed (redacted; for check-config, which the operator runs)
    reason: str = ""  # why it failed, as a class ("timed out", "HTTP 503"): what /healthz shows

    def as_dict(self) -> dict[str, object]:
        """For /healthz, which anyone who reaches the port can read: no exception text."""
        return {
            "ok": self.ok,
            "where": self.where,
            "latency_ms": round(self.latency_ms, 1),
            "detail": self.detail if self.ok else self.reason,
        }


def _timed(name: str, variable: str, where: str, check: Callable[[], str]) -> Probe:
    started = time.perf_counter()
    reason = ""
    try:
        detail, ok = check(), True
    except Exception as exc:  # any failure is the answer we report
        detail, ok, reason = describe_failure(exc), False, failure_class(exc)
    return Probe(name, variable, where, ok, (time.perf_counter() - started) * 1000, redact(detail), reason)


def failure_class(exc: BaseException) -> str:
    """Why a probe failed, in a few fixed words: safe to show to anyone."""
    if isinstance(exc, httpx.TimeoutException | TimeoutError | redis.TimeoutError | socket.timeout):
        return "timed out"
    if isinstance(exc, httpx.HTTPStatusError):
        return f"HTTP {exc.response.status_code}"
    if isinstance(exc, docker.errors.DockerException) and (reason_for(exc, 0) or "").startswith("timed out"):
        return "timed out"   # docker-py wraps requests' ReadTimeout in a DockerException
    if isinstance(exc, pymysql.err.OperationalError) and exc.args and exc.args[0] in (1044, 1045):
        return "authentication failed"
    if isinstance(exc, pymysql.err.OperationalError) and "timed out" in str(exc):
        return "timed out"   # pymysql wraps the socket timeout: (2013, 'Lost connection ... (timed out)')
    if isinstance(exc, httpx.ConnectError | redis.ConnectionError | ConnectionError | pymysql.err.OperationalError):
        return "connection refused" if "refused" in str(exc).lower() else "cannot connect"
    if isinstance(exc, ValueError):
        return "unexpected answer"
    return "error"


def describe_failure(exc: BaseException) -> str:
    if isinstance(exc, httpx.TimeoutException | TimeoutError | redis.TimeoutError):
        return "timed out"
    if isinstance(exc, httpx.HTTPStatusError):
        return f"HTTP {exc.response.status_code}"
    if isinstance(exc, httpx.ConnectError | redis.ConnectionError | ConnectionRefusedError):
        return "connection refused" if "refused" in str(exc).lower() else f"cannot connect: {exc}"
    return f"{type(exc).__name__}: {exc}"


def _host_of(url: str) -> str:
    parts = urlsplit(url)
    return (
        f"{parts.scheme}://{parts.hostname}:{parts.port}"
        if parts.port
        else f"{parts.scheme}://{parts.hostname}"
    )


def probe_redis(url: str, timeout: float = 1.0) -> Probe:
    def check() -> str:
        client = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
        try:
            client.ping()
            return "PONG"
        finally:
            client.close()

    return _timed("redis", "REDIS_URL", _host_of(url), check)


def probe_http(name: str, variable: str, url: str, path: str, field: str, timeout: float = 1.0) -> Probe:
    def check() -> str:
        resp = httpx.get(url.rstrip("/") + path, timeout=timeout, verify=tls_context())   # built once
        resp.raise_for_status()
        return str(resp.json().get(field, "ok"))

    return _timed(name, variable, _host_of(url), check)


def probe_mysql(url: str, timeout: float = 1.0) -> Probe:
    from bot.clients.mysql import parse_mysql_url

    def check() -> str:
        kwargs = parse_mysql_url(url)   # %-escaped user and password decoded
        kwargs.pop("database", None)
        # Every phase bounded: a server that accepts the connection and never answers must not hold us.
        seconds = max(1, int(timeout))
        conn = pymysql.connect(**kwargs, connect_timeout=seconds, read_timeout=seconds, write_timeout=seconds)
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT VERSION()")
                row = cur.fetchone()
                return str(row[0]) if row else "?"
        finally:
            conn.close()

    return _timed("mysql", "MYSQL_URL", _host_of(url), check)


def probe_docker(host: str, timeout: float = 1.0) -> Probe:
    def check() -> str:
        client = docker.DockerClient(base_url=host, version="auto", timeout=max(1, int(timeout)))
        try:
            return "API " + str(client.version().get("ApiVersion", "?"))
        finally:
            client.close()

    return _timed("docker", "DOCKER_HOST", host, check)


# The answer waits at most this much beyond the probes' own timeout: a probe stuck past its socket
# timeouts (a driver that ignores them) is reported as timed out, and the caller is not held.
GRACE_SECONDS = 0.5


@dataclass(frozen=True)
class _Planned:
    name: str
    variable: str
    where: str
    run: Callable[[], Probe]


def _planned(settings: Settings, timeout: float, include_redis: bool = True) -> list[_Planned]:
    """Redis first, then every configured backend."""
    redis_url = settings.redis_url
    plans = [_Planned("redis", "REDIS_URL", _host_of(redis_url), lambda: probe_redis(redis_url, timeout))]
    plans = plans if include_redis else []
    if connect_url := settings.connect_url:
        plans.append(_Planned("kafka-connect", "CONNECT_URL", _host_of(connect_url), lambda: probe_http(
            "kafka-connect", "CONNECT_URL", connect_url, "/", "version", timeout)))
    if flink_url := settings.flink_url:
        plans.append(_Planned("flink", "FLINK_URL", _host_of(flink_url), lambda: probe_http(
            "flink", "FLINK_URL", flink_url, "/overview", "flink-version", timeout)))
    if docker_host := settings.docker_host:
        plans.append(_Planned("docker", "DOCKER_HOST", docker_host, lambda: probe_docker(docker_host, timeout)))
    if settings.mysql_url:
        mysql_url = settings.mysql_url.get_secret_value()
        plans.append(_Planned("mysql", "MYSQL_URL", _host_of(mysql_url), lambda: probe_mysql(mysql_url, timeout)))
    return plans


def backend_probes(settings: Settings, timeout: float = 1.0, include_redis: bool = True) -> list[Probe]:
    """Every configured backend probed in parallel, Redis first; answers within timeout + GRACE_SECONDS
    whatever the backends do (a hung one is reported as timed out, its probe left to end on its own)."""
    plans = _planned(settings, timeout, include_redis)
    if not plans:
        return []
    pool = ThreadPoolExecutor(max_workers=len(plans), thread_name_prefix="probe")
    try:
        futures = [pool.submit(plan.run) for plan in plans]
        wait(futures, timeout=timeout + GRACE_SECONDS)
        return [f.result() if f.done() else _overdue(plan, timeout) for plan, f in zip(plans, futures, strict=True)]
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def _overdue(plan: _Planned, timeout: float) -> Probe:
    return Probe(plan.name, plan.variable, plan.where, False, (timeout + GRACE_SECONDS) * 1000,
                 "timed out", "timed out")


class HealthBoard:
    """The last probe of every backend and when it was made, kept by a background loop, so that /healthz
    answers at once whatever the backends do (a hung one shows as timed out, with the result's age)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._probes: list[Probe] = []
        self._at: float | None = None

    def record(self, probes: list[Probe], at: float | None = None) -> None:
        with self._lock:
            self._probes, self._at = list(probes), time.time() if at is None else at

    def last(self) -> tuple[list[Probe], float | None]:
        with self._lock:
            return list(self._probes), self._at


PROBE_TIMEOUT_SECONDS = 2.0


def health_prober(deps: Deps, stop: threading.Event) -> None:
    """Background loop: probe the backends (not Redis: /healthz asks it live) every
    HEALTH_PROBE_INTERVAL_SECONDS and keep the result on deps.health. The first probe comes one interval
    after the start-up check that seeded the board (at once when nothing seeded it): probing again right
    away would only add calls to a hung backend while the bot starts."""
    if deps.health.last()[1] is not None:
        stop.wait(deps.settings.health_probe_interval_seconds)
    while not stop.is_set():
        deps.health.record(backend_probes(deps.settings, PROBE_TIMEOUT_SECONDS, include_redis=False))
        stop.wait(deps.settings.health_probe_interval_seconds)


def health_report(settings: Settings, board: HealthBoard, now: float | None = None,
                  r: Any = None) -> tuple[dict[str, object], int]:
    """/healthz's body and status: Redis live (the bot cannot work without it: 503), the backends as last
    probed in the background, with the age of that result, and (given the bot's Redis client `r`) the Slack
    channels found archived or deleted lately."""
    redis_probe = probe_redis(settings.redis_url)
    probes, at = board.last()
    age = None if at is None else round((time.time() if now is None else now) - at, 1)
    checks: dict[str, object] = {"redis": redis_probe.as_dict()}
    checks |= {p.name: {**p.as_dict(), "age_seconds": age} for p in probes}
    pending = at is None and bool(_planned(settings, PROBE_TIMEOUT_SECONDS, include_redis=False))
    if pending:
        checks |= {plan.name: {"ok": None, "where": plan.where, "detail": "not probed yet (the bot is starting)"}
                   for plan in _planned(settings, PROBE_TIMEOUT_SECONDS, include_redis=False)}
    gone = _gone_channels(r) if r is not None and redis_probe.ok else []
    if gone:
        checks["slack_channels"] = {"ok": False, "detail": f"archived or deleted: {', '.join(gone)}; incidents move "
                                    "to FALLBACK_CHANNEL, or their alerts are held until a channel takes posts"}
    healthy = redis_probe.ok and not pending and all(p.ok for p in probes) and not gone
    status = "ok" if healthy else ("degraded" if redis_probe.ok else "down")
    return {"status": status, "checks": checks}, 200 if redis_probe.ok else 503


def _gone_channels(r: Any) -> list[str]:
    try:
        return gone_channels(r)
    except redis.RedisError:
        return []
