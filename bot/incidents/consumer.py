"""Reading a Redis stream through a consumer group, at least once, with a bounded number of attempts.

An entry is acked only when its handler returns. A consumer that dies leaves it pending; any consumer
claims it after `claim_idle_s`. An entry that fails `max_attempts` times is handed to `on_dead` instead
of looping forever. A handler that raises HeldError is stopped by something outside the entry (no Slack
channel takes posts): the entry stays pending and its attempt is not counted, so it is never given up for
that. The alert stream and the enrichment stream both run on this.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import redis

from bot.log import get_logger
from bot.metrics import STREAM_ENTRIES

log = get_logger(__name__)
Fields = dict[str, str]


class HeldError(Exception):
    """The entry cannot be handled until someone fixes a condition outside it; str() says what to do."""


def ensure_group(r: Any, stream: str, group: str) -> None:
    try:
        r.xgroup_create(stream, group, id="0", mkstream=True)
    except redis.ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise


@dataclass(frozen=True)
class StreamConsumer:
    stream: str
    group: str
    handle: Callable[[str, Fields], None]
    on_dead: Callable[[str, Fields, str], None]
    max_attempts: int
    claim_idle_s: float
    redact: Callable[[str], str] = str

    @property
    def attempts_key(self) -> str:
        return self.stream + ":attempts"

    def run(self, r: Any, stop: threading.Event, name: str) -> None:
        """The loop of one consumer thread. Survives Redis restarts: reconnects and carries on."""
        consumer = f"{socket.gethostname()}-{os.getpid()}-{name}"
        backoff = 0.5
        while not stop.is_set():
            try:
                self.ensure_group(r)
                for entry_id, fields in self.next_entries(r, consumer):
                    self.process(r, entry_id, fields)
                backoff = 0.5
            except redis.RedisError as exc:
                log.warning("redis unavailable, retrying", stream=self.stream, error=type(exc).__name__,
                            retry_in=backoff)
                stop.wait(backoff)
                backoff = min(backoff * 2, 10.0)

    def ensure_group(self, r: Any) -> None:
        ensure_group(r, self.stream, self.group)

    def next_entries(self, r: Any, consumer: str) -> list[tuple[str, Fields]]:
        """Entries another consumer left pending first, then new ones (blocking up to 1 s). One at a time:
        a consumer holding a batch would keep the rest from the other consumers while it works."""
        idle_ms = int(self.claim_idle_s * 1000)
        claimed = r.xautoclaim(self.stream, self.group, consumer, idle_ms, "0-0", count=1)
        entries = [(e_id, fields) for e_id, fields in claimed[1] if fields]
        if entries:
            return entries
        read = r.xreadgroup(self.group, consumer, {self.stream: ">"}, count=1, block=1000)
        return [(e_id, fields) for _stream, items in (read or []) for e_id, fields in items]

    def process(self, r: Any, entry_id: str, fields: Fields) -> None:
        attempts = int(r.hincrby(self.attempts_key, entry_id, 1))
        if attempts > self.max_attempts:
            try:
                self.on_dead(entry_id, fields, f"failed {attempts - 1} times")
            except Exception as exc:  # reporting may fail for the same reason; the entry is given up anyway
                log.error("could not report a given-up entry", stream=self.stream, entry=entry_id,
                          error=self.redact(repr(exc)))
            self.done(r, entry_id, "dead")
            return
        started = time.monotonic()
        try:
            self.handle(entry_id, fields)
        except HeldError as exc:  # kept pending, not counted: tried again after the claim timeout
            r.hincrby(self.attempts_key, entry_id, -1)
            STREAM_ENTRIES.labels("held").inc()
            log.error("stream entry held", stream=self.stream, entry=entry_id, reason=self.redact(str(exc)))
            return
        except Exception as exc:  # left pending: another attempt after the claim timeout
            STREAM_ENTRIES.labels("retried").inc()
            log.warning("stream entry failed; will retry", stream=self.stream, entry=entry_id, attempt=attempts,
                        error=self.redact(repr(exc)))
            return
        self.done(r, entry_id, "acked")
        log.info("stream entry done", stream=self.stream, entry=entry_id,
                 seconds=round(time.monotonic() - started, 3))

    def done(self, r: Any, entry_id: str, outcome: str) -> None:
        r.xack(self.stream, self.group, entry_id)
        r.hdel(self.attempts_key, entry_id)
        STREAM_ENTRIES.labels(outcome).inc()
