"""GET /incidents/<id>/postmortem.md: the same Markdown as the thread upload and the CLI."""

from __future__ import annotations

import re

from flask import Flask, Response, jsonify, request

from bot.capacity import Busy, Capacity, slow_route_slots
from bot.deps import Deps
from bot.errors import NotFoundError
from bot.incidents.payload import authorized
from bot.postmortem.export import export_markdown

_INCIDENT_ID = re.compile(r"^INC-\d{1,9}$")


def _error(status: int, error: str, reason: str) -> tuple[Response, int]:
    return jsonify({"error": error, "reason": reason}), status


def register(flask_app: Flask, deps: Deps) -> None:
    token = deps.settings.alert_webhook_token.get_secret_value() if deps.settings.alert_webhook_token else ""
    exports = Capacity("postmortem exports", slow_route_slots(deps.settings.http_threads))

    @flask_app.get("/incidents/<incident_id>/postmortem.md")
    def postmortem_md(incident_id: str) -> tuple[Response, int]:
        if not authorized(request.headers.get("Authorization"), token):
            resp, status = _error(401, "unauthorized", "send Authorization: Bearer <ALERT_WEBHOOK_TOKEN>")
            resp.headers["WWW-Authenticate"] = 'Bearer realm="postmortem"'
            return resp, status
        if not _INCIDENT_ID.match(incident_id):
            return _error(404, "not found", "incident ids look like INC-12")
        try:
            with exports.slot():
                markdown = export_markdown(deps, incident_id)
        except NotFoundError:
            return _error(404, "not found", f"unknown incident {incident_id}")
        except Busy as exc:
            resp, status = _error(503, "busy", str(exc))
            resp.headers["Retry-After"] = "5"
            return resp, status
        resp = Response(markdown.encode("utf-8"), mimetype="text/markdown")
        resp.headers["Content-Type"] = "text/markdown; charset=utf-8"
        resp.headers["Content-Disposition"] = f'inline; filename="postmortem-{incident_id}.md"'
        return resp, 200
