"""Web API arguments as Slack reads them: JSON body, form body or query string, all merged."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flask import Request

if TYPE_CHECKING:  # both import SlackError from here; the context only needs their types
    from bot.sandbox.slack_files import FileStore
    from bot.sandbox.slack_state import SlackState


class SlackError(Exception):
    """A Web API error: answered as HTTP 200 `{"ok": false, "error": code}` like Slack does."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(code)
        self.code = code
        self.detail = detail

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"ok": False, "error": self.code}
        if self.detail:
            # Slack puts the reason of invalid_blocks and friends here; handy when a test fails.
            body["errors"] = [self.detail]
            body["response_metadata"] = {"messages": [f"[ERROR] {self.detail}"]}
        return body


def read_request_args(request: Request) -> dict[str, Any]:
    """Query string first, then form or JSON body (body wins), as Slack accepts all three."""
    args: dict[str, Any] = dict(request.args.items())
    if request.is_json:
        payload = request.get_json(silent=True)
        if isinstance(payload, dict):
            args.update(payload)
    else:
        args.update(request.form.items())
    return args


class Args:
    """Typed accessors over the merged arguments; each raises the Slack error code on bad input."""

    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw

    def opt(self, name: str, required: bool = False, error: str = "invalid_arguments") -> str | None:
        value = self.raw.get(name)
        if value is None or value == "":
            if required:
                raise SlackError(error, f"missing required argument {name!r}")
            return None
        if isinstance(value, dict | list):
            return json.dumps(value)
        return value if isinstance(value, str) else str(value)

    def need(self, name: str, error: str = "invalid_arguments") -> str:
        value = self.opt(name, required=True, error=error)
        assert value is not None  # opt(required=True) raised otherwise
        return value

    def flag(self, name: str) -> bool:
        value = self.raw.get(name)
        if isinstance(value, bool):
            return value
        return str(value).lower() in {"1", "true", "yes"} if value is not None else False

    def number(self, name: str, default: int) -> int:
        value = self.raw.get(name)
        if value is None or value == "":
            return default
        try:
            return int(value)
        except (TypeError, ValueError):
            raise SlackError("invalid_arguments", f"{name!r} must be an integer") from None

    def structured(self, name: str, error: str = "invalid_arguments") -> Any:
        """A structured argument: an object/list in a JSON body, or a JSON string in a form/query."""
        value = self.raw.get(name)
        if not isinstance(value, str):
            return value
        if value == "":
            return None
        try:
            return json.loads(value)
        except ValueError:
            raise SlackError(error, f"{name!r} is not valid JSON") from None


@dataclass
class ApiContext:
    """What a Web API method handler may touch; `base_url` is this server, for URLs it hands out."""

    state: SlackState
    files: FileStore
    base_url: str


Handler = Callable[[ApiContext, Args], dict[str, Any]]
