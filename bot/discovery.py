"""What the pipeline says about itself: which connector captures which tables into which topics (Kafka
Connect's connector configs) and which Flink jobs run (Flink's job list).

Asked with a short timeout, in parallel, and cached for DISCOVERY_TTL_SECONDS (failures for less). A
backend that is down or not configured gives what is known plus a note; discovery never raises.
Connector configs are read through `CaptureConfig`: the database password is dropped while parsing.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

from bot.clients.connect import ConnectClient
from bot.clients.connect_models import ConnectorInfo
from bot.clients.flink import FlinkClient
from bot.config import Settings
from bot.errors import DataflowError

DISCOVERY_TTL_SECONDS = 30.0
FAILURE_TTL_SECONDS = 5.0          # a backend that was down is asked again soon, not on every call
DISCOVERY_TIMEOUT_SECONDS = 3.0    # per backend; capped by ENRICH_TIMEOUT_SECONDS
SYSTEM_DATABASES = frozenset({"mysql", "sys", "performance_schema", "information_schema"})
_PLAIN_TABLE = re.compile(r"^[A-Za-z0-9_$]+\.[A-Za-z0-9_$]+$")
_MYSQL_CLASSES = ("io.debezium.connector.mysql.", "io.debezium.connector.mariadb.")
T = TypeVar("T")


def _patterns(value: str | None) -> tuple[str, ...]:
    return tuple(p.strip() for p in (value or "").split(",") if p.strip())


def _any_match(patterns: tuple[str, ...], text: str) -> bool:
    """Debezium's include/exclude lists: comma-separated regexes, matched whole and case-insensitively."""
    for pattern in patterns:
        try:
            if re.fullmatch(pattern, text, re.IGNORECASE):
                return True
        except re.error:
            if pattern.lower() == text.lower():
                return True
    return False


@dataclass(frozen=True)
class ConnectorCapture:
    """One connector, reduced to what it captures (a Debezium MySQL source) or reads (a sink)."""

    name: str
    cdc_source: bool = False
    topic_prefix: str | None = None
    database_include: tuple[str, ...] = ()
    database_exclude: tuple[str, ...] = ()
    table_include: tuple[str, ...] = ()
    table_exclude: tuple[str, ...] = ()
    sink_topics: tuple[str, ...] = ()

    @classmethod
    def from_info(cls, info: ConnectorInfo) -> ConnectorCapture:
        c = info.config
        return cls(name=info.name, cdc_source=c.connector_class.startswith(_MYSQL_CLASSES),
                   topic_prefix=c.topic_prefix or c.server_name,
                   database_include=_patterns(c.database_include or c.database_whitelist),
                   database_exclude=_patterns(c.database_exclude),
                   table_include=_patterns(c.table_include or c.table_whitelist),
                   table_exclude=_patterns(c.table_exclude),
                   sink_topics=_patterns(c.topics) if info.type == "sink" else ())

    def captures(self, table: str) -> bool:
        """Would Debezium capture this `db.table`? (no include list: every non-system database)"""
        db, _, _name = table.partition(".")
        if not self.cdc_source or db.lower() in SYSTEM_DATABASES:
            return False
        if self.database_include and not _any_match(self.database_include, db):
            return False
        if _any_match(self.database_exclude, db) or _any_match(self.table_exclude, table):
            return False
        return not self.table_include or _any_match(self.table_include, table)

    def topic_for(self, table: str) -> str | None:
        return f"{self.topic_prefix}.{table}" if self.topic_prefix and self.captures(table) else None

    def table_of_topic(self, topic: str) -> str | None:
        """`<prefix>.<db>.<table>` -> `db.table`, when this connector writes that topic."""
        if not self.topic_prefix or not topic.startswith(self.topic_prefix + "."):
            return None
        table = topic[len(self.topic_prefix) + 1:]
        return table if _PLAIN_TABLE.match(table) and self.captures(table) else None

    def listed_tables(self) -> tuple[str, ...]:
        """The tables its table.include.list names one by one (regexes cannot be listed)."""
        plain = (t.replace("\\.", ".") for t in self.table_include)   # `shop\.orders` is one table too
        return tuple(t for t in plain if _PLAIN_TABLE.match(t))

    def describe(self) -> str:
        """`tables oltp.orders -> topics dbserver1.<db>.<table>`, for check-config and /dataflow status."""
        if not self.cdc_source:
            return f"reads topics {', '.join(self.sink_topics)}" if self.sink_topics else "not a MySQL CDC source"
        tables = ", ".join(self.table_include) or (
            ", ".join(f"{d}.*" for d in self.database_include) if self.database_include else "every database")
        topics = f"{self.topic_prefix}.<db>.<table>" if self.topic_prefix else "(no topic.prefix)"
        return f"captures {tables} -> topics {topics}"


@dataclass(frozen=True)
class Note:
    """Something the scope could not learn (`absent` False) or a name that is not there (`absent` True)."""

    about: str            # "connect" or "flink"
    text: str
    absent: bool = False


@dataclass(frozen=True)
class FlinkJob:
    jid: str
    name: str
    state: str


@dataclass(frozen=True)
class Discovery:
    """What Connect and Flink said; None where they were not asked or did not answer (see notes)."""

    connectors: tuple[ConnectorCapture, ...] | None = None
    jobs: tuple[FlinkJob, ...] | None = None
    notes: tuple[Note, ...] = ()

    def connector(self, name: str) -> ConnectorCapture | None:
        return next((c for c in self.connectors or () if c.name == name), None)

    def job_names(self) -> list[str]:
        return list(dict.fromkeys(j.name for j in self.jobs or ()))

    def newest_jobs(self) -> list[FlinkJob]:
        """One run per name, the newest (the job list comes newest first)."""
        newest: dict[str, FlinkJob] = {}
        for job in self.jobs or ():
            newest.setdefault(job.name, job)
        return list(newest.values())

    def summary(self) -> list[str]:
        """Plain lines for check-config and /dataflow status: connectors, Flink jobs, what was not asked."""
        lines = [f"connector {c.name}: {c.describe()}" for c in self.connectors or ()]
        if self.connectors == ():
            lines.append("connectors: Kafka Connect has none")
        if self.jobs is not None:
            jobs = ", ".join(f"{j.name} ({j.state}, {j.jid[:8]})" for j in self.newest_jobs())
            lines.append(f"flink jobs: {jobs or 'none'}")
        return lines + [f"{'Kafka Connect' if n.about == 'connect' else 'Flink'}: {n.text}" for n in self.notes]


# -- asking the backends ------------------------------------------------------------------------------
def discover_connectors(settings: Settings, timeout: float) -> tuple[tuple[ConnectorCapture, ...] | None, str]:
    if not settings.connect_url:
        return None, ""
    try:
        with ConnectClient(settings.connect_url, timeout=timeout) as client:
            infos = client.capture_configs()
    except DataflowError as exc:
        return None, f"which connectors capture which tables could not be discovered ({_reason(exc)})"
    return tuple(ConnectorCapture.from_info(infos[n]) for n in sorted(infos)), ""


def discover_jobs(settings: Settings, timeout: float) -> tuple[tuple[FlinkJob, ...] | None, str]:
    if not settings.flink_url:
        return None, ""
    try:
        with FlinkClient(settings.flink_url, timeout=timeout) as client:
            jobs = client.jobs()
    except DataflowError as exc:
        return None, f"the job list could not be discovered ({_reason(exc)})"
    return tuple(FlinkJob(j.jid, j.name, j.state) for j in jobs), ""


def _reason(exc: DataflowError) -> str:
    return str(getattr(exc, "reason", "") or exc)


class _Cache:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, str | None], tuple[float, object]] = {}

    def get(self, key: tuple[str, str | None], fetch: Callable[[], tuple[T | None, str]]) -> tuple[T | None, str]:
        now = time.monotonic()
        with self._lock:
            hit = self._entries.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]  # type: ignore[return-value]
        value, note = fetch()
        ttl = DISCOVERY_TTL_SECONDS if value is not None or not note else FAILURE_TTL_SECONDS
        with self._lock:
            self._entries[key] = (time.monotonic() + ttl, (value, note))
        return value, note

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


CACHE = _Cache()


def discover(settings: Settings) -> Discovery:
    """Connect and Flink asked in parallel (cached); never raises, never waits past the timeout much."""
    timeout = min(DISCOVERY_TIMEOUT_SECONDS, settings.enrich_timeout_seconds)
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="discover") as pool:
        connectors = pool.submit(CACHE.get, ("connect", settings.connect_url),
                                 lambda: discover_connectors(settings, timeout))
        jobs = pool.submit(CACHE.get, ("flink", settings.flink_url), lambda: discover_jobs(settings, timeout))
        (found_connectors, note_c), (found_jobs, note_j) = connectors.result(), jobs.result()
    notes = tuple(Note(about, text) for about, text in (("connect", note_c), ("flink", note_j)) if text)
    return Discovery(found_connectors, found_jobs, notes)
