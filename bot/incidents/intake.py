"""Durable intake: a notification is in the Redis stream before Alertmanager gets its 200."""

from __future__ import annotations

import time

import redis

from bot.incidents.payload import AMNotification
from bot.metrics import ALERTS_RECEIVED
from bot.store import ALERT_STREAM, Store


class StoreUnavailable(RuntimeError):
    pass


def enqueue_notification(store: Store, notification: AMNotification) -> str:
    try:
        entry_id = store.r.xadd(
            ALERT_STREAM, {"payload": notification.model_dump_json(), "received_at": f"{time.time():.6f}"}
        )
    except redis.RedisError as exc:
        ALERTS_RECEIVED.labels("unavailable").inc()
        raise StoreUnavailable(f"could not store the notification in Redis ({type(exc).__name__}); retry") from exc
    ALERTS_RECEIVED.labels("accepted").inc()
    return str(entry_id)
