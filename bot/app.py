"""build_app(settings, deps): the Bolt App and the HTTP routes. The one place that wires handlers in."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import redis
from flask import Flask, Response, g, jsonify, request
from slack_bolt import App, BoltContext, BoltResponse
from slack_bolt.adapter.flask import SlackRequestHandler
from werkzeug.exceptions import HTTPException

import bot.commands  # noqa: F401  (registers the subcommands)
from bot.config import Settings
from bot.deps import Deps
from bot.metrics import HTTP_LATENCY, HTTP_REQUESTS
from bot.reply import RedactingRespond, user_message
from bot.security.gate import SlackRequestGate
from bot.surfaces import Registrar
from handlers import (
    alerts_webhook,
    http_routes,
    postmortem_http,
    slack_commands,
    slack_events,
    slack_postmortem,
    slack_runbook,
    slack_timeline,
)

MAX_BODY_BYTES = 1024 * 1024
EVENT_DEDUPE_SECONDS = 3600  # longer than Slack's retry span (5 min) plus the signature window


def build_bolt(settings: Settings, deps: Deps) -> tuple[App, Registrar]:
    bolt = App(
        client=deps.slack,
        signing_secret="verified-by-the-gate",  # noqa: S106  (not a secret: unused)
        # HTTP requests are verified (and replays refused) by SlackRequestGate before Bolt sees them;
        # Socket Mode needs no signature. Bolt's own check raised on a non-numeric timestamp.
        request_verification_enabled=False,
        token_verification_enabled=False,  # serve checks auth.test itself, with a clear message
        process_before_response=False,
        # Listeners only parse and hand off; slow work goes to deps.jobs. A generous pool keeps
        # acks fast even when many clicks arrive at once.
        listener_executor=ThreadPoolExecutor(max_workers=settings.http_threads, thread_name_prefix="bolt"),
        raise_error_for_unhandled_request=False,
        logger=logging.getLogger("slack_bolt"),
    )
    bolt.use(_inject(deps))
    bolt.use(_dedupe_event_retries(deps))
    bolt.error(_on_error(deps))
    registrar = Registrar(bolt)
    for module in (slack_commands, slack_events, slack_timeline, slack_runbook, slack_postmortem):
        module.register(registrar)
    return bolt, registrar


def _inject(deps: Deps) -> Callable[..., Any]:
    def middleware(context: BoltContext, next: Callable[[], Any]) -> Any:
        context["deps"] = deps
        if context.respond is not None:  # response_url is the one way to Slack that is not the WebClient
            context["respond"] = RedactingRespond(context.respond, deps.redactor)
        return next()

    return middleware


def _dedupe_event_retries(deps: Deps) -> Callable[..., Any]:
    """Slack redelivers an event it thinks we missed; a retry must not run the listener twice."""

    def middleware(body: dict[str, Any], next: Callable[[], Any]) -> Any:
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if event_id and not deps.store.first_time(f"event:{event_id}", EVENT_DEDUPE_SECONDS):
            return BoltResponse(status=200, body="")
        return next()

    return middleware


def _on_error(deps: Deps) -> Callable[..., Any]:
    def handler(error: Exception, body: dict[str, Any], respond: Any) -> None:
        text = user_message(error, deps.redactor)
        if respond is not None and body.get("response_url"):
            respond(text=text, response_type="ephemeral", replace_original=False)
            return
        event = body.get("event") or {}
        if event.get("channel") and event.get("user"):
            deps.slack.chat_postEphemeral(
                channel=event["channel"], user=event["user"], text=text, thread_ts=event.get("thread_ts")
            )

    return handler


def build_app(settings: Settings, deps: Deps) -> Flask:
    flask_app = Flask("dataflow-bot")
    flask_app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    bolt, registrar = build_bolt(settings, deps)
    flask_app.extensions["bolt"] = bolt
    flask_app.extensions["surfaces"] = registrar  # read by the manifest test
    slack_handler = SlackRequestHandler(bolt)
    secret = settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else ""
    gate = SlackRequestGate(secret, deps.store) if secret else None

    @flask_app.post("/slack/events")
    def slack_events_route() -> Any:
        if gate is None:  # Socket Mode: Slack never calls this URL, so nobody else may
            return jsonify({"error": "not found", "reason": "this bot runs in Socket Mode"}), 404
        try:
            decision = gate.check(request.headers.getlist, request.get_data(), request.remote_addr or "?")
        except redis.RedisError:
            return jsonify({"error": "unavailable", "reason": "the bot's state store (Redis) is down"}), 503
        if decision.outcome == "forged":
            return jsonify({"error": "unauthorized", "reason": "request is not correctly signed by Slack"}), 401
        if decision.outcome == "replay":
            return Response(status=200)
        return slack_handler.handle(request)

    http_routes.register(flask_app, deps)
    alerts_webhook.register(flask_app, deps)
    postmortem_http.register(flask_app, deps)
    _instrument(flask_app)
    return flask_app


def _instrument(flask_app: Flask) -> None:
    @flask_app.before_request
    def start_timer() -> None:
        g.started = time.perf_counter()

    @flask_app.after_request
    def record(response: Response) -> Response:
        route = request.url_rule.rule if request.url_rule else "unmatched"
        HTTP_REQUESTS.labels(route, str(response.status_code)).inc()
        HTTP_LATENCY.labels(route).observe(time.perf_counter() - g.get("started", time.perf_counter()))
        return response

    @flask_app.errorhandler(HTTPException)
    def json_error(exc: HTTPException) -> tuple[Response, int]:
        code = exc.code or 500
        return jsonify({"error": exc.name, "reason": exc.description}), code
