"""The Slack side of one folded notification: root, thread lines, root edits, enrichment."""

from __future__ import annotations

from bot.blocks.incident import alert_joined_text, alert_resolved_text, incident_resolved_text
from bot.deps import Deps
from bot.incidents.enrich import enrich_incident
from bot.incidents.fold import Fold
from bot.incidents.poster import ThreadPoster
from bot.models import TimelineEvent


def publish_fold(deps: Deps, fold: Fold, entry_id: str) -> None:
    poster = ThreadPoster(deps)
    inc = deps.store.incident(fold.incident.id) or fold.incident   # the latest, with root_ts if known
    had_root = bool(inc.root_ts)
    poster.ensure_root(inc)
    if fold.opened and not had_root:
        deps.store.add_event(inc.id, TimelineEvent(
            ts=float(inc.root_ts or inc.opened_at), kind="incident_opened", actor="bot",
            text=f"{inc.id} opened: {inc.title}", source_id="opened", key=True))
    if had_root:   # the root first: whoever reads the thread line finds the root already up to date
        poster.update_root(inc)
    if fold.reopened:
        poster.reply(inc, f"reopened:{entry_id}", f":rotating_light: {inc.id} reopened: the pipeline fired again.")
    if not fold.opened:
        for alert in fold.new_alerts:
            poster.reply(inc, f"firing:{alert.fingerprint}:{alert.starts_at}", alert_joined_text(alert))
    for alert in fold.resolved_alerts:
        poster.reply(inc, f"resolved:{alert.fingerprint}:{alert.starts_at}", alert_resolved_text(alert))
    if fold.all_resolved_now:
        poster.reply(inc, f"incident-resolved:{entry_id}", incident_resolved_text(inc))
        deps.store.add_event(inc.id, TimelineEvent(
            ts=inc.resolved_at or inc.last_seen_at, kind="incident_resolved", actor="alertmanager",
            text=f"All alerts resolved; {inc.id} closed", source_id=f"incident-resolved:{entry_id}", key=True))
    if fold.opened or fold.reopened:
        enrich_incident(deps, poster, inc, entry_id)
