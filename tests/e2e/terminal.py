"""A real process on a pseudo-terminal (stdlib pty): type lines, wait for text, with deadlines, never a hang."""

from __future__ import annotations

import os
import pty
import re
import select
import signal
import subprocess
import time
from pathlib import Path

from tests.harness import BIN, REPO

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")


def demo_env(redis_url: str) -> dict[str, str]:
    """What a new user's shell gives `dataflow-bot demo`: a PATH, a wide terminal, the demo's Redis DB."""
    return {"PATH": f"{BIN}:/usr/bin:/bin", "COLUMNS": "160", "LINES": "50", "TERM": "xterm",
            "DEMO_REDIS_URL": redis_url, "HOME": os.environ.get("HOME", "/tmp")}


class Terminal:
    def __init__(self, argv: list[str], env: dict[str, str], cwd: Path = REPO) -> None:
        self.fd, slave = pty.openpty()
        self.proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env, cwd=cwd,
                                     start_new_session=True)
        os.close(slave)
        self.text = ""   # everything printed so far, escapes removed, \r\n as \n
        self.mark = 0    # where the next expect() starts looking

    def _read(self, until: float) -> bool:
        ready, _, _ = select.select([self.fd], [], [], max(0.0, min(0.2, until - time.monotonic())))
        if not ready:
            return True
        try:
            chunk = os.read(self.fd, 65536)
        except OSError:   # EIO: the process closed the terminal
            return False
        self.text += ANSI.sub("", chunk.decode(errors="replace")).replace("\r\n", "\n").replace("\r", "")
        return bool(chunk)

    def expect(self, needle: str, timeout: float = 30) -> str:
        """Wait for `needle` after the mark; return what was printed up to and including it."""
        until = time.monotonic() + timeout
        while needle not in self.text[self.mark:]:
            if time.monotonic() >= until or not self._read(until):
                raise AssertionError(f"{needle!r} not printed within {timeout} s; printed since the last "
                                     f"check:\n{self.text[self.mark:][-3000:]}")
        end = self.text.index(needle, self.mark) + len(needle)
        seen, self.mark = self.text[self.mark:end], end
        return seen

    def send(self, line: str) -> None:
        os.write(self.fd, (line + "\n").encode())

    def command(self, line: str, timeout: float = 30) -> str:
        """Type a line at the `demo>` prompt; what it printed before the next prompt."""
        self.send(line)
        self.expect(line, timeout)   # the terminal's echo of what was typed
        return self.expect("demo> ", timeout).removesuffix("demo> ")

    def wait(self, timeout: float = 60) -> int:
        until = time.monotonic() + timeout
        while self.proc.poll() is None and time.monotonic() < until:
            self._read(until)
        drain_until = time.monotonic() + 1
        while time.monotonic() < drain_until and self._read(drain_until):
            pass   # what it printed last
        return self.proc.wait(timeout=1)

    def close(self) -> None:
        """Stop the process (its session: the bot it started too) if a test left it running."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
        os.close(self.fd)
