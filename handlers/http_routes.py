"""GET /healthz and GET /metrics."""

from __future__ import annotations

from flask import Flask, Response, jsonify
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from bot.deps import Deps
from bot.health import backend_probes
from bot.metrics import REGISTRY


def register(flask_app: Flask, deps: Deps) -> None:
    @flask_app.get("/healthz")
    def healthz() -> tuple[Response, int]:
        probes = backend_probes(deps.settings)
        redis_ok = probes[0].ok
        body = {
            "status": "ok" if all(p.ok for p in probes) else ("degraded" if redis_ok else "down"),
            "checks": {p.name: p.as_dict() for p in probes},
        }
        return jsonify(body), 200 if redis_ok else 503

    @flask_app.get("/metrics")
    def metrics() -> Response:
        return Response(generate_latest(REGISTRY), mimetype=CONTENT_TYPE_LATEST)
