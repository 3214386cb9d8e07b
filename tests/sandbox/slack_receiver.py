"""A stand-in for the bot's /slack/events in emulator tests: verifies signatures, records requests."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from flask import Flask, Response, request
from slack_sdk.signature import SignatureVerifier

from bot.sandbox.server import BackgroundServer


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    valid: bool

    def form(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.body.decode()).items()}

    def payload(self) -> dict[str, Any]:
        """Interactivity: the JSON in the `payload` form field."""
        return dict(json.loads(self.form()["payload"]))

    def json(self) -> dict[str, Any]:
        return dict(json.loads(self.body))


class Receiver:
    def __init__(self, secret: str) -> None:
        self.verifier = SignatureVerifier(secret)
        self.requests: list[Received] = []
        self.reply: dict[str, Any] | None = None  # JSON body to answer with; None = empty 200
        self._lock = threading.Lock()

    def handle(self) -> Response:
        body = request.get_data()
        headers = {k.lower(): v for k, v in request.headers.items()}
        valid = self.verifier.is_valid_request(body, headers)
        with self._lock:
            self.requests.append(Received(headers, body, valid))
        if not valid:
            return Response('{"error":"invalid request"}', status=401, mimetype="application/json")
        if self.reply is None:
            return Response("", status=200)
        return Response(json.dumps(self.reply), status=200, mimetype="application/json")


@contextmanager
def running_receiver(secret: str) -> Iterator[tuple[Receiver, str]]:
    """(receiver, its /slack/events URL)."""
    receiver = Receiver(secret)
    app = Flask("receiver")
    app.add_url_rule("/slack/events", "events", receiver.handle, methods=["POST"])
    with BackgroundServer(app) as server:
        yield receiver, f"{server.url}/slack/events"
