"""A fake Docker Engine API (protocols.md section 6): compose-labelled containers and their logs.

Enough of the Engine for docker-py 7: `/_ping`, `/version` (the SDK asks it when version="auto"),
container list/inspect and non-follow logs, under any `/v1.NN` prefix or none.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from flask import Flask

from bot.sandbox.docker_routes import API_VERSION, register
from bot.sandbox.faults import FaultPlan
from bot.sandbox.server import BackgroundServer, SandboxService

COMPOSE = "com.docker.compose."


@dataclass
class LogEntry:
    ns: int              # epoch nanoseconds
    stream: str          # stdout | stderr
    text: str


@dataclass
class SimContainer:
    id: str
    name: str
    labels: dict[str, str]
    tty: bool
    state: str
    created: int         # epoch seconds
    image: str
    logs: list[LogEntry] = field(default_factory=list)


class DockerEngineSimulator(SandboxService):
    """The Engine API on 127.0.0.1:`port`; point docker-py at `tcp://127.0.0.1:<port>`."""

    def __init__(self, port: int = 0) -> None:
        self.requests: list[tuple[str, str]] = []      # (method, path without version prefix)
        self._containers: dict[str, SimContainer] = {}
        self._faults = FaultPlan()
        self._lock = threading.RLock()
        self.app = Flask("docker_sim")
        self.app.wsgi_app = _StripVersion(self.app.wsgi_app)  # type: ignore[method-assign]
        register(self.app, self)
        self._server = BackgroundServer(self.app, port=port)

    @property
    def docker_host(self) -> str:
        """The DOCKER_HOST value for this engine."""
        return f"tcp://127.0.0.1:{self._server.port}"

    # -- scripting ---------------------------------------------------------------------------------
    def add_container(self, name: str, service: str, project: str = "dataflow", number: int = 1,
                      oneoff: bool = False, tty: bool = False, state: str = "running") -> str:
        """A container with the labels Compose v2 sets; returns its 64-hex id."""
        cid = uuid.uuid4().hex + uuid.uuid4().hex
        image = f"{project}-{service}:latest"
        labels = {
            f"{COMPOSE}project": project, f"{COMPOSE}service": service,
            f"{COMPOSE}container-number": str(number), f"{COMPOSE}oneoff": "True" if oneoff else "False",
            f"{COMPOSE}project.working_dir": f"/srv/{project}",
            f"{COMPOSE}project.config_files": f"/srv/{project}/docker-compose.yml",
            f"{COMPOSE}config-hash": uuid.uuid4().hex * 2, f"{COMPOSE}version": "2.27.1",
            f"{COMPOSE}image": f"sha256:{uuid.uuid4().hex * 2}", f"{COMPOSE}depends_on": "",
        }
        created = int(datetime.now(UTC).timestamp())
        with self._lock:
            self._containers[cid] = SimContainer(cid, name, labels, tty, state, created, image)
        return cid

    def append_log(self, name_or_id: str, line: str, stream: str = "stdout",
                   at: datetime | None = None) -> None:
        """One log line (several if it holds newlines, each with the same timestamp).

        A naive `at` is UTC. A TTY container has no separate stderr: everything is stdout.
        """
        if stream not in ("stdout", "stderr"):
            raise ValueError("stream must be 'stdout' or 'stderr'")
        ns = _epoch_ns(at or datetime.now(UTC))
        with self._lock:
            container = self.find(name_or_id)
            if container is None:
                raise KeyError(name_or_id)
            for text in line.split("\n"):
                container.logs.append(LogEntry(ns, "stdout" if container.tty else stream, text))

    def inject(self, status: int, body: Any = None, content_type: str = "application/json",
               times: int = 1, path: str | None = None) -> None:
        """The next `times` requests (to `path` only, if given) get this answer instead."""
        self._faults.add(status, {"message": "injected failure"} if body is None else body,
                         content_type, times, path)

    def set_latency(self, seconds: float) -> None:
        self._faults.latency = seconds

    def reset(self) -> None:
        with self._lock:
            self._containers.clear()
            self.requests.clear()
        self._faults.clear()

    # -- used by the routes ------------------------------------------------------------------------
    def find(self, ref: str) -> SimContainer | None:
        """By full id, by name (with or without the leading '/'), else by unique id prefix."""
        with self._lock:
            if ref in self._containers:
                return self._containers[ref]
            named = [c for c in self._containers.values() if c.name == ref.lstrip("/")]
            if named:
                return named[0]
            prefixed = [c for c in self._containers.values() if ref and c.id.startswith(ref)]
            return prefixed[0] if len(prefixed) == 1 else None

    def containers(self) -> list[SimContainer]:
        with self._lock:
            return sorted(self._containers.values(), key=lambda c: c.created, reverse=True)

    def faults(self) -> FaultPlan:
        return self._faults


def _epoch_ns(at: datetime) -> int:
    aware = at if at.tzinfo else at.replace(tzinfo=UTC)
    delta = aware - datetime(1970, 1, 1, tzinfo=UTC)
    # Integer arithmetic: a float timestamp would lose the microseconds.
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1_000


class _StripVersion:
    """`/v1.45/containers/json` and `/containers/json` are the same route; too new a version is a 400."""

    def __init__(self, inner: Callable[..., Any]) -> None:
        self.inner = inner

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        path: str = environ.get("PATH_INFO", "")
        parts = path.split("/", 2)
        if len(parts) > 2 and parts[1].startswith("v") and parts[1][1:].replace(".", "").isdigit():
            environ["docker.api_version"] = parts[1][1:]
            environ["PATH_INFO"] = "/" + parts[2]
        return self.inner(environ, start_response)


__all__ = ["API_VERSION", "DockerEngineSimulator", "LogEntry", "SimContainer"]
