"""Storm mode: when many incidents open in a channel at once, one summary message lists them all.

Slack lets a bot post about one message per second in a channel, so fifty incidents opening together
take a minute to get their own root messages, and a channel of fifty roots is not something a person
reads. When STORM_THRESHOLD incidents open within STORM_WINDOW_SECONDS, the channel gets one storm
summary first (it is edited, on chat.update's own budget, as incidents join and resolve), saying what they
have in common; each incident still gets its own root and thread, as fast as the rate allows. The storm
ends when no incident has opened for STORM_WINDOW_SECONDS.
"""

from __future__ import annotations

from slack_sdk.errors import SlackApiError

from bot.blocks.storm import storm_blocks, storm_text
from bot.deps import Deps
from bot.incidents.channels import channel_gone, mark_gone
from bot.incidents.poster import ThreadPoster
from bot.incidents.root_edits import request_root_edit
from bot.models import Incident
from bot.slack_pacing import Priority, slack_priority
from bot.store import PREFIX, Store

OPENS = PREFIX + "storm:opens:"       # + channel: incident id -> when it opened (the last window's)
ACTIVE = PREFIX + "storm:active:"     # + channel: the storm's owner id; expires a window after the last open
MEMBERS = PREFIX + "storm:members:"   # + owner: incident id -> when it opened
LAST = PREFIX + "storm:last:"         # + channel: the newest storm's owner id (kept a day)
FACTS = PREFIX + "storm:facts:"       # + incident id: what its enrichment saw ("key\x1fvalue"), kept a day
SUMMARY = "storm-summary"             # the post kind of the summary message
DAY = 86400


def storm_owner(channel: str, started: float) -> str:
    return f"storm:{channel}:{started:.6f}"


def is_storm(owner: str) -> bool:
    return owner.startswith("storm:")


def note_opened(store: Store, inc: Incident, threshold: int, window_s: float) -> str | None:
    """Count an incident that just opened; the owner id of the storm it belongs to, if any."""
    r, channel, now = store.r, inc.channel, inc.opened_at
    r.zadd(OPENS + channel, {inc.id: now})
    r.zremrangebyscore(OPENS + channel, "-inf", now - window_s)
    r.expire(OPENS + channel, int(window_s) + 1)
    owner = r.get(ACTIVE + channel)
    if owner is None:
        recent = {str(i): float(t) for i, t in r.zrangebyscore(OPENS + channel, now - window_s, "+inf",
                                                               withscores=True)}
        if len(recent) < threshold:
            return None
        owner = storm_owner(channel, now)
        if r.set(ACTIVE + channel, owner, nx=True, ex=int(window_s) + 1):
            r.zadd(MEMBERS + owner, recent)
        owner = r.get(ACTIVE + channel) or owner
    r.expire(ACTIVE + channel, int(window_s) + 1)
    r.zadd(MEMBERS + owner, {inc.id: now})
    r.expire(MEMBERS + owner, DAY)
    r.set(LAST + channel, owner, ex=DAY)
    return str(owner)


def storm_of(store: Store, inc: Incident) -> str | None:
    """The storm an incident belongs to (the channel's newest one), if it does."""
    owner = store.r.get(LAST + inc.channel)
    return str(owner) if owner and store.r.zscore(MEMBERS + owner, inc.id) is not None else None


def members(store: Store, owner: str) -> list[Incident]:
    ids = store.r.zrange(MEMBERS + owner, 0, -1)
    return [i for i in (store.incident(x) for x in ids) if i is not None]


def note_facts(deps: Deps, inc: Incident, facts: list[tuple[str, str]]) -> None:
    """What the incident's enrichment saw; the storm it belongs to, if any, shows what all of them share."""
    if not facts:
        return
    deps.store.r.sadd(FACTS + inc.id, *(f"{k}\x1f{v}" for k, v in facts))
    deps.store.r.expire(FACTS + inc.id, DAY)
    if storm := storm_of(deps.store, inc):
        request_summary_edit(deps, storm)


def facts_of(store: Store, incidents: list[Incident]) -> dict[str, set[tuple[str, str]]]:
    found: dict[str, set[tuple[str, str]]] = {}
    for inc in incidents:
        pairs = (str(m).split("\x1f", 1) for m in store.r.smembers(FACTS + inc.id))
        found[inc.id] = {(p[0], p[1]) for p in pairs if len(p) == 2}
    return found


def post_summary(deps: Deps, owner: str) -> str | None:
    """The storm's summary message, posted once (ahead of the roots still waiting for their turn). None when
    the channel no longer takes posts: the incidents' roots move on (bot/incidents/channels.py), the
    summary, a convenience, is left out."""
    channel, started = _parts(owner)
    incidents = members(deps.store, owner)
    try:
        with slack_priority(Priority.STORM):
            return ThreadPoster(deps).post_once_for(owner, channel, started, SUMMARY, None, storm_text(incidents),
                                                    storm_blocks(incidents, started, deps.settings.display_tz,
                                                                 facts_of(deps.store, incidents)))
    except SlackApiError as exc:
        if not channel_gone(exc):
            raise
        mark_gone(deps.store.r, channel)
        return None


def request_summary_edit(deps: Deps, owner: str) -> None:
    request_root_edit(deps.store, owner, deps.settings.root_edit_interval_seconds)


def edit_summary(deps: Deps, owner: str) -> None:
    """The root editor's call for a storm: the summary shows every member's current state."""
    ts = deps.store.post_ts(owner, SUMMARY)
    if ts is None:
        return
    channel, started = _parts(owner)
    incidents = members(deps.store, owner)
    try:
        with slack_priority(Priority.STORM):
            deps.slack.chat_update(channel=channel, ts=ts, text=storm_text(incidents),
                                   blocks=storm_blocks(incidents, started, deps.settings.display_tz,
                                                       facts_of(deps.store, incidents)))
    except SlackApiError as exc:
        if not channel_gone(exc):
            raise   # tried again by the root editor; a channel that is gone will not take it again


def _parts(owner: str) -> tuple[str, float]:
    _, channel, started = owner.rsplit(":", 2)
    return channel, float(started)
