"""Redis: incidents, the alert stream, timeline, idempotency keys and locks. Keys all start with dfo:."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterator
from typing import Any

import redis
from redis.exceptions import LockNotOwnedError
from redis.lock import Lock

from bot.models import Incident, TimelineEvent

PREFIX = "dfo:"
ALERT_STREAM = PREFIX + "alerts"
DEAD_STREAM = PREFIX + "alerts:dead"
AUDIT_STREAM = PREFIX + "audit"
WORKER_GROUP = "dfo-workers"
ENRICH_STREAM = PREFIX + "enrich"        # incidents whose backends are to be asked (bot/incidents/enrich_queue.py)
ENRICH_GROUP = "dfo-enrichers"

LOCK_POLL_SECONDS = 0.02


def connect_redis(url: str) -> redis.Redis:
    """A client that reconnects by itself: retries on connection errors, health-checks idle sockets."""
    return redis.Redis.from_url(
        url,
        decode_responses=True,
        socket_timeout=5,
        socket_connect_timeout=3,
        retry_on_timeout=True,
        health_check_interval=15,
    )


class LockNotAcquired(RuntimeError):
    """Another holder kept the lock for longer than we were willing to wait."""


class Store:
    """All Redis state of the bot. Methods are small and atomic where they need to be."""

    PREFIX_FOLD = PREFIX + "fold:"

    def __init__(self, client: redis.Redis) -> None:
        self.r: Any = client  # redis-py types every reply as a union; we decode to str

    # -- locks and idempotency -------------------------------------------------------------------
    @contextlib.contextmanager
    def lock(self, key: str, ttl_s: float = 10.0, wait_s: float = 10.0) -> Iterator[Lock]:
        """A short mutual-exclusion section across replicas (advisory; see reference §4.2): redis-py's
        Lock (SET NX PX with a random token, released only by its owner). It expires after `ttl_s` even
        if its holder dies; LockNotAcquired when another holder keeps it longer than `wait_s`."""
        lock = self.r.lock(PREFIX + "lock:" + key, timeout=ttl_s, sleep=LOCK_POLL_SECONDS,
                           blocking_timeout=wait_s, thread_local=False)
        if not lock.acquire():
            raise LockNotAcquired(f"could not take lock {key} within {wait_s} s")
        try:
            yield lock
        finally:
            # Held past its TTL, someone else may own it now: leave theirs alone.
            with contextlib.suppress(LockNotOwnedError):
                lock.release()

    def first_time(self, key: str, ttl_s: float) -> bool:
        """True once per key within the TTL: dedupes Slack retries, clicks and deliveries."""
        return bool(self.r.set(PREFIX + "seen:" + key, "1", nx=True, ex=max(1, int(ttl_s))))

    # -- incidents --------------------------------------------------------------------------------
    def next_incident_number(self) -> int:
        return int(self.r.incr(PREFIX + "incident:counter"))

    def save_incident(self, incident: Incident) -> None:
        pipe = self.r.pipeline()
        pipe.set(PREFIX + f"incident:{incident.id}", incident.model_dump_json())
        pipe.zadd(PREFIX + f"incidents:{incident.channel}", {incident.id: incident.opened_at})
        if incident.status == "open":
            pipe.set(PREFIX + f"open:{incident.correlation_key}", incident.id)
        else:
            pipe.delete(PREFIX + f"open:{incident.correlation_key}")
        pipe.set(PREFIX + f"last:{incident.correlation_key}", incident.id)
        if incident.root_ts:
            pipe.set(PREFIX + f"thread:{incident.channel}:{incident.root_ts}", incident.id)
        pipe.execute()

    def incident(self, incident_id: str) -> Incident | None:
        raw = self.r.get(PREFIX + f"incident:{incident_id}")
        return Incident.model_validate_json(raw) if raw else None

    def open_incident_for(self, correlation_key: str) -> Incident | None:
        incident_id = self.r.get(PREFIX + f"open:{correlation_key}")
        return self.incident(incident_id) if incident_id else None

    def last_incident_for(self, correlation_key: str) -> Incident | None:
        incident_id = self.r.get(PREFIX + f"last:{correlation_key}")
        return self.incident(incident_id) if incident_id else None

    def incident_for_thread(self, channel: str, thread_ts: str) -> Incident | None:
        incident_id = self.r.get(PREFIX + f"thread:{channel}:{thread_ts}")
        return self.incident(incident_id) if incident_id else None

    def incidents(self, channel: str, limit: int = 20) -> list[Incident]:
        """Newest first."""
        ids = self.r.zrevrange(PREFIX + f"incidents:{channel}", 0, limit - 1)
        return [i for i in (self.incident(x) for x in ids) if i is not None]

    def latest_open_incident(self, channel: str) -> Incident | None:
        return next((i for i in self.incidents(channel, 200) if i.status == "open"), None)

    # -- what the bot posted (kind -> ts), so a retry finds it ----------------------------------------
    def record_post(self, incident_id: str, kind: str, ts: str) -> None:
        self.r.hset(PREFIX + f"posts:{incident_id}", kind, ts)

    def post_ts(self, incident_id: str, kind: str) -> str | None:
        value = self.r.hget(PREFIX + f"posts:{incident_id}", kind)
        return str(value) if value else None

    def mark_attempt(self, incident_id: str, kind: str) -> None:
        self.r.hset(PREFIX + f"post-attempts:{incident_id}", kind, "1")

    def attempted(self, incident_id: str, kind: str) -> bool:
        return bool(self.r.hexists(PREFIX + f"post-attempts:{incident_id}", kind))

    # -- timeline -------------------------------------------------------------------------------------
    def add_event(self, incident_id: str, event: TimelineEvent) -> bool:
        """Idempotent by source_id: the same Slack message or stream entry is recorded once."""
        source = event.source_id or f"{event.kind}:{event.ts}:{secrets.token_hex(4)}"
        return bool(self.r.hsetnx(PREFIX + f"timeline:{incident_id}", source, event.model_dump_json()))

    def mark_key_event(self, incident_id: str, source_id: str) -> bool:
        raw = self.r.hget(PREFIX + f"timeline:{incident_id}", source_id)
        if not raw:
            return False
        event = TimelineEvent.model_validate_json(raw).model_copy(update={"key": True})
        self.r.hset(PREFIX + f"timeline:{incident_id}", source_id, event.model_dump_json())
        return True

    def events(self, incident_id: str) -> list[TimelineEvent]:
        raw = self.r.hgetall(PREFIX + f"timeline:{incident_id}")
        events = [TimelineEvent.model_validate_json(v) for v in raw.values()]
        return sorted(events, key=lambda e: (e.ts, e.source_id))

    # -- audit log (append-only) ---------------------------------------------------------------------
    def audit(self, **fields: str) -> str:
        return str(self.r.xadd(AUDIT_STREAM, {k: v for k, v in fields.items() if v is not None}))
