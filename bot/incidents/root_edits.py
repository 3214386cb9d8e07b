"""Root-message refreshes, coalesced: the latest state wins, at most one chat.update per root every
ROOT_EDIT_INTERVAL_SECONDS.

A storm repeats the same alerts thousands of times; each repeat changes a counter on the root message.
Editing once per repeat spent Slack's chat.update budget (about 50 a minute) many times over and kept the
bot busy for minutes after the storm. Instead a repeat marks the root due (a Redis sorted set, so it
survives a restart and is shared by replicas) and one editor loop refreshes each due root from the
incident's current state (bot/incidents/root_editor.py).
"""

from __future__ import annotations

import time
from typing import Any

from bot.store import PREFIX, Store

DUE = PREFIX + "root-edits:due"           # incident id -> when its root may be edited next
LAST = PREFIX + "root-edits:last:"        # + incident id -> when its root was last edited (expires)
BATCH = 20


def request_root_edit(store: Store, incident_id: str, interval_s: float, now: float | None = None) -> None:
    """Mark the root due: now if it was not edited within the interval, else when the interval ends.
    A root already due keeps its (earlier) time: many requests, one edit."""
    now = time.time() if now is None else now
    last = store.r.get(LAST + incident_id)
    due = max(now, float(last) + interval_s) if last else now
    store.r.zadd(DUE, {incident_id: due}, nx=True)


def due_roots(r: Any, now: float) -> list[str]:
    return [str(i) for i in r.zrangebyscore(DUE, "-inf", now, start=0, num=BATCH)]


def mark_edited(store: Store, incident_id: str, interval_s: float, now: float | None = None) -> None:
    now = time.time() if now is None else now
    store.r.set(LAST + incident_id, f"{now:.6f}", ex=max(60, int(interval_s * 10)))


def retry_root_edit(store: Store, incident_id: str, interval_s: float) -> None:
    store.r.zadd(DUE, {incident_id: time.time() + interval_s}, nx=True)


def claim_root_edit(store: Store, incident_id: str) -> bool:
    """Whoever removes a root from the due set makes its edit (one editor per edit across replicas)."""
    return bool(store.r.zrem(DUE, incident_id))
