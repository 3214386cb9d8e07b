"""Slack's Web API rate limits, as the emulator enforces them once switched on (off by default).

A call over its limit gets what Slack answers: HTTP 429, {"ok": false, "error": "ratelimited"} and a
Retry-After header in whole seconds. Each limit is a token bucket (`burst` calls at once, then
`per_minute` a minute); a refused call takes no token, as nothing was done. bench/README.md lists
every limit with its source; Slack documents the rates, not the burst sizes, so those are ours.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

WORKSPACE = "*"   # the bucket key of a limit that is per app per workspace, not per channel


@dataclass(frozen=True)
class Limit:
    per_minute: int
    burst: int
    per_channel: bool = False   # chat.postMessage's 1/s is per channel; the tiers are per workspace


# Slack's tiers (docs.slack.dev/apis/web-api/rate-limits): "1+", "20+", "50+", "100+" per minute, bursts
# "a small amount" (1), "occasional" (2), "sporadic" (3), "generous" (4).
TIER_1, TIER_2 = Limit(1, 2), Limit(20, 5)
TIER_3, TIER_4 = Limit(50, 10), Limit(100, 20)

# chat.postMessage is Slack's "special tier": about 1 a second per channel with short bursts, and a
# workspace-wide "several hundred per minute" (we take 300).
POST_PER_CHANNEL = Limit(60, 3, per_channel=True)
POST_PER_WORKSPACE = Limit(300, 30)

# Tiers as java-slack-sdk's MethodsRateLimits lists them (Slack's method pages agree); the methods the
# emulator serves. auth.test and chat.getPermalink are special tiers of "hundreds per minute": not limited.
METHOD_LIMITS: dict[str, tuple[Limit, ...]] = {
    "chat.postMessage": (POST_PER_CHANNEL, POST_PER_WORKSPACE),
    "chat.update": (TIER_3,),
    "chat.postEphemeral": (TIER_4,),
    "reactions.add": (TIER_3,),
    "conversations.history": (TIER_3,),
    "conversations.replies": (TIER_3,),
    "conversations.info": (TIER_3,),
    "users.info": (TIER_4,),
    "usergroups.users.list": (TIER_2,),
    "conversations.archive": (TIER_2,),
    "conversations.unarchive": (TIER_2,),
    "files.getUploadURLExternal": (TIER_4,),
    "files.completeUploadExternal": (TIER_4,),
    "apps.connections.open": (TIER_1,),
}


@dataclass
class _Bucket:
    tokens: float
    updated: float


@dataclass
class RateLimiter:
    """Decides, per call, whether Slack would answer it or refuse it with 429. Thread-safe.

    `clock` is injectable so tests count calls against a clock they move, never against real time.
    """

    clock: Callable[[], float] = time.monotonic
    limits: dict[str, tuple[Limit, ...]] = field(default_factory=lambda: dict(METHOD_LIMITS))
    _buckets: dict[tuple[str, int, str], _Bucket] = field(default_factory=dict)
    _refused: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def admit(self, method: str, channel: str | None = None) -> int | None:
        """None when the call may go ahead (its tokens are taken); else the Retry-After in seconds."""
        limits = self.limits.get(method, ())
        with self._lock:
            now = self.clock()
            buckets = [self._bucket(method, i, limit, channel, now) for i, limit in enumerate(limits)]
            waits = [self._wait(bucket, limit) for bucket, limit in zip(buckets, limits, strict=True)]
            if any(w > 0 for w in waits):
                self._refused[method] = self._refused.get(method, 0) + 1
                return max(1, math.ceil(max(waits)))   # Slack's Retry-After is whole seconds, at least 1
            for bucket in buckets:
                bucket.tokens -= 1
            return None

    def refused(self, method: str | None = None) -> int:
        """How many calls were answered 429 (of this method, or in all)."""
        with self._lock:
            return self._refused.get(method, 0) if method else sum(self._refused.values())

    def reset(self) -> None:
        with self._lock:
            self._buckets.clear()
            self._refused.clear()

    def _bucket(self, method: str, index: int, limit: Limit, channel: str | None, now: float) -> _Bucket:
        key = (method, index, (channel or "") if limit.per_channel else WORKSPACE)
        bucket = self._buckets.setdefault(key, _Bucket(limit.burst, now))
        bucket.tokens = min(limit.burst, bucket.tokens + (now - bucket.updated) * limit.per_minute / 60)
        bucket.updated = now
        return bucket

    @staticmethod
    def _wait(bucket: _Bucket, limit: Limit) -> float:
        """Seconds until this bucket holds a whole token again (0: it has one now)."""
        missing = 1 - bucket.tokens
        return 0.0 if missing <= 1e-9 else missing * 60 / limit.per_minute
