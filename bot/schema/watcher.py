"""The drift watcher: compares every watched table with its baseline and exports the result as metrics.

It posts nothing: Prometheus alerts on dataflow_schema_drift_columns and the enrichment shows the diff.
Several replicas may run it; a Redis lock makes exactly one of them check at a time.
"""

from __future__ import annotations

import contextlib
import threading

import redis
import structlog
from redis.exceptions import LockError, LockNotOwnedError

from bot.clients.mysql import connect
from bot.errors import DataflowError
from bot.metrics import SCHEMA_DRIFT_CHECK_OK, SCHEMA_DRIFT_COLUMNS
from bot.pipeline import Lineage
from bot.schema.baseline import BaselineStore
from bot.schema.diff import diff_schemas
from bot.schema.model import TableSchema
from bot.schema.reader import read_tables

LOCK_KEY = "dfo:lock:drift-watcher"

log = structlog.get_logger(__name__)


class DriftWatcher:
    def __init__(self, redis_client: redis.Redis, mysql_url: str, lineage: Lineage,
                 baselines: BaselineStore, interval_s: float) -> None:
        self._redis = redis_client
        self._url = mysql_url
        self._lineage = lineage
        self._baselines = baselines
        self._interval = max(float(interval_s), 0.1)
        # redis-py's Lock: renewed and released only with our own token, never another replica's.
        # Its TTL survives one slow check and expires soon after a crash.
        self._lock = redis_client.lock(LOCK_KEY, timeout=self._interval * 3, thread_local=False)

    def check_once(self) -> dict[str, int]:
        """Drifted-column count per watched table (-1 when the table could not be checked)."""
        tables = self._lineage.watched_tables()
        try:
            conn = connect(self._url)
            try:
                live = read_tables(conn, [_pair(t) for t in tables])
            finally:
                conn.close()
        except (DataflowError, OSError) as exc:
            log.warning("drift_check_failed", error=str(exc))
            return {t: self._failed(t) for t in tables}
        return {t: self._check(t, live.get(_pair(t))) for t in tables}

    def _check(self, table: str, live: TableSchema | None) -> int:
        if live is None:
            log.warning("drift_check_table_missing", table=table)
            return self._failed(table)
        try:
            baseline = self._baselines.ensure(table, live)
        except (DataflowError, redis.RedisError) as exc:
            log.warning("drift_check_failed", table=table, error=str(exc))
            return self._failed(table)
        count = len(diff_schemas(baseline.schema, live).drifted_columns())
        schema, name = _pair(table)
        SCHEMA_DRIFT_COLUMNS.labels(schema=schema, table=name).set(count)
        SCHEMA_DRIFT_CHECK_OK.labels(schema=schema, table=name).set(1)
        return count

    def _failed(self, table: str) -> int:
        schema, name = _pair(table)
        SCHEMA_DRIFT_CHECK_OK.labels(schema=schema, table=name).set(0)
        return -1

    def acquire(self) -> bool:
        """Take or renew the lock; True while this replica holds it."""
        with contextlib.suppress(LockNotOwnedError):   # lost since the last check: try to take it anew
            if self._lock.owned():
                return bool(self._lock.reacquire())
        return bool(self._lock.acquire(blocking=False))

    def release(self) -> bool:
        """True when it was ours and is now free."""
        try:
            self._lock.release()
        except LockError:   # not taken, or another replica's by now
            return False
        return True

    def run(self, stop_event: threading.Event) -> None:
        """Check every interval while holding the lock, until stop_event is set; then release it."""
        try:
            while not stop_event.is_set():
                try:
                    if self.acquire():
                        self.check_once()
                except redis.RedisError as exc:
                    log.warning("drift_watcher_redis_error", error=str(exc))
                stop_event.wait(self._interval)
        finally:
            with contextlib.suppress(redis.RedisError):  # the lock expires by itself anyway
                self.release()


def _pair(table: str) -> tuple[str, str]:
    schema, _, name = table.partition(".")
    return schema, name
