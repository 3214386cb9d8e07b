"""POST /alerts: the Alertmanager webhook. Stored durably before the 200; 5xx only when it was not."""

from __future__ import annotations

from flask import Flask, Response, jsonify, request

from bot.deps import Deps
from bot.incidents.intake import StoreUnavailable, enqueue_notification
from bot.incidents.payload import InvalidPayload, authorized, parse_notification
from bot.log import get_logger

log = get_logger(__name__)


def _error(status: int, error: str, reason: str) -> tuple[Response, int]:
    # Refusals are logged (who and why), not stored: an unauthenticated sender must not fill Redis.
    log.warning("refused an alert notification", status=status, reason=reason, remote=request.remote_addr)
    return jsonify({"error": error, "reason": reason}), status


def register(flask_app: Flask, deps: Deps) -> None:
    token = deps.settings.alert_webhook_token.get_secret_value() if deps.settings.alert_webhook_token else ""

    @flask_app.post("/alerts")
    def alerts() -> tuple[Response, int]:
        if not authorized(request.headers.get("Authorization"), token):
            resp, status = _error(401, "unauthorized", "send Authorization: Bearer <ALERT_WEBHOOK_TOKEN>")
            resp.headers["WWW-Authenticate"] = 'Bearer realm="alerts"'
            return resp, status
        body = request.get_data(cache=False)
        try:
            notification = parse_notification(body)
        except InvalidPayload as exc:
            return _error(400, "invalid payload", str(exc))
        try:
            entry_id = enqueue_notification(deps.store, notification)
        except StoreUnavailable as exc:
            # 5xx: Alertmanager retries it; nothing was stored.
            return _error(503, "unavailable", str(exc))
        return jsonify({"status": "accepted", "entry": entry_id, "alerts": len(notification.alerts)}), 200
