"""`up` and `down`.

up: MariaDB, broker, JobManager, TaskManager, Prometheus and Alertmanager start concurrently; Connect
once broker and MariaDB are healthy; then the connector; then the Flink job. Each waits on health
endpoints with one deadline (STACK_START_TIMEOUT). A piece that fails is named with its log's end.
down: TERM (then KILL) in two phases, then verify that no process and no port of the stack is left.
"""

from __future__ import annotations

import concurrent.futures
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

from stacklib import connector, job
from stacklib.broker import Broker
from stacklib.common import StackError, elapsed, say, tail
from stacklib.connect import Connect
from stacklib.credentials import load_secrets, read_secrets
from stacklib.flink import FlinkProc
from stacklib.layout import LOGS, STACK_ENV, make_dirs
from stacklib.mariadb import MariaDB
from stacklib.monitoring import Alertmanager, Prometheus
from stacklib.probes import port_open
from stacklib.proc import Proc, alive, cmdline
from stacklib.settings import STACK_DIR, START_TIMEOUT, all_ports
from stacklib.status import write_stack_env

STOP_PHASES = [["connect", "flink-taskmanager", "prometheus", "alertmanager"],
               ["flink-jobmanager", "broker", "mariadb"]]
TAIL_LINES = 40


def pieces(secret: dict[str, str]) -> dict[str, Proc]:
    return {
        "mariadb": MariaDB(),
        "broker": Broker(),
        "flink-jobmanager": FlinkProc("jobmanager"),
        "flink-taskmanager": FlinkProc("taskmanager"),
        "prometheus": Prometheus(),
        "alertmanager": Alertmanager(secret),
        "connect": Connect(secret),
    }


# (dependencies, the work, the logs to show when it fails)
Task = tuple[list[str], Callable[[], str], Callable[[], list[Path]]]


def _tasks(procs: dict[str, Proc], secret: dict[str, str], deadline: float) -> dict[str, Task]:
    """Everything `up` does, in dependency order (a task's dependencies come before it)."""
    def start(name: str) -> Task:
        deps = ["broker", "mariadb"] if name == "connect" else []
        return deps, lambda: procs[name].start(deadline), procs[name].logs

    mariadb = procs["mariadb"]
    assert isinstance(mariadb, MariaDB)
    return {
        "mariadb": ([], lambda: f"{mariadb.start(deadline)}; {mariadb.bootstrap(secret)}", mariadb.logs),
        **{name: start(name) for name in ("broker", "flink-jobmanager", "flink-taskmanager", "prometheus",
                                          "alertmanager", "connect")},
        "connector": (["connect", "mariadb"], lambda: connector.ensure(deadline), procs["connect"].logs),
        "flink-job": (["flink-taskmanager", "broker", "connector"], lambda: job.submit(deadline),
                      lambda: [job.SUBMIT_LOG, *procs["flink-taskmanager"].logs()[1:]]),
    }


def _plan_offsets(procs: dict[str, Proc]) -> None:
    """A fresh broker has no topics (memory storage): Connect must then start over, unless it still runs."""
    broker_up, connect_up = procs["broker"].pid() is not None, procs["connect"].pid() is not None
    connect = procs["connect"]
    assert isinstance(connect, Connect)
    if not broker_up and not connect_up:
        connect.reset_offsets = True
    elif not broker_up:
        say("warning: the broker is down while Connect runs; Connect keeps its old offsets "
            "(stack-down first for a clean start)")


def up() -> int:
    make_dirs()
    secret = load_secrets()
    procs = pieces(secret)
    _plan_offsets(procs)
    tasks = _tasks(procs, secret, time.monotonic() + START_TIMEOUT)
    say(f"up: {STACK_DIR}")
    failures = _run_tasks(tasks)
    write_stack_env(secret, procs)
    if failures:
        _report_failures(failures, tasks)
        return 1
    say(f"up: all pieces up in {elapsed():.1f}s; {STACK_ENV}")
    return 0


def _run_tasks(tasks: dict[str, Task]) -> dict[str, str]:
    """Run every task in its own thread, each after its dependencies; {name: error} of those that failed."""
    futures: dict[str, concurrent.futures.Future] = {}

    def runner(name: str) -> str:
        deps, work, _log = tasks[name]
        for dep in deps:
            try:
                futures[dep].result()
            except Exception:
                raise StackError(f"not started: {dep} failed") from None
        started = time.monotonic()
        result = work()
        say(f"{name}: {result} [{time.monotonic() - started:.1f}s]")
        return result

    failures: dict[str, str] = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(tasks)) as pool:
        for name in tasks:   # dependencies are submitted before their dependents (dict order)
            futures[name] = pool.submit(runner, name)
        for name, fut in futures.items():
            try:
                fut.result()
            except Exception as exc:
                failures[name] = str(exc)
                say(f"{name}: FAILED: {exc}")
    return failures


def _report_failures(failures: dict[str, str], tasks: dict[str, Task]) -> None:
    """Name each piece that failed by itself (not for a dependency) and show the end of its log."""
    own = [name for name, err in failures.items() if not err.startswith("not started:")]
    say(f"up: {len(failures)} piece(s) not up: {', '.join(failures)}. Logs: {LOGS}")
    for name in own:
        say(f"up: {name} FAILED: {failures[name]}")
        for log in tasks[name][2]():
            _show_tail(log)


def _show_tail(log: Path) -> None:
    text = tail(log, TAIL_LINES)
    if text:
        sys.stdout.write(f"----- last {TAIL_LINES} lines of {log} -----\n{text}----- end of {log} -----\n")
    else:
        sys.stdout.write(f"----- {log}: empty or missing -----\n")
    sys.stdout.flush()


def down() -> int:
    procs = pieces(read_secrets())
    for phase in STOP_PHASES:
        with concurrent.futures.ThreadPoolExecutor(max_workers=len(phase)) as pool:
            for name, result in zip(phase, pool.map(lambda n: procs[n].stop(), phase), strict=True):
                say(f"{name}: {result}")
    left = leftovers()
    for line in left:
        say(f"down: LEFT BEHIND: {line}")
    if not left:
        say("down: no process under STACK_DIR and no listener on the stack's ports")
    return 1 if left else 0


def leftovers() -> list[str]:
    """Processes of ours (command line under STACK_DIR, not this script) and listeners on our ports."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        cmd = cmdline(int(entry.name))
        if str(STACK_DIR) in cmd and "stack.py" not in cmd and alive(int(entry.name)):
            out.append(f"pid {entry.name}: {cmd[:160]}")
    out += [f"port {port} still listening" for port in all_ports() if port_open(port)]
    return out
