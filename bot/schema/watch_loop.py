"""The drift watcher as a background loop of `serve` (see bot/schema/watcher.py for what it does)."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from bot.backends import baseline_store
from bot.log import get_logger
from bot.schema.watcher import DriftWatcher

if TYPE_CHECKING:
    from bot.deps import Deps

log = get_logger(__name__)


def why_off(deps: Deps) -> str | None:
    """The reason the watcher cannot run here, or None when it can."""
    if deps.settings.drift_watch_interval_seconds <= 0:
        return "DRIFT_WATCH_INTERVAL_SECONDS is 0"
    if deps.settings.mysql_url is None:
        return "MYSQL_URL is not set"
    if not deps.lineage.watched_tables():
        return "the pipeline file names no table"
    return None


def drift_watcher(deps: Deps, stop: threading.Event) -> None:
    """Run the watcher until `stop`; one replica at a time checks (DriftWatcher's Redis lock)."""
    reason = why_off(deps)
    if reason is not None:
        log.info("drift watcher off", reason=reason)
        return
    interval = deps.settings.drift_watch_interval_seconds
    log.info("drift watcher on", interval_s=interval, tables=deps.lineage.watched_tables())
    while not stop.is_set():
        try:
            build_watcher(deps).run(stop)
        except Exception as exc:  # a MySQL driver error must not end the loop for the life of the process
            log.error("drift watcher failed, restarting", error=deps.redactor.text(repr(exc)))
            stop.wait(interval)


def build_watcher(deps: Deps) -> DriftWatcher:
    url = deps.settings.mysql_url.get_secret_value() if deps.settings.mysql_url else ""
    store = baseline_store(deps.settings, deps.store.r)
    return DriftWatcher(deps.store.r, url, deps.lineage, store, deps.settings.drift_watch_interval_seconds)
