"""GET /healthz and GET /metrics."""

from __future__ import annotations

from flask import Flask, Response, jsonify
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from bot.deps import Deps
from bot.health import health_report
from bot.metrics import REGISTRY


def register(flask_app: Flask, deps: Deps) -> None:
    @flask_app.get("/healthz")
    def healthz() -> tuple[Response, int]:
        body, status = health_report(deps.settings, deps.health, r=deps.store.r)
        return jsonify(body), status

    @flask_app.get("/metrics")
    def metrics() -> Response:
        return Response(generate_latest(REGISTRY), mimetype=CONTENT_TYPE_LATEST)
