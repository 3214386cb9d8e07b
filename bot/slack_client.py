"""The Slack WebClient: SLACK_API_URL, pacing and 429s, slack_sdk's retry handlers, metrics, the redactor.

Every Web API call of the bot goes through `api_call`, and every file's bytes through `files_upload_v2`:
redacting and pacing there means no builder or caller, old or new, can forget it. A 429 is never a
failure: the call waits out Retry-After (and so does everyone else on that budget), then goes again.
"""

from __future__ import annotations

import time
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.web import SlackResponse

from bot.metrics import SLACK_CALLS, SLACK_LATENCY, SLACK_RATE_LIMITED
from bot.redact import Redactor
from bot.slack_pacing import RateGate, current_priority, keys_for

_PAYLOADS = ("json", "data", "params")  # where WebClient puts what it sends


class MeteredWebClient(WebClient):
    """A WebClient that redacts what it sends and counts every call by method and outcome."""

    redactor: Redactor = Redactor()
    gate: RateGate = RateGate()

    def api_call(self, api_method: str, **kwargs: Any) -> SlackResponse:
        for name in _PAYLOADS:
            if isinstance(kwargs.get(name), dict):
                kwargs[name] = self._redacted(kwargs[name])
        keys = keys_for(api_method, _channel_of(kwargs))
        priority = current_priority()
        while True:
            self.gate.acquire(keys, priority)
            try:
                return self._metered_call(api_method, **kwargs)
            except SlackApiError as exc:
                if exc.response is None or exc.response.status_code != 429:
                    raise
                SLACK_RATE_LIMITED.labels(api_method).inc()
                self.gate.hold_off(keys, retry_after(exc.response.headers))

    def _metered_call(self, api_method: str, **kwargs: Any) -> SlackResponse:
        started = time.perf_counter()
        outcome = "ok"
        try:
            return super().api_call(api_method, **kwargs)
        except SlackApiError as exc:
            outcome = str(exc.response.get("error", "error")) if exc.response is not None else "error"
            raise
        except Exception:
            outcome = "exception"
            raise
        finally:
            SLACK_CALLS.labels(api_method, outcome).inc()
            SLACK_LATENCY.labels(api_method).observe(time.perf_counter() - started)

    def _redacted(self, payload: dict[str, Any]) -> dict[str, Any]:
        # A top-level `token` is how some methods take their credential (apps.connections.open): not content.
        out = self.redactor.mapping({k: v for k, v in payload.items() if k != "token"})
        return {**out, "token": payload["token"]} if "token" in payload else out

    def files_upload_v2(self, **kwargs: Any) -> SlackResponse:
        # The file's bytes go to an upload URL, not through api_call.
        for name in ("content", "title", "initial_comment"):
            if isinstance(kwargs.get(name), str):
                kwargs[name] = self.redactor.text(kwargs[name])
        return super().files_upload_v2(**kwargs)


def _channel_of(kwargs: dict[str, Any]) -> str | None:
    for name in _PAYLOADS:
        payload = kwargs.get(name)
        if isinstance(payload, dict) and payload.get("channel"):
            return str(payload["channel"])
    return None


def retry_after(headers: Any) -> float:
    """Seconds from a 429's Retry-After (a list or a string, any case); 1 s when absent or unreadable."""
    for key, value in dict(headers or {}).items():
        if key.lower() == "retry-after":
            raw = value[0] if isinstance(value, list | tuple) and value else value
            try:
                return max(0.0, float(raw))
            except (TypeError, ValueError):
                break
    return 1.0


def build_web_client(token: str, base_url: str, redactor: Redactor, timeout: int = 10) -> WebClient:
    """Slack's default handlers retry connection errors only; 5xx need their own (backoff with jitter).
    429s are not left to a handler: api_call waits them out through the gate, without a retry cap."""
    client = MeteredWebClient(
        token=token,
        base_url=base_url,
        timeout=timeout,
        retry_handlers=[
            ConnectionErrorRetryHandler(max_retry_count=4),
            ServerErrorRetryHandler(max_retry_count=4),
        ],
    )
    client.redactor = redactor
    client.gate = RateGate()
    return client
