"""Container logs via the Docker Engine API (docker SDK): find a Compose service's container, grep it.

Returns raw log text: the caller redacts before posting anywhere. stdout and stderr are fetched
separately (docker-py strips the stream ids when it demultiplexes) and merged by their timestamps.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import docker
import docker.errors

from bot.clients.breaker import breaker_for
from bot.clients.docker_parse import LogLine, parse_log_bytes, reason_for
from bot.errors import BackendError, NotFoundError, UserInputError

__all__ = ["ContainerLogs", "ContainerRef", "LogExcerpt", "LogLine"]

LABEL = "com.docker.compose."


@dataclass(frozen=True, slots=True)
class ContainerRef:
    id: str
    name: str
    service: str
    project: str


@dataclass(frozen=True, slots=True)
class LogExcerpt:
    container: str
    lines: list[LogLine]
    scanned: int         # lines read from the end of the log
    matched: int         # of those, lines that matched (lines holds at most `limit` of them)


class ContainerLogs:
    """`base_url` None means docker.from_env() (DOCKER_HOST, DOCKER_TLS_VERIFY...)."""

    def __init__(self, base_url: str | None = None, timeout: float = 5.0, project: str | None = None) -> None:
        self.where = docker_where(base_url or os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock")
        self._base_url = base_url
        self._timeout = timeout
        self._project = project
        self._client: Any = None
        self._lock = threading.Lock()

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

    def find_service_container(self, service: str) -> ContainerRef:
        """The service's container by Compose labels: not one-off, lowest container-number."""
        if not service:
            raise UserInputError("a compose service name is required")
        labels = [f"{LABEL}service={service}"] + ([f"{LABEL}project={self._project}"] if self._project else [])
        with self._guard():
            found = self._api().containers(all=True, filters={"label": labels})
        candidates = [c for c in found if (c.get("Labels") or {}).get(f"{LABEL}oneoff") != "True"]
        if not candidates:
            raise NotFoundError(f"no container for compose service '{service}'")
        best = min(candidates, key=_number_and_name)
        labels_of = best.get("Labels") or {}
        return ContainerRef(str(best["Id"]), _name(best), service, str(labels_of.get(f"{LABEL}project", "")))

    def grep(self, service: str, pattern: str = "schema", limit: int = 200, scan_tail: int = 5000,
             since: datetime | None = None) -> LogExcerpt:
        """The last `limit` lines, among the last `scan_tail`, containing `pattern` (literal, any case)."""
        _positive(limit=limit, scan_tail=scan_tail)
        ref = self.find_service_container(service)
        lines = self._read(ref.id, scan_tail, since)
        needle = pattern.casefold()
        matched = [line for line in lines if needle in line.text.casefold()]
        return LogExcerpt(ref.name, matched[-limit:], scanned=len(lines), matched=len(matched))

    def tail(self, service: str, lines: int = 200) -> LogExcerpt:
        _positive(lines=lines)
        ref = self.find_service_container(service)
        read = self._read(ref.id, lines, None)
        return LogExcerpt(ref.name, read, scanned=len(read), matched=len(read))

    # -- internals ---------------------------------------------------------------------------------
    def _api(self) -> Any:
        """The low-level API client, made on first use: docker-py asks the engine's version in its
        constructor, and a bot must start even while Docker is down."""
        with self._lock:
            if self._client is None:
                if self._base_url is None:
                    self._client = docker.from_env(timeout=self._timeout)
                else:
                    self._client = docker.DockerClient(base_url=self._base_url, version="auto",
                                                       timeout=self._timeout)
            return self._client.api

    def _read(self, container_id: str, tail: int, since: datetime | None) -> list[LogLine]:
        since_utc = since.replace(tzinfo=UTC) if since and since.tzinfo is None else since
        keyed = self._fetch(container_id, "stdout", tail, since_utc)
        keyed += self._fetch(container_id, "stderr", tail, since_utc)
        keyed.sort(key=lambda pair: pair[0])   # stable: equal stamps keep each stream's order
        lines = [line for _, line in keyed]
        if since_utc is not None:   # the Engine takes whole seconds; cut to the exact instant here
            lines = [line for line in lines if line.timestamp is None or line.timestamp >= since_utc]
        # Each stream gave up to `tail` lines; together they cover the last `tail` of the log.
        return lines[-tail:]

    def _fetch(self, container_id: str, stream: str, tail: int,
               since: datetime | None) -> list[tuple[int, LogLine]]:
        kwargs: dict[str, Any] = {"stdout": stream == "stdout", "stderr": stream == "stderr",
                                  "timestamps": True, "tail": tail}
        if since is not None and since.timestamp() >= 1:
            kwargs["since"] = int(since.timestamp())
        with self._guard():
            raw = self._api().logs(container_id, **kwargs)
        return parse_log_bytes(raw, stream)

    @contextmanager
    def _guard(self) -> Iterator[None]:
        """Every SDK or transport failure becomes a BackendError naming the host, never credentials.

        Each call goes through the engine's breaker: a Docker that accepts and never answers holds a few
        calls for their timeout, then is not asked for a while (bot/clients/breaker.py)."""
        try:
            with breaker_for("Docker", self.where).call(is_timeout=self._timed_out):
                yield
        except docker.errors.NotFound as exc:
            raise NotFoundError(f"Docker at {self.where}: {_first_line(exc.explanation)}") from None
        except Exception as exc:  # the SDK raises requests/urllib3/docker errors alike
            reason = reason_for(exc, self._timeout)
            if reason is None:
                raise
            raise BackendError("Docker", self.where, reason) from None

    def _timed_out(self, exc: BaseException) -> bool:
        return (reason_for(exc, self._timeout) or "").startswith("timed out")


def docker_where(url: str) -> str:
    """The engine's address for messages: scheme and host[:port] or socket path, no credentials."""
    parts = urlsplit(url)
    if parts.scheme in ("unix", "npipe", "http+unix"):
        return f"{parts.scheme}://{parts.path}"
    host = parts.hostname or "?"
    return f"{parts.scheme or 'tcp'}://{host}:{parts.port}" if parts.port else f"{parts.scheme}://{host}"


def _number_and_name(container: dict[str, Any]) -> tuple[int, str]:
    number = str((container.get("Labels") or {}).get(f"{LABEL}container-number", ""))
    return (int(number) if number.isdigit() else 1_000_000, _name(container))


def _name(container: dict[str, Any]) -> str:
    names = container.get("Names") or [container.get("Id", "")[:12]]
    return str(names[0]).lstrip("/")


def _positive(**values: int) -> None:
    for key, value in values.items():
        if value < 1:
            raise UserInputError(f"{key} must be at least 1")


def _first_line(text: Any) -> str:
    lines = str(text or "").strip().splitlines()
    return lines[0][:300] if lines else "not found"
