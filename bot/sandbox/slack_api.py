"""The Flask app of the emulator: Web API at /api/<method>, the upload URLs, and the response URLs."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask, Response, request

from bot.sandbox.slack_args import ApiContext, Args, Handler, SlackError, read_request_args
from bot.sandbox.slack_chat import CHAT_METHODS
from bot.sandbox.slack_faults import CallLog, Fault, Faults, RecordedCall
from bot.sandbox.slack_files import FILE_METHODS, FileStore
from bot.sandbox.slack_limits import RateLimiter
from bot.sandbox.slack_read import READ_METHODS, SCOPES
from bot.sandbox.slack_responses import ResponseUrls
from bot.sandbox.slack_state import SlackState

METHODS: dict[str, Handler] = {**CHAT_METHODS, **READ_METHODS, **FILE_METHODS}


@dataclass
class Backend:
    """Everything the app serves from; owned by SlackEmulator."""

    state: SlackState
    files: FileStore
    responses: ResponseUrls
    faults: Faults
    log: CallLog
    token: str
    app_token: str = ""  # the app-level xapp- token apps.connections.open wants
    open_socket: Callable[[], str] | None = None  # a fresh Socket Mode URL
    limiter: RateLimiter | None = None  # Slack's rate limits; None (the default) answers every call


def _json(body: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None) -> Response:
    # Slack sends the token's scopes on every Web API answer; Bolt reads them from auth.test.
    all_headers = {"x-oauth-scopes": SCOPES, **(headers or {})}
    return Response(json.dumps(body), status=status, headers=all_headers, mimetype="application/json")


def _fault_response(fault: Fault) -> Response:
    headers = {}
    if fault.status == 429 and fault.retry_after is not None:
        headers["Retry-After"] = str(fault.retry_after)
    return _json({"ok": False, "error": fault.error}, status=fault.status, headers=headers)


def _token(token_arg: Any) -> str:
    """The Bearer header's token, else the `token` argument's."""
    header = request.headers.get("Authorization", "")
    return header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else str(token_arg or "")


def _auth_error(token_arg: Any, expected: str) -> str | None:
    """not_authed without any token, invalid_auth with a wrong one (header or `token` argument)."""
    token = _token(token_arg)
    if not token:
        return "not_authed"
    return None if token == expected else "invalid_auth"


def _connections_open(backend: Backend, token_arg: Any) -> dict[str, Any]:
    """Socket Mode's URL; the only method here that takes the app-level token, and only that one."""
    token = _token(token_arg)
    if not token:
        return {"ok": False, "error": "not_authed"}
    if not token.startswith("xapp-"):
        return {"ok": False, "error": "not_allowed_token_type"}
    if token != backend.app_token or backend.open_socket is None:
        return {"ok": False, "error": "invalid_auth"}
    return {"ok": True, "url": backend.open_socket()}


def _rate_limited(retry_after: int) -> Response:
    return _json({"ok": False, "error": "ratelimited"}, status=429, headers={"Retry-After": str(retry_after)})


def _call_method(backend: Backend, method: str) -> Response:
    args = read_request_args(request)
    limiter = backend.limiter
    retry_after = limiter.admit(method, str(args.get("channel") or "")) if limiter else None
    backend.log.record(RecordedCall(method, args, dict(request.headers.items()), limited=retry_after is not None))
    if retry_after is not None:
        return _rate_limited(retry_after)
    delay = backend.faults.latency(method)
    if delay > 0:
        time.sleep(delay)  # latency injection: the caller's timeouts are what is under test
    fault = backend.faults.take(method)
    if fault is not None:
        return _fault_response(fault)
    if method == "apps.connections.open":
        return _json(_connections_open(backend, args.get("token")))
    handler = METHODS.get(method)
    if handler is None:
        return _json({"ok": False, "error": "unknown_method"})
    auth_error = _auth_error(args.get("token"), backend.token)
    if auth_error:
        return _json({"ok": False, "error": auth_error})
    ctx = ApiContext(backend.state, backend.files, request.host_url.rstrip("/"))
    try:
        return _json(handler(ctx, Args(args)))
    except SlackError as err:
        return _json(err.body())


def _upload(backend: Backend, file_id: str) -> Response:
    # urllib (files_upload_v2) posts raw bytes labelled form-urlencoded: only parse real multipart.
    if request.mimetype == "multipart/form-data":
        uploaded = next(iter(request.files.values()), None)
        content = uploaded.read() if uploaded is not None else b""
    else:
        content = request.get_data()
    backend.log.record(RecordedCall("upload", {"file_id": file_id, "length": len(content)},
                                    dict(request.headers.items()), target=file_id))
    if not backend.files.upload(file_id, content):
        return Response("Not Found", status=404, mimetype="text/plain")
    return Response(f"OK - {len(content)}", status=200, mimetype="text/plain")


def _respond(backend: Backend, rid: str) -> Response:
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict):
        payload = read_request_args(request)
    backend.log.record(RecordedCall("response_url", payload, dict(request.headers.items()), target=rid))
    if (fault := backend.faults.take("response_url")) is not None:   # inject("response_url", ...)
        return _fault_response(fault)
    try:
        status, body = backend.responses.apply(rid, payload)
    except SlackError as err:  # the original message is gone, the thread does not exist...
        status, body = 404, err.body()
    return _json(body, status=status)


def create_app(backend: Backend) -> Flask:
    app = Flask("slack_emulator")

    @app.route("/api/<method>", methods=["GET", "POST"])
    def api(method: str) -> Response:
        return _call_method(backend, method)

    @app.post("/upload/<file_id>")
    def upload(file_id: str) -> Response:
        return _upload(backend, file_id)

    @app.post("/response/<rid>")
    def respond(rid: str) -> Response:
        return _respond(backend, rid)

    return app
