"""The baseline for bench/ack_latency.py: a bare Bolt app whose listeners only ack, served like the bot
(Flask adapter under waitress, the same thread counts). Run: python -m bench.bare_app PORT SECRET ACTION_ID SLACK_API_URL
"""

from __future__ import annotations

import logging
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from flask import Flask, request
from slack_bolt import Ack, App
from slack_bolt.adapter.flask import SlackRequestHandler
from slack_sdk import WebClient
from waitress import serve

THREADS = 16  # the bot's HTTP_THREADS default: waitress threads and Bolt listener threads


def build(secret: str, action_id: str, api_url: str) -> Flask:
    # Bolt authorizes the first request with auth.test, as the bot's does: both ask the emulator.
    client = WebClient(token="xoxb-sandbox-token", base_url=api_url)  # noqa: S106 (the emulator's)
    bolt = App(client=client, signing_secret=secret, token_verification_enabled=False,
               listener_executor=ThreadPoolExecutor(max_workers=THREADS),
               logger=logging.getLogger("bare"))

    def ack_only(ack: Ack) -> None:
        ack()

    bolt.command("/dataflow")(ack_only)
    bolt.action(action_id)(ack_only)
    app = Flask("bare")
    handler = SlackRequestHandler(bolt)

    @app.post("/slack/events")
    def events() -> Any:
        return handler.handle(request)

    @app.get("/healthz")
    def healthz() -> str:
        return "ok"

    return app


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    serve(build(sys.argv[2], sys.argv[3], sys.argv[4]), host="127.0.0.1", port=int(sys.argv[1]), threads=THREADS,
          ident="bare")
