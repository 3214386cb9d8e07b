"""The alert worker: reads the stream through a consumer group and does the Slack side of each entry.

An entry is acked only when its Slack side is done. A worker that dies leaves it pending; any worker
claims it after WORKER_CLAIM_IDLE_SECONDS. An entry that fails WORKER_MAX_ATTEMPTS times goes to the
dead-letter stream and is reported in the incident channel instead of looping forever.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from typing import Any

import redis

from bot.deps import Deps
from bot.incidents.fold import fold_notification
from bot.incidents.payload import AMNotification
from bot.incidents.publish import publish_fold
from bot.log import get_logger
from bot.metrics import STREAM_ENTRIES
from bot.store import ALERT_STREAM, DEAD_STREAM, PREFIX, WORKER_GROUP

log = get_logger(__name__)
ATTEMPTS = PREFIX + "alerts:attempts"


def ensure_group(r: Any) -> None:
    try:
        r.xgroup_create(ALERT_STREAM, WORKER_GROUP, id="0", mkstream=True)
    except redis.ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise


def alert_worker(deps: Deps, stop: threading.Event) -> None:
    """Background loop (one per process). Survives Redis restarts: reconnects and carries on."""
    consumer = f"{socket.gethostname()}-{os.getpid()}"
    backoff = 0.5
    while not stop.is_set():
        try:
            ensure_group(deps.store.r)
            for entry_id, fields in next_entries(deps, consumer):
                process_entry(deps, entry_id, fields)
            backoff = 0.5
        except redis.RedisError as exc:
            log.warning("redis unavailable, retrying", error=type(exc).__name__, retry_in=backoff)
            stop.wait(backoff)
            backoff = min(backoff * 2, 10.0)


def next_entries(deps: Deps, consumer: str) -> list[tuple[str, dict[str, str]]]:
    """Entries another worker left pending first, then new ones (blocking up to 1 s)."""
    idle_ms = int(deps.settings.worker_claim_idle_seconds * 1000)
    claimed = deps.store.r.xautoclaim(ALERT_STREAM, WORKER_GROUP, consumer, idle_ms, "0-0", count=10)
    entries = [(e_id, fields) for e_id, fields in claimed[1] if fields]
    if entries:
        return entries
    read = deps.store.r.xreadgroup(WORKER_GROUP, consumer, {ALERT_STREAM: ">"}, count=10, block=1000)
    return [(e_id, fields) for _stream, items in (read or []) for e_id, fields in items]


def process_entry(deps: Deps, entry_id: str, fields: dict[str, str]) -> None:
    r = deps.store.r
    attempts = int(r.hincrby(ATTEMPTS, entry_id, 1))
    if attempts > deps.settings.worker_max_attempts:
        dead_letter(deps, entry_id, fields, f"failed {attempts - 1} times")
        return
    started = time.monotonic()
    try:
        handle_notification(deps, AMNotification.model_validate_json(fields["payload"]), entry_id)
    except Exception as exc:  # left pending: another attempt after the claim timeout
        STREAM_ENTRIES.labels("retried").inc()
        log.warning("alert entry failed; will retry", entry=entry_id, attempt=attempts,
                    error=deps.redactor.text(repr(exc)))
        return
    r.xack(ALERT_STREAM, WORKER_GROUP, entry_id)
    r.hdel(ATTEMPTS, entry_id)
    STREAM_ENTRIES.labels("acked").inc()
    log.info("alert entry done", entry=entry_id, seconds=round(time.monotonic() - started, 3))


def handle_notification(deps: Deps, notification: AMNotification, entry_id: str) -> None:
    channel = deps.settings.incident_channel or ""
    folds = fold_notification(deps.store, deps.lineage, notification, entry_id, channel,
                              deps.settings.incident_reopen_seconds)
    for fold in folds:
        publish_fold(deps, fold, entry_id)


def dead_letter(deps: Deps, entry_id: str, fields: dict[str, str], reason: str) -> None:
    r = deps.store.r
    r.xadd(DEAD_STREAM, {**fields, "original_id": entry_id, "reason": reason})
    r.xack(ALERT_STREAM, WORKER_GROUP, entry_id)
    r.hdel(ATTEMPTS, entry_id)
    STREAM_ENTRIES.labels("dead").inc()
    log.error("alert entry dead-lettered", entry=entry_id, reason=reason)
    try:
        deps.slack.chat_postMessage(
            channel=deps.settings.incident_channel or "",
            text=(f":warning: An Alertmanager notification (stream entry `{entry_id}`) could not be processed "
                  f"after {deps.settings.worker_max_attempts} attempts and was moved to the dead-letter stream "
                  f"`{DEAD_STREAM}`. Check the bot's logs for entry {entry_id}."),
        )
    except Exception as exc:  # Slack itself may be the reason; the entry is safe in the dead-letter stream
        log.error("could not report dead letter in Slack", error=deps.redactor.text(repr(exc)))
