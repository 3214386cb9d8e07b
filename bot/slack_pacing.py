"""Pacing every Slack Web API call: Slack's rate limits, a 429's Retry-After, and who goes first.

Slack limits most methods per app and workspace by tier, and `chat.postMessage` to about one message per
second per channel (short bursts allowed). On an incident day the bot has far more to say than that, so
calls wait here, in the order a human needs them: a storm's summary and a new incident's root first, then answers to
people (approvals, refusals, command results), then alert lines in threads, then enrichment, then
cosmetic edits. A 429 stops the whole key for its Retry-After: sending more would only earn more 429s.

The budgets are per process: replicas each pace themselves, and Slack's 429 is the backstop.
Limits: https://api.slack.com/apis/rate-limits (tiers per method; "1 message per second per channel").
"""

from __future__ import annotations

import contextvars
import heapq
import itertools
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import IntEnum


class Priority(IntEnum):
    """Lower goes first."""

    STORM = 0       # the storm summary: in a storm, what makes every incident visible at once
    ROOT = 1        # a new incident's root message: the channel must show every incident
    USER = 2        # answers to a person: approvals, refusals, command and step results
    THREAD = 3      # alert lines in an incident's thread
    ENRICH = 4      # backend status, diffs, logs
    EDIT = 5        # root-message refreshes and other cosmetic edits


# Calls per minute, per app and workspace (Slack's tiers: 1 -> 1+, 2 -> 20+, 3 -> 50+, 4 -> 100+).
TIER_PER_MINUTE = {1: 1.0, 2: 20.0, 3: 50.0, 4: 100.0}
METHOD_TIER = {
    "chat.update": 3, "chat.delete": 3, "chat.postEphemeral": 4, "chat.getPermalink": 4,
    "conversations.history": 3, "conversations.replies": 3, "conversations.info": 3,
    "users.info": 4, "users.list": 2, "usergroups.users.list": 2, "reactions.add": 3,
    "files.getUploadURLExternal": 4, "files.completeUploadExternal": 4, "views.open": 4, "views.update": 4,
}
POSTS_PER_SECOND_PER_CHANNEL = 1.0
POST_BURST = 10.0                 # "generous burst behavior is also granted" (chat.postMessage docs)
TIER_BURST_SECONDS = 20.0         # tiers "allow bursts": a bucket holds this many seconds of calls
# The share of a bucket that bulk traffic (alert lines, enrichment, edits) may not take: kept for a new
# root, a storm summary or an answer to a person, so that one arriving after a busy thread goes at once
# instead of waiting for the refill (P1: a root waited ~1 s behind the previous incident's enrichment).
RESERVED_SHARE = 0.2

_current: contextvars.ContextVar[Priority] = contextvars.ContextVar("slack_priority", default=Priority.USER)


@contextmanager
def slack_priority(priority: Priority) -> Iterator[None]:
    """Every Slack call made inside this block (in this thread) waits with `priority`."""
    token = _current.set(priority)
    try:
        yield
    finally:
        _current.reset(token)


def current_priority() -> Priority:
    return _current.get()


MAX_SLEEP = 1.0                   # a waiter looks again at least this often (a long Retry-After included)
UNPACED = (1000.0, 1000.0)         # methods without a tier (chat.postMessage app-wide): only a 429 stops them


def keys_for(method: str, channel: str | None) -> list[str]:
    """The budgets a call draws on: its method's, and for posts the channel's."""
    keys = [f"method:{method}"]
    if method == "chat.postMessage" and channel:
        keys.append(f"channel:{channel}")
    return keys


def bucket_shape(key: str) -> tuple[float, float]:
    """(refill per second, capacity) of a key's bucket."""
    if key.startswith("channel:"):
        return POSTS_PER_SECOND_PER_CHANNEL, POST_BURST
    tier = METHOD_TIER.get(key.removeprefix("method:"))
    if tier is None:
        return UNPACED
    per_second = TIER_PER_MINUTE[tier] / 60.0
    return per_second, max(1.0, per_second * TIER_BURST_SECONDS)


@dataclass
class _Bucket:
    rate: float
    capacity: float
    tokens: float
    updated: float
    blocked_until: float = 0.0
    waiters: list[tuple[int, int]] = field(default_factory=list)   # heap of tickets (priority, seq)

    def refill(self, now: float) -> None:
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now

    @property
    def reserve(self) -> float:
        return float(int(self.capacity * RESERVED_SHARE))

    def wait_needed(self, now: float, bulk: bool = False) -> float:
        """Seconds until this bucket can give a slot (0 = now); bulk traffic leaves the reserve alone."""
        if now < self.blocked_until:
            return self.blocked_until - now
        needed = 1.0 + (self.reserve if bulk else 0.0)
        return 0.0 if self.tokens >= needed else (needed - self.tokens) / self.rate


class RateGate:
    """Token buckets per key with priority queues. A caller waits until it is first in line on each of its
    keys (by priority, then arrival) and each has a token. Tickets are totally ordered, so the best waiter
    is first everywhere it waits: no two callers can block each other.

    Answers to people (USER) are not paced ahead of time: they are few, someone is waiting for each, and
    they run on the threads that serve people, which must not sit in a queue that bulk traffic made. They
    still take their token (so the bulk traffic slows down for them) and still wait out a 429."""

    def __init__(self, shape: Callable[[str], tuple[float, float]] = bucket_shape,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._shape = shape
        self._clock = clock
        self._cond = threading.Condition()
        self._buckets: dict[str, _Bucket] = {}
        self._seq = itertools.count()

    def acquire(self, keys: list[str], priority: Priority) -> None:
        if not keys:
            return
        ticket = (int(priority), next(self._seq))
        with self._cond:
            buckets = [self._bucket(k) for k in keys]
            for bucket in buckets:
                heapq.heappush(bucket.waiters, ticket)
            try:
                while (delay := self._delay(buckets, ticket)) > 0:
                    self._cond.wait(timeout=min(delay, MAX_SLEEP))
                for bucket in buckets:
                    bucket.tokens -= 1.0
            finally:
                for bucket in buckets:
                    bucket.waiters.remove(ticket)
                    heapq.heapify(bucket.waiters)
                self._cond.notify_all()

    def hold_off(self, keys: list[str], seconds: float) -> None:
        """Slack said 429: nobody sends on these keys for `seconds`."""
        with self._cond:
            until = self._clock() + seconds
            for key in keys:
                bucket = self._bucket(key)
                bucket.blocked_until = max(bucket.blocked_until, until)
                bucket.tokens = min(bucket.tokens, 0.0)
            self._cond.notify_all()

    def waiting(self) -> int:
        with self._cond:
            return sum(len(b.waiters) for b in self._buckets.values())

    def _delay(self, buckets: list[_Bucket], ticket: tuple[int, int]) -> float:
        now = self._clock()
        delay = 0.0
        for bucket in buckets:
            bucket.refill(now)
            if ticket[0] == Priority.USER:     # a person waits: only Slack's own 429 stops it
                delay = max(delay, bucket.blocked_until - now)
                continue
            if bucket.waiters[0] != ticket:
                delay = max(delay, 1.0)   # someone goes first; their exit notifies us
            delay = max(delay, bucket.wait_needed(now, bulk=ticket[0] >= Priority.THREAD))
        return delay

    def _bucket(self, key: str) -> _Bucket:
        if key not in self._buckets:
            rate, capacity = self._shape(key)
            self._buckets[key] = _Bucket(rate, capacity, capacity, self._clock())
        return self._buckets[key]
