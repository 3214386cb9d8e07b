"""Probes of every backend: used by GET /healthz and `dataflow-bot check-config`."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from urllib.parse import urlsplit

import docker
import httpx
import pymysql
import redis

from bot.config import Settings
from bot.redact import redact


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
        resp = httpx.get(url.rstrip("/") + path, timeout=timeout)
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


def _planned(settings: Settings, timeout: float) -> list[_Planned]:
    """Redis first, then every configured backend."""
    redis_url = settings.redis_url
    plans = [_Planned("redis", "REDIS_URL", _host_of(redis_url), lambda: probe_redis(redis_url, timeout))]
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


def backend_probes(settings: Settings, timeout: float = 1.0) -> list[Probe]:
    """Every configured backend probed in parallel, Redis first; answers within timeout + GRACE_SECONDS
    whatever the backends do (a hung one is reported as timed out, its probe left to end on its own)."""
    plans = _planned(settings, timeout)
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
