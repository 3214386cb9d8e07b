"""Store's lock (redis-py's Lock) against real Redis: exclusive, bounded wait, expiry, owner-only release."""

from __future__ import annotations

import threading
import time

import pytest
import redis

from bot.store import LockNotAcquired, Store


def test_one_holder_at_a_time_across_stores(redis_client: redis.Redis) -> None:
    one, two = Store(redis_client), Store(redis.Redis(connection_pool=redis_client.connection_pool))
    inside: list[str] = []

    def worker(store: Store, name: str) -> None:
        with store.lock("corr:x", ttl_s=5, wait_s=5):
            inside.append(name + ":in")
            time.sleep(0.1)
            inside.append(name + ":out")

    threads = [threading.Thread(target=worker, args=(s, n)) for s, n in ((one, "a"), (two, "b"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [e.split(":")[1] for e in inside] == ["in", "out", "in", "out"]
    assert not redis_client.exists("dfo:lock:corr:x")


def test_a_lock_held_too_long_is_not_acquired(redis_client: redis.Redis) -> None:
    store = Store(redis_client)
    with store.lock("busy", ttl_s=5), pytest.raises(LockNotAcquired, match=r"within 0\.2 s"):
        started = time.monotonic()
        with store.lock("busy", wait_s=0.2):
            pass
    assert time.monotonic() - started < 2


def test_an_expired_lock_is_taken_over_and_its_late_release_spares_the_new_owner(redis_client: redis.Redis) -> None:
    store = Store(redis_client)
    with store.lock("slow", ttl_s=0.2):
        time.sleep(0.3)                                   # our TTL ran out: a dead holder, as far as Redis knows
        with store.lock("slow", ttl_s=5, wait_s=0):       # someone else takes it
            pass
        redis_client.set("dfo:lock:slow", "someone-else")
    assert redis_client.get("dfo:lock:slow") == "someone-else"   # our release left theirs alone
