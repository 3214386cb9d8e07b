"""Where an incident's messages go when its channel no longer takes posts (archived, or deleted).

Slack answers `is_archived` or `channel_not_found`; retrying cannot help. The incident moves to the next
channel that takes posts (INCIDENT_CHANNEL, then FALLBACK_CHANNEL) under a new root that says why. When no
channel is left, the alert is held in its stream (not failed, not dead-lettered) until one takes posts
again: a person has to unarchive the channel or set FALLBACK_CHANNEL, and /healthz says so.
"""

from __future__ import annotations

import time
from typing import Any

from slack_sdk.errors import SlackApiError

from bot.config import Settings
from bot.incidents.consumer import HeldError
from bot.store import PREFIX

CHANNEL_GONE = frozenset({"is_archived", "channel_not_found"})
# Channels found archived or deleted: a sorted set, channel -> until when it is not tried first. One key, so
# /healthz reads it with one call (no scan of the keyspace).
GONE_KEY = PREFIX + "channels:gone"
# How long a channel found archived is not tried first. Short enough that an unarchived channel is used
# again within minutes; long enough that a storm does not make one failed call per incident.
GONE_TTL_SECONDS = 300


class ChannelUnavailable(HeldError):
    def __init__(self, channels: list[str]) -> None:
        super().__init__(f"no channel takes posts ({', '.join(channels)} archived or deleted): unarchive it, "
                         "or set FALLBACK_CHANNEL; the alerts are held until then")
        self.channels = channels


def channel_gone(exc: SlackApiError) -> bool:
    return exc.response.get("error") in CHANNEL_GONE


def mark_gone(r: Any, channel: str) -> None:
    r.zadd(GONE_KEY, {channel: time.time() + GONE_TTL_SECONDS})


def known_gone(r: Any, channel: str) -> bool:
    until = r.zscore(GONE_KEY, channel)
    return until is not None and float(until) > time.time()


def gone_channels(r: Any) -> list[str]:
    """Channels found archived or deleted in the last GONE_TTL_SECONDS (for /healthz)."""
    now = time.time()
    r.zremrangebyscore(GONE_KEY, "-inf", now)
    return sorted(str(c) for c in r.zrangebyscore(GONE_KEY, now, "+inf"))


def candidates(settings: Settings, leaving: str) -> list[str]:
    """The channels an incident leaving `leaving` may go to, in order of preference."""
    found = [c for c in (settings.incident_channel, settings.fallback_channel) if c and c != leaving]
    return list(dict.fromkeys(found))
