"""State of the Kafka Connect simulator: connectors, tasks, pauses and delayed restarts.

No HTTP here: `connect_sim.py` maps REST calls onto these methods. Shapes follow Kafka Connect's
ConnectorStateInfo / ConnectorInfo / TaskInfo entities (reference §2.2).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# Called with the connector name when its tasks restart; a returned trace makes them FAILED again.
HealthCheck = Callable[[str], str | None]

# The trace of a task restarted by an id its connector has no config for, as Connect 3.9.0 (standalone)
# listed it (first frames): the worker tries to start it anyway, and keeps it FAILED until the connector goes.
PHANTOM_TRACE = ('java.lang.NullPointerException: Cannot invoke "java.util.Map.size()" because "inputMap" is null\n'
                 "\tat org.apache.kafka.common.utils.Utils.castToStringObjectMap(Utils.java:1490)\n"
                 "\tat org.apache.kafka.connect.runtime.Worker.startTask(Worker.java:662)\n")
STATES = frozenset({"UNASSIGNED", "RUNNING", "PAUSED", "FAILED", "RESTARTING", "STOPPED"})


class RestError(Exception):
    """An error the REST layer turns into Connect's `{"error_code", "message"}` body."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class Instance:
    """A connector instance or one of its tasks."""

    state: str = "RUNNING"
    trace: str = ""
    # Bumped on every restart, so a timer left over from an older restart cannot settle a newer one.
    generation: int = 0

    def to_json(self, worker_id: str) -> dict[str, Any]:
        body: dict[str, Any] = {"state": self.state, "worker_id": worker_id}
        if self.trace:  # Connect omits an empty trace (@JsonInclude(NON_EMPTY)).
            body["trace"] = self.trace
        return body


@dataclass
class Connector:
    name: str
    config: dict[str, str]
    type: str
    worker_id: str
    instance: Instance = field(default_factory=Instance)
    tasks: list[Instance] = field(default_factory=list)
    paused: bool = False
    # Tasks Connect lists FAILED after a restart of a task id it has no config for (until deleted).
    phantoms: dict[int, Instance] = field(default_factory=dict)

    def settled_state(self) -> str:
        return "PAUSED" if self.paused else "RUNNING"


def status_json(conn: Connector) -> dict[str, Any]:
    tasks = [{"id": i, **task.to_json(conn.worker_id)} for i, task in enumerate(conn.tasks)]
    tasks += [{"id": i, **task.to_json(conn.worker_id)} for i, task in sorted(conn.phantoms.items())]
    return {"name": conn.name, "connector": conn.instance.to_json(conn.worker_id),
            "tasks": tasks, "type": conn.type}


def info_json(conn: Connector) -> dict[str, Any]:
    tasks = [{"connector": conn.name, "task": i} for i in range(len(conn.tasks))]
    return {"name": conn.name, "config": dict(conn.config), "tasks": tasks, "type": conn.type}


def _type_of(config: dict[str, str]) -> str:
    return "sink" if "sink" in config.get("connector.class", "").lower() else "source"


class ConnectState:
    """Thread-safe: REST handler threads and restart timers share it."""

    def __init__(self, restart_delay: float = 0.3) -> None:
        self.restart_delay = restart_delay
        self.health_check: HealthCheck | None = None
        self._lock = threading.RLock()
        self._connectors: dict[str, Connector] = {}
        self._timers: list[threading.Timer] = []

    # -- queries -------------------------------------------------------------------------------
    def get(self, name: str, missing: str = "Connector {} not found") -> Connector:
        with self._lock:
            conn = self._connectors.get(name)
        if conn is None:
            raise RestError(404, missing.format(name))
        return conn

    def names(self) -> list[str]:
        with self._lock:
            return sorted(self._connectors)

    def status(self, name: str) -> dict[str, Any]:
        with self._lock:
            return status_json(self.get(name, "No status found for connector {}"))

    def task(self, name: str, task_id: int, missing: str = "No status found for task {}") -> Instance:
        conn = self.get(name, missing)
        if not 0 <= task_id < len(conn.tasks):
            raise RestError(404, missing.format(f"{name}-{task_id}"))
        return conn.tasks[task_id]

    def task_status(self, name: str, task_id: int) -> dict[str, Any]:
        missing = "No status found for task {}"
        with self._lock:
            if name not in self._connectors:
                raise RestError(404, missing.format(f"{name}-{task_id}"))
            return {"id": task_id, **self.task(name, task_id, missing).to_json(self._connectors[name].worker_id)}

    def counts(self) -> list[tuple[str, int, int]]:
        """(connector, FAILED tasks, RUNNING tasks) for /metrics."""
        with self._lock:
            return [(c.name, sum(t.state == "FAILED" for t in c.tasks),
                     sum(t.state == "RUNNING" for t in c.tasks)) for c in self._connectors.values()]

    # -- scripting and config ------------------------------------------------------------------
    def add(self, name: str, config: dict[str, str], tasks: int = 1, type: str = "source",
            worker_id: str = "connect:8083") -> None:
        conn = Connector(name=name, config={**config, "name": name}, type=type, worker_id=worker_id,
                         tasks=[Instance() for _ in range(tasks)])
        with self._lock:
            self._connectors[name] = conn

    def put_config(self, name: str, config: dict[str, str]) -> bool:
        """Create or update; True when created (201), False when updated (200)."""
        if config.get("name", name) != name:
            raise RestError(400, f"Connector name configuration ({config['name']}) doesn't match "
                                 f"connector name in the URL ({name})")
        tasks = int(config.get("tasks.max", "1"))
        with self._lock:
            existing = self._connectors.get(name)
            if existing is None:
                self.add(name, config, tasks=tasks, type=_type_of(config))
                return True
            existing.config = {**config, "name": name}
            if tasks != len(existing.tasks):
                existing.tasks = [Instance(state=existing.settled_state()) for _ in range(tasks)]
            return False

    def delete(self, name: str) -> None:
        with self._lock:
            self.get(name)
            del self._connectors[name]

    def set_task(self, name: str, task_id: int, state: str, trace: str = "") -> None:
        if state not in STATES:
            raise ValueError(f"unknown state {state!r}; expected one of {sorted(STATES)}")
        with self._lock:
            task = self.task(name, task_id)
            task.state, task.trace = state, trace if state == "FAILED" else ""
            task.generation += 1  # a pending restart must not overwrite a scripted state

    def fail_connector(self, name: str, trace: str) -> None:
        with self._lock:
            inst = self.get(name).instance
            inst.state, inst.trace = "FAILED", trace
            inst.generation += 1

    # -- lifecycle -----------------------------------------------------------------------------
    def pause(self, name: str) -> None:
        with self._lock:
            conn = self.get(name, "Unknown connector {}")
            conn.paused = True
            for inst in [conn.instance, *conn.tasks]:
                if inst.state in ("RUNNING", "UNASSIGNED"):  # FAILED instances stay FAILED
                    inst.state = "PAUSED"

    def resume(self, name: str) -> None:
        with self._lock:
            conn = self.get(name, "Unknown connector {}")
            if not conn.paused:
                return  # Connect: resuming a connector that is not paused is a no-op
            conn.paused = False
            if conn.instance.state == "PAUSED":
                conn.instance.state = "RUNNING"
            # Resumed tasks start for real: a task that cannot start fails then (observed on Connect 3.9.0
            # for a task restarted while paused), so they go through the restart's health check.
            self._begin_restart(conn, [t for t in conn.tasks if t.state == "PAUSED"], showing="RUNNING")

    def restart(self, name: str, include_tasks: bool, only_failed: bool) -> dict[str, Any] | None:
        """KIP-745 semantics. None for the legacy connector-only restart (HTTP 204)."""
        with self._lock:
            conn = self.get(name, "Unknown connector: {}")
            if not include_tasks and not only_failed:
                conn.instance.state, conn.instance.trace = conn.settled_state(), ""
                conn.instance.generation += 1
                return None
            targets = [conn.instance] if not only_failed or conn.instance.state == "FAILED" else []
            if include_tasks:
                targets += [t for t in conn.tasks if not only_failed or t.state == "FAILED"]
            self._begin_restart(conn, targets)
            return status_json(conn)  # shows RESTARTING for the instances being restarted

    def restart_task(self, name: str, task_id: int) -> None:
        """As Connect 3.9.0 answered: an unknown task is a 404, an unknown connector a 500 (the worker tries
        to start a task it has no config for). The task comes back RUNNING, or PAUSED when the connector is."""
        with self._lock:
            if name not in self._connectors:
                raise RestError(500, f"Failed to start task {name}-{task_id} since it is not a recognizable "
                                     "type (source or sink)")
            conn = self.get(name)
            if not 0 <= task_id < len(conn.tasks):   # Connect 3.9.0 tries to start it anyway, and lists it
                conn.phantoms[task_id] = Instance("FAILED", PHANTOM_TRACE)
            self._begin_restart(conn, [self.task(name, task_id, "Task {} not found")])

    def clear(self) -> None:
        """Forget every connector and pending restart (tests reuse one simulator)."""
        self.cancel_timers()
        with self._lock:
            self._connectors.clear()
        self.health_check = None

    def cancel_timers(self) -> None:
        with self._lock:
            timers, self._timers = self._timers, []
        for timer in timers:
            timer.cancel()

    def _begin_restart(self, conn: Connector, targets: list[Instance], showing: str = "RESTARTING") -> None:
        tokens = []
        for inst in targets:
            inst.state = showing   # Connect keeps the old trace until the instance runs again
            inst.generation += 1
            tokens.append((inst, inst.generation))
        if tokens:
            timer = threading.Timer(self.restart_delay, self._settle, args=(conn, tokens))
            timer.daemon = True
            self._timers = [t for t in self._timers if t.is_alive()] + [timer]
            timer.start()

    def _settle(self, conn: Connector, tokens: list[tuple[Instance, int]]) -> None:
        # A task restarted while its connector is paused comes back PAUSED, not started (Connect 3.9.0).
        restarted_tasks = not conn.paused and any(inst is not conn.instance for inst, _ in tokens)
        # Outside the lock: the demo's health check queries MySQL.
        trace = self._run_health_check(conn.name) if restarted_tasks else None
        with self._lock:
            if self._connectors.get(conn.name) is not conn:
                return  # deleted (or replaced) while restarting
            for inst, generation in tokens:
                if inst.generation != generation:
                    continue
                if trace and inst is not conn.instance:
                    inst.state, inst.trace = "FAILED", trace
                else:
                    inst.state, inst.trace = conn.settled_state(), ""

    def _run_health_check(self, name: str) -> str | None:
        check = self.health_check
        if check is None:
            return None
        try:
            return check(name)
        except Exception as exc:  # a broken dependency fails the task, as it would in Connect
            return f"org.apache.kafka.connect.errors.ConnectException: {type(exc).__name__}: {exc}"
