"""What every module uses: the error type, timestamped output, running commands, writing files."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import threading
import time
from collections import deque
from pathlib import Path

_print_lock = threading.Lock()
_t0 = time.monotonic()


class StackError(Exception):
    """A piece could not be installed or started; the message names the reason and the log."""


def say(msg: str) -> None:
    with _print_lock:
        print(f"[{elapsed():6.1f}s] {msg}", flush=True)


def elapsed() -> float:
    """Seconds since this process started its work."""
    return time.monotonic() - _t0


def run(cmd: list[str], *, log: Path | None = None, env: dict[str, str] | None = None, cwd: Path | None = None,
        input_text: str | None = None, check: bool = True, timeout: float = 900) -> subprocess.CompletedProcess:
    """Run a command; its output goes to `log` (appended) or is captured. Raises StackError on failure."""
    full_env = {**os.environ, **(env or {})}
    if log is not None:
        proc = _run_logged(cmd, log, full_env, cwd, input_text, timeout)
    else:
        proc = subprocess.run(cmd, capture_output=True, text=True, env=full_env, cwd=cwd, input=input_text,
                              timeout=timeout)
    if check and proc.returncode != 0:
        where = f"see {log}" if log else (proc.stderr or proc.stdout or "").strip()[-800:]
        raise StackError(f"`{' '.join(cmd[:3])} ...` exited {proc.returncode}: {where}")
    return proc


def _run_logged(cmd: list[str], log: Path, env: dict[str, str], cwd: Path | None, input_text: str | None,
                timeout: float) -> subprocess.CompletedProcess:
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as fh:
        fh.write(f"\n$ {' '.join(shlex.quote(c) for c in cmd)}\n".encode())
        fh.flush()
        data = input_text.encode() if input_text is not None else None
        return subprocess.run(cmd, stdout=fh, stderr=subprocess.STDOUT, env=env, cwd=cwd, input=data,
                              timeout=timeout)


def write_text(path: Path, text: str, mode: int | None = None) -> None:
    """Write atomically (temp file + rename), with `mode` set before the file appears."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    if mode is not None:
        os.chmod(tmp, mode)
    tmp.replace(path)


def tail(path: Path, lines: int = 40) -> str:
    """The last lines of a log ('' when it does not exist)."""
    try:
        with open(path, errors="replace") as fh:
            return "".join(deque(fh, maxlen=lines))
    except OSError:
        return ""


def which_or(name: str, *fallbacks: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    return next((fb for fb in fallbacks if os.access(fb, os.X_OK)), None)


def sql_str(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"
