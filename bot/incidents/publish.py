"""The Slack side of one folded notification: the root, one line for the alerts that joined or resolved,
a root refresh (coalesced), and the enrichment queued for its own workers."""

from __future__ import annotations

from bot.blocks.incident import alerts_joined_text, alerts_resolved_text, incident_resolved_text
from bot.deps import Deps
from bot.incidents.enrich_queue import queue_enrichment
from bot.incidents.fold import Fold
from bot.incidents.poster import ThreadPoster
from bot.incidents.storm import note_opened, post_summary, request_summary_edit, storm_of
from bot.models import Incident, TimelineEvent
from bot.slack_pacing import Priority, slack_priority


def publish_fold(deps: Deps, fold: Fold, entry_id: str) -> None:
    poster = ThreadPoster(deps)
    inc = deps.store.incident(fold.incident.id) or fold.incident   # the latest, with root_ts if known
    had_root = bool(inc.root_ts)
    storm = _storm(deps, inc, fold.opened and not had_root)
    with slack_priority(Priority.ROOT):
        poster.ensure_root(inc)
    if storm:
        request_summary_edit(deps, storm)     # the summary shows the root is up
    if fold.opened and not had_root:
        deps.store.add_event(inc.id, TimelineEvent(
            ts=float(inc.root_ts or inc.opened_at), kind="incident_opened", actor="bot",
            text=f"{inc.id} opened: {inc.title}", source_id="opened", key=True))
    if had_root:
        poster.update_root(inc)        # coalesced: a storm of repeats is a few edits, not one per repeat
    with slack_priority(Priority.THREAD):
        _thread_lines(deps, poster, inc, fold, entry_id)
    if fold.opened or fold.reopened:
        queue_enrichment(deps.store, inc.id, entry_id)


def _storm(deps: Deps, inc: Incident, opened: bool) -> str | None:
    """In a storm, the summary goes out before this root (STORM before ROOT), listing this incident."""
    s = deps.settings
    storm = note_opened(deps.store, inc, s.storm_threshold, s.storm_window_seconds) if opened else \
        storm_of(deps.store, inc)
    if storm and opened:
        post_summary(deps, storm)
    return storm


def _thread_lines(deps: Deps, poster: ThreadPoster, inc: Incident, fold: Fold, entry_id: str) -> None:
    if fold.reopened:
        poster.reply(inc, f"reopened:{entry_id}", f":rotating_light: {inc.id} reopened: the pipeline fired again.")
    if fold.new_alerts and not fold.opened:
        poster.reply(inc, f"joined:{entry_id}", alerts_joined_text(fold.new_alerts))
    if fold.resolved_alerts:
        poster.reply(inc, f"resolved:{entry_id}", alerts_resolved_text(fold.resolved_alerts))
    if fold.all_resolved_now:
        poster.reply(inc, f"incident-resolved:{entry_id}", incident_resolved_text(inc))
        deps.store.add_event(inc.id, TimelineEvent(
            ts=inc.resolved_at or inc.last_seen_at, kind="incident_resolved", actor="alertmanager",
            text=f"All alerts resolved; {inc.id} closed", source_id=f"incident-resolved:{entry_id}", key=True))
