"""Process supervision: each long-running piece is a Proc with a pid file in run/ and a log in logs/.

A piece runs in its own session (process group), so stopping it signals its children too. A pid file
is trusted only while that pid is alive and its command line lies under STACK_DIR.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

from stacklib.common import StackError, write_text
from stacklib.layout import RUN
from stacklib.probes import poll, port_open
from stacklib.settings import STACK_DIR, STOP_TIMEOUT


def alive(pid: int) -> bool:
    """True for a live process (a zombie counts as dead)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        return ""


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


class Proc:
    """A long-running piece started by this script. Subclasses say what to run and how to tell it is healthy."""

    def __init__(self, name: str, ports: list[int], url: str, log: Path):
        self.name = name
        self.ports = ports
        self.url = url
        self.log = log
        self.pidfile = RUN / f"{name}.pid"
        self.popen: subprocess.Popen | None = None

    # -- what subclasses provide ---------------------------------------------------------------
    def command(self) -> tuple[list[str], dict[str, str], Path]:
        """(argv, extra environment, working directory)."""
        raise NotImplementedError

    def healthy(self) -> bool:
        raise NotImplementedError

    def prepare(self) -> None:
        """Write configs, create dirs (runs before start)."""

    def logs(self) -> list[Path]:
        """The logs worth reading when the piece fails (its console log; some pieces log elsewhere too)."""
        return [self.log]

    # -- state ---------------------------------------------------------------------------------
    def pid(self) -> int | None:
        """The pid from the pid file while it is still ours: alive, command line under STACK_DIR."""
        try:
            pid = int(self.pidfile.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None
        return pid if alive(pid) and str(STACK_DIR) in cmdline(pid) else None

    def dead_reason(self) -> str | None:
        if self.popen is not None:
            rc = self.popen.poll()
            return None if rc is None else f"exited with code {rc}; log: {self.log}"
        return None if self.pid() is not None else f"process is gone; log: {self.log}"

    # -- start ---------------------------------------------------------------------------------
    def start(self, deadline: float) -> str:
        """Start unless already running, then wait until healthy. Idempotent."""
        pid = self.pid()
        if pid is not None:
            return self._wait_existing(pid, deadline)
        busy = [p for p in self.ports if port_open(p)]
        if busy:
            raise StackError(f"port(s) {busy} already in use by another process (ss -ltnp 'sport = :{busy[0]}')")
        self.prepare()
        pid = self._spawn()
        poll(self.healthy, deadline, self.name, self.dead_reason)
        return f"started (pid {pid})"

    def _wait_existing(self, pid: int, deadline: float) -> str:
        if self.healthy():
            return f"already up (pid {pid})"
        poll(self.healthy, deadline, f"{self.name} (pid {pid}, started earlier)", self.dead_reason)
        return f"up (pid {pid}, was starting)"

    def _spawn(self) -> int:
        cmd, env, cwd = self.command()
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log, "ab") as fh:
            fh.write(f"\n===== {time.strftime('%Y-%m-%d %H:%M:%S')} stack.py starts {self.name}\n".encode())
            fh.flush()
            self.popen = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                          cwd=cwd, env={**os.environ, **env}, start_new_session=True)
        write_text(self.pidfile, f"{self.popen.pid}\n")
        return self.popen.pid

    # -- stop ----------------------------------------------------------------------------------
    def stop(self) -> str:
        """TERM the process group; KILL it after STOP_TIMEOUT."""
        pid = self.pid()
        if pid is None:
            self.pidfile.unlink(missing_ok=True)
            return "not running"
        how = "TERM"
        if not _signal_and_wait(pid, signal.SIGTERM, STOP_TIMEOUT):
            _signal_and_wait(pid, signal.SIGKILL, 10)
            how = "KILL after TERM timed out"
        self.pidfile.unlink(missing_ok=True)
        return f"pid {pid} still alive after KILL" if alive(pid) else f"stopped pid {pid} ({how})"


def _signal_and_wait(pid: int, sig: int, timeout: float) -> bool:
    """Signal the process group (started with start_new_session: pgid == pid); True once pid is gone."""
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
    end = time.monotonic() + timeout
    while alive(pid) and time.monotonic() < end:
        time.sleep(0.1)
    return not alive(pid)
