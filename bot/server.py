"""`dataflow-bot serve`: the HTTP server (waitress), Socket Mode, and the background workers."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from typing import Any

from waitress import create_server

from bot.app import build_app
from bot.checks import check
from bot.config import Settings
from bot.deps import Deps, build_deps, known_secrets
from bot.errors import ConfigError
from bot.health import health_prober
from bot.incidents.enrich_queue import enrich_worker
from bot.incidents.root_editor import root_editor
from bot.incidents.worker import alert_worker
from bot.log import configure_logging, get_logger
from bot.postmortem.backfill import backfill_open_incidents
from bot.runbooks.reconcile import reconcile_interrupted
from bot.schema.watch_loop import drift_watcher

log = get_logger(__name__)

# Background loops started with the server, one thread each: each takes (deps, stop_event).
BACKGROUND: list[Callable[[Deps, threading.Event], None]] = [
    health_prober, root_editor, drift_watcher, backfill_open_incidents, reconcile_interrupted]
# Stream consumers, several threads each (settings): each takes (deps, stop_event, name).
Consumer = Callable[[Deps, threading.Event, str], None]


def consumers(settings: Settings) -> list[tuple[Consumer, int]]:
    return [(alert_worker, settings.alert_workers), (enrich_worker, settings.enrich_workers)]


def background_threads(deps: Deps, stop: threading.Event) -> list[threading.Thread]:
    threads = [threading.Thread(target=loop, args=(deps, stop), name=loop.__name__, daemon=True)
               for loop in BACKGROUND]
    for loop, count in consumers(deps.settings):
        threads += [threading.Thread(target=loop, args=(deps, stop, f"{loop.__name__}-{i}"),
                                     name=f"{loop.__name__}-{i}", daemon=True) for i in range(count)]
    return threads


def run(settings: Settings) -> None:
    configure_logging(settings.log_level, settings.log_format, known_secrets(settings))
    report = check(settings)
    if report.problems:
        raise ConfigError(report.problems)
    for warning in report.warnings:
        log.warning("backend unreachable at start; the bot will say so in incident threads", detail=warning)
    deps = build_deps(settings)
    deps.bot_user_id = report.bot_user_id
    # What the start-up check found is what /healthz shows until the background prober has its own.
    deps.health.record([p for p in report.probes if not p.name.startswith(("redis", "slack"))])
    flask_app = build_app(settings, deps)
    stop = threading.Event()
    threads = background_threads(deps, stop)
    for thread in threads:
        thread.start()
    if settings.socket_mode:
        _start_socket_mode(flask_app.extensions["bolt"], settings)
    server: Any = create_server(
        flask_app,
        host=settings.bot_host,
        port=settings.bot_port,
        threads=settings.http_threads,
        ident="dataflow-bot",
    )

    def shutdown() -> None:
        # waitress's loop turns SystemExit into a graceful stop: running requests get up to 5 s to
        # finish. Closing the listener alone is not enough: idle keep-alive connections keep it alive.
        stop.set()
        raise SystemExit(0)

    _on_signals(shutdown)
    mode = "socket" if settings.socket_mode else "http"
    log.info("serving", url=f"http://{settings.bot_host}:{server.effective_port}", mode=mode)
    try:
        server.run()
    finally:
        stop.set()
        deps.jobs.shutdown(wait=False, cancel_futures=True)
        log.info("stopped")


def _start_socket_mode(bolt: Any, settings: Settings) -> None:
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    token = settings.slack_app_token.get_secret_value() if settings.slack_app_token else ""
    SocketModeHandler(bolt, app_token=token).connect()


def _on_signals(stop: Callable[[], object]) -> None:
    def handler(signum: int, _frame: object) -> None:
        log.info("signal received, stopping", signal=signal.Signals(signum).name)
        stop()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
