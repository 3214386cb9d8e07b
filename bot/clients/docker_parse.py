"""Pure helpers of the container-logs client: log line parsing and error classification."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import docker.errors
import requests.exceptions

# Docker's RFC3339Nano prefix (fixed nine digits in practice; accept any width and an offset).
_STAMP = re.compile(
    r"^(?P<base>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(?P<frac>\d{1,9}))?"
    r"(?P<tz>Z|[+-]\d{2}:\d{2}) (?P<text>.*)$", re.S,
)


@dataclass(frozen=True, slots=True)
class LogLine:
    timestamp: datetime | None     # UTC; microsecond precision (Python's), the order uses nanoseconds
    stream: str                    # stdout | stderr
    text: str


def parse_log_bytes(raw: bytes | str, stream: str) -> list[tuple[int, LogLine]]:
    """Lines of a demultiplexed log with `timestamps=True`, each with a nanosecond sort key.

    A line without a stamp (not expected) keeps its neighbour's key, so its place is kept.
    """
    text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
    out: list[tuple[int, LogLine]] = []
    last_key = 0
    for line in text.split("\n"):
        line = line.removesuffix("\r")
        if not line:
            continue
        stamp, ns, body = split_timestamp(line)
        last_key = ns if ns is not None else last_key
        out.append((last_key, LogLine(stamp, stream, body)))
    return out


def split_timestamp(line: str) -> tuple[datetime | None, int | None, str]:
    """`2025-03-04T10:15:31.123456789Z text` -> (aware UTC datetime, epoch ns, "text")."""
    match = _STAMP.match(line)
    if match is None:
        return None, None, line
    try:
        base = datetime.strptime(match["base"], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
    except ValueError:
        return None, None, line
    offset = _offset(match["tz"])
    frac_ns = int((match["frac"] or "0").ljust(9, "0"))
    utc = base - offset
    seconds = int((utc - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds())
    return utc.replace(microsecond=frac_ns // 1000), seconds * 1_000_000_000 + frac_ns, match["text"]


def _offset(tz: str) -> timedelta:
    if tz == "Z":
        return timedelta(0)
    sign = 1 if tz[0] == "+" else -1
    return sign * timedelta(hours=int(tz[1:3]), minutes=int(tz[4:6]))


def reason_for(exc: BaseException, timeout: float) -> str | None:
    """A short reason for a Docker SDK / transport failure; None for anything else (a bug: re-raise).

    Branches on exception types down the cause chain (docker-py wraps requests, which wraps urllib3,
    which wraps the OS error), never on message texts.
    """
    if isinstance(exc, docker.errors.APIError):
        explanation = str(exc.explanation or "").strip()
        first = explanation.splitlines()[0][:300] if explanation else ""
        return f"HTTP {exc.status_code}: {first}" if first else f"HTTP {exc.status_code}"
    chain = list(_causes(exc))
    if any(isinstance(e, TimeoutError | requests.exceptions.Timeout) for e in chain):
        return f"timed out after {timeout} s"
    if any(isinstance(e, ConnectionRefusedError) for e in chain):
        return "connection refused"
    if any(isinstance(e, requests.exceptions.ConnectionError | ConnectionError) for e in chain):
        return "connection failed"
    if isinstance(exc, docker.errors.DockerException | requests.exceptions.RequestException):
        text = str(exc).strip()
        return f"{type(exc).__name__}: {text.splitlines()[0][:200]}" if text else type(exc).__name__
    return None


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """The exception and everything it wraps: __cause__, __context__, urllib3's `.reason`, args."""
    todo: list[BaseException] = [exc]
    seen: set[int] = set()
    while todo and len(seen) < 20:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        wrapped = [current.__cause__, current.__context__, getattr(current, "reason", None), *current.args]
        todo.extend(e for e in wrapped if isinstance(e, BaseException))
