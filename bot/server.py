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
from bot.incidents.worker import alert_worker
from bot.log import configure_logging, get_logger
from bot.postmortem.backfill import backfill_open_incidents
from bot.runbooks.reconcile import reconcile_interrupted
from bot.schema.watch_loop import drift_watcher

log = get_logger(__name__)

# Background loops started with the server: each takes (deps, stop_event). Features append theirs.
BACKGROUND: list[Callable[[Deps, threading.Event], None]] = [alert_worker]
BACKGROUND.append(drift_watcher)
BACKGROUND.append(backfill_open_incidents)
BACKGROUND.append(reconcile_interrupted)


def run(settings: Settings) -> None:
    configure_logging(settings.log_level, settings.log_format, known_secrets(settings))
    report = check(settings)
    if report.problems:
        raise ConfigError(report.problems)
    for warning in report.warnings:
        log.warning("backend unreachable at start; the bot will say so in incident threads", detail=warning)
    deps = build_deps(settings)
    deps.bot_user_id = report.bot_user_id
    flask_app = build_app(settings, deps)
    stop = threading.Event()
    threads = [
        threading.Thread(target=loop, args=(deps, stop), name=loop.__name__, daemon=True)
        for loop in BACKGROUND
    ]
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
