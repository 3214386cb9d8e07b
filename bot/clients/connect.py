"""Kafka Connect REST client: connector status, restart, pause/resume (reference §2).

Connector configs hold secrets (`database.password`) in plain text: only `capture_configs()` reads
them, through `CaptureConfig`, which keeps what a connector captures and drops everything else.
Decisions branch on status codes and field names only, never on message texts.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

import httpx
from pydantic import ValidationError

from bot.clients.breaker import breaker_for
from bot.clients.connect_models import (
    CONNECTOR_NAMES,
    ConnectorInfo,
    ConnectorOffsets,
    ConnectorStateInfo,
    ErrorMessage,
    ExpandedConnectors,
    ServerInfo,
)
from bot.clients.http import json_client
from bot.errors import BackendError, NotFoundError, UserInputError
from bot.redact import redact

BACKEND = "Kafka Connect"
# Stricter than Connect itself: only names that cannot change the request path ("." and ".." aside).
_NAME = re.compile(r"^[A-Za-z0-9._-]{1,255}$")
_MAX_MESSAGE = 300


@dataclass(frozen=True)
class TaskStatus:
    id: int
    state: str
    worker_id: str
    trace: str | None = None


@dataclass(frozen=True)
class ConnectorStatus:
    name: str
    state: str
    worker_id: str
    trace: str | None
    tasks: list[TaskStatus] = field(default_factory=list)
    type: str = "unknown"

    @property
    def failed_tasks(self) -> list[TaskStatus]:
        return [t for t in self.tasks if t.state == "FAILED"]

    @property
    def is_healthy(self) -> bool:
        """Connector and all tasks RUNNING. No tasks is not healthy: Connect shows `tasks: []`
        while a rebalance reassigns them, and a CDC source always has at least one."""
        return self.state == "RUNNING" and bool(self.tasks) and all(t.state == "RUNNING" for t in self.tasks)

    @property
    def is_paused(self) -> bool:
        """Connector PAUSED and no task still working (Connect leaves a FAILED task FAILED)."""
        return self.state == "PAUSED" and all(t.state in ("PAUSED", "FAILED") for t in self.tasks)

    def task(self, task_id: int) -> TaskStatus | None:
        return next((t for t in self.tasks if t.id == task_id), None)

    def summary(self) -> str:
        tasks = ", ".join(f"task {t.id} {t.state}" for t in self.tasks) or "no tasks"
        return f"connector {self.state}, {tasks}"


class ConnectorNotRunning(BackendError):
    """wait_until_running gave up; `status` is the last state seen (its traces are unredacted)."""

    def __init__(self, where: str, reason: str, status: ConnectorStatus) -> None:
        super().__init__(BACKEND, where, reason)
        self.status = status


def parse_status(data: Any) -> ConnectorStatus:
    """ConnectorStateInfo JSON -> ConnectorStatus. ValueError when a required field is missing."""
    try:
        info = ConnectorStateInfo.model_validate(data)
    except ValidationError as exc:
        raise ValueError(f"unexpected connector status payload ({_problems(exc)})") from None
    tasks = [TaskStatus(t.id, t.state, t.worker_id, t.trace or None) for t in info.tasks]
    return ConnectorStatus(name=info.name, state=info.connector.state, worker_id=info.connector.worker_id,
                           trace=info.connector.trace or None, tasks=tasks, type=info.type)


def _problems(exc: ValidationError) -> str:
    first = exc.errors()[0]
    return f"{'.'.join(map(str, first['loc'])) or 'body'}: {first['msg']}"


def http_reason(status_code: int, content_type: str, body: bytes) -> str:
    """'HTTP 500: Request timed out' from Connect's error JSON, or 'HTTP 502: not JSON (text/html)'."""
    mime = content_type.split(";")[0].strip().lower()
    if not body.strip():
        return f"HTTP {status_code}"
    if mime != "application/json" and not mime.endswith("+json"):
        return f"HTTP {status_code}: not JSON ({mime or 'no content type'})"
    try:
        message = ErrorMessage.model_validate_json(body).message
    except ValidationError as exc:
        invalid = any(e["type"] == "json_invalid" for e in exc.errors())
        return f"HTTP {status_code}: invalid JSON" if invalid else f"HTTP {status_code}"
    if not message:
        return f"HTTP {status_code}"
    # Connect puts exception texts here; they can quote configs, so redact and cap them.
    return f"HTTP {status_code}: {redact(message)[:_MAX_MESSAGE]}"


def check_name(name: str) -> str:
    if not _NAME.match(name) or set(name) == {"."}:
        # Echo it defanged: the text goes to Slack, where "<!channel>" would ping everyone.
        shown = re.sub(r"[^A-Za-z0-9._-]", "?", name[:80])
        raise UserInputError(f"'{shown}' is not a valid connector name",
                             hint="Use letters, digits, '.', '_' and '-' only.")
    return name


def _where(base_url: str) -> str:
    parts = urlsplit(base_url)  # drop any user:password@ from the address we show
    return parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()


def _refused(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ConnectionRefusedError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


class ConnectClient:
    """Synchronous client for one Kafka Connect worker (thread-safe: httpx.Client is)."""

    def __init__(self, base_url: str, timeout: float = 5.0,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.where = _where(self.base_url)
        self.timeout = timeout
        self._http = json_client(self.base_url, timeout, transport)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ConnectClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- API -----------------------------------------------------------------------------------
    def ping(self) -> str:
        """The worker's Kafka version (GET /)."""
        try:
            return ServerInfo.model_validate(self._json(self._call("GET", "/"))).version
        except ValidationError:
            raise self._error("unexpected response: no version") from None

    def list_connectors(self) -> list[str]:
        try:
            return CONNECTOR_NAMES.validate_python(self._json(self._call("GET", "/connectors")))
        except ValidationError:
            raise self._error("unexpected response: not a list of names") from None

    def statuses(self) -> dict[str, ConnectorStatus]:
        """Every connector's status in one call (expand=status)."""
        expanded = self._expanded(self._json(self._call("GET", "/connectors", params={"expand": "status"})))
        return {name: self._parse(entry.status.model_dump() if entry.status else None)
                for name, entry in expanded.root.items()}

    def capture_configs(self) -> dict[str, ConnectorInfo]:
        """Every connector's type and what it captures (expand=info), without its secrets."""
        expanded = self._expanded(self._json(self._call("GET", "/connectors", params={"expand": "info"})))
        return {name: entry.info for name, entry in expanded.root.items() if entry.info is not None}

    def status(self, name: str) -> ConnectorStatus:
        return self._parse(self._json(self._call("GET", f"/connectors/{check_name(name)}/status", name)))

    def info(self, name: str) -> ConnectorInfo:
        """The connector's type and what it captures (GET /connectors/{name}), without its secrets."""
        try:
            return ConnectorInfo.model_validate(self._json(self._call("GET", f"/connectors/{check_name(name)}", name)))
        except ValidationError as exc:
            raise self._error(f"unexpected response ({_problems(exc)})") from None

    def binlog_position(self, name: str) -> tuple[str, int] | None:
        """Where a binlog connector resumes (file, pos) from its committed offset; None when Connect has no
        offsets endpoint (before 3.6) or no offset yet."""
        try:   # no connector name: a 404 here is also what Connect before 3.6 answers (no such endpoint)
            response = self._call("GET", f"/connectors/{check_name(name)}/offsets")
        except BackendError as exc:
            if exc.reason.startswith(("HTTP 404", "HTTP 405")):
                return None
            raise
        try:
            offsets = ConnectorOffsets.model_validate(self._json(response)).offsets
        except ValidationError:
            return None
        return next((p for p in (o.binlog_position for o in offsets) if p is not None), None)

    def restart(self, name: str, include_tasks: bool = True,
                only_failed: bool = True) -> ConnectorStatus | None:
        """202 -> the status with RESTARTING instances; 204 (and 200 from early KIP-745 builds) -> None."""
        params = {"includeTasks": str(include_tasks).lower(), "onlyFailed": str(only_failed).lower()}
        response = self._call("POST", f"/connectors/{check_name(name)}/restart", name, params=params)
        return self._parse(self._json(response)) if response.content.strip() else None

    def restart_task(self, name: str, task_id: int) -> None:
        """POST /connectors/{name}/tasks/{id}/restart: one task, whatever its state (Connect answers 204).
        No connector name for _call: Connect's 404 here means an unknown task ("Task c-5 not found"), and
        an unknown connector is a 500."""
        self._call("POST", f"/connectors/{check_name(name)}/tasks/{int(task_id)}/restart")

    def pause(self, name: str) -> None:
        self._call("PUT", f"/connectors/{check_name(name)}/pause", name)

    def resume(self, name: str) -> None:
        self._call("PUT", f"/connectors/{check_name(name)}/resume", name)

    def wait_until_running(self, name: str, timeout: float, interval: float = 0.5,
                           on_progress: Callable[[ConnectorStatus], None] | None = None,
                           restarted: ConnectorStatus | None = None) -> ConnectorStatus:
        """Poll until healthy. Raises ConnectorNotRunning on timeout, or early when an instance seen
        restarting or running goes FAILED (the restart itself failed: waiting longer cannot help).
        `restarted` is what restart() returned: its RESTARTING instances count as seen restarting,
        so a restart that fails before the first poll still fails fast."""
        recovering = _restarting(restarted)  # instances (None = connector) seen not FAILED
        return self._poll(name, lambda s: s.is_healthy, "RUNNING", timeout, interval, on_progress,
                          lambda s: _failed_again(s, recovering))

    def wait_for_task(self, name: str, task_id: int, state: str, timeout: float, interval: float = 0.5,
                      on_progress: Callable[[ConnectorStatus], None] | None = None) -> ConnectorStatus:
        """Poll until task `task_id` is in `state` (RUNNING; PAUSED after a restart while the connector is
        paused: observed on Connect 3.9.0). The other tasks may stay as they are. Fails early as
        wait_until_running does, for that task only."""
        recovering: set[int | None] = set()

        def failed_again(status: ConnectorStatus) -> bool:
            return _failed_again(_only_task(status, task_id), recovering)

        return self._poll(name, lambda s: _state_of(s.task(task_id)) == state, f"task {task_id} {state}",
                          timeout, interval, on_progress, failed_again)

    def wait_until_paused(self, name: str, timeout: float, interval: float = 0.5,
                          on_progress: Callable[[ConnectorStatus], None] | None = None) -> ConnectorStatus:
        """Poll until the connector and its tasks are PAUSED (a FAILED task stays FAILED: Connect does not
        pause it). Raises ConnectorNotRunning on timeout."""
        return self._poll(name, lambda s: s.is_paused, "PAUSED", timeout, interval, on_progress, None)

    def _poll(self, name: str, done: Callable[[ConnectorStatus], bool], goal: str, timeout: float,
              interval: float, on_progress: Callable[[ConnectorStatus], None] | None,
              failed_again: Callable[[ConnectorStatus], bool] | None) -> ConnectorStatus:
        deadline = time.monotonic() + timeout
        last: tuple[str, ...] | None = None
        while True:
            current = self.status(name)
            shape = _shape(current)
            if shape != last and on_progress is not None:
                on_progress(current)
            last = shape
            if done(current):
                return current
            if failed_again is not None and failed_again(current):
                raise ConnectorNotRunning(self.where, f"{name} failed again after restart "
                                          f"({current.summary()})", current)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ConnectorNotRunning(self.where, f"{name} not {goal} after {timeout} s "
                                          f"({current.summary()})", current)
            time.sleep(min(interval, remaining))

    # -- plumbing ------------------------------------------------------------------------------
    def _call(self, method: str, path: str, connector: str | None = None,
              params: dict[str, str] | None = None) -> httpx.Response:
        try:
            with breaker_for(BACKEND, self.where).call():
                response = self._http.request(method, path, params=params)
        except httpx.TimeoutException:
            raise self._error(f"timed out after {self.timeout} s") from None
        except httpx.TransportError as exc:
            reason = "connection refused" if _refused(exc) else f"cannot connect ({type(exc).__name__})"
            raise self._error(reason) from None
        if response.status_code == 404 and connector is not None:
            raise NotFoundError(f"Kafka Connect has no connector named {connector!r}",
                                hint="`/dataflow status` lists them.")
        if response.status_code >= 400:
            content_type = response.headers.get("content-type", "")
            raise self._error(http_reason(response.status_code, content_type, response.content))
        return response

    def _json(self, response: httpx.Response) -> Any:
        content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != "application/json":
            raise self._error(f"HTTP {response.status_code}: not JSON ({content_type or 'no content type'})")
        try:
            return response.json()
        except ValueError:
            raise self._error("invalid JSON") from None

    def _expanded(self, data: Any) -> ExpandedConnectors:
        try:
            return ExpandedConnectors.model_validate(data)
        except ValidationError as exc:
            raise self._error(f"unexpected response ({_problems(exc)})") from None

    def _parse(self, data: Any) -> ConnectorStatus:
        try:
            return parse_status(data)
        except ValueError as exc:
            raise self._error(str(exc)) from None

    def _error(self, reason: str) -> BackendError:
        return BackendError(BACKEND, self.where, reason)


def _shape(status: ConnectorStatus) -> tuple[str, ...]:
    return (status.state, *(f"{t.id}:{t.state}" for t in status.tasks))


def _state_of(task: TaskStatus | None) -> str | None:
    return task.state if task else None


def _only_task(status: ConnectorStatus, task_id: int) -> ConnectorStatus:
    """The status with the connector instance left out of the early-failure watch (marked RUNNING) and
    only task `task_id` kept: a task restart restarts nothing else."""
    return replace(status, state="RUNNING", tasks=[t for t in status.tasks if t.id == task_id])


def _restarting(status: ConnectorStatus | None) -> set[int | None]:
    if status is None:
        return set()
    ids: set[int | None] = {t.id for t in status.tasks if t.state == "RESTARTING"}
    return ids | {None} if status.state == "RESTARTING" else ids


def _failed_again(status: ConnectorStatus, recovering: set[int | None]) -> bool:
    instances: list[tuple[int | None, str]] = [(None, status.state), *((t.id, t.state) for t in status.tasks)]
    failed_again = any(state == "FAILED" and key in recovering for key, state in instances)
    recovering.update(key for key, state in instances if state != "FAILED")
    return failed_again
