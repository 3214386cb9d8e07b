"""The Slack WebClient: SLACK_API_URL, slack_sdk's retry handlers, a metric per call, and the redactor.

Every Web API call of the bot goes through `api_call`, and every file's bytes through `files_upload_v2`:
redacting there means no builder, old or new, can forget it.
"""

from __future__ import annotations

import time
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.web import SlackResponse

from bot.metrics import SLACK_CALLS, SLACK_LATENCY
from bot.redact import Redactor

_PAYLOADS = ("json", "data", "params")  # where WebClient puts what it sends


class MeteredWebClient(WebClient):
    """A WebClient that redacts what it sends and counts every call by method and outcome."""

    redactor: Redactor = Redactor()

    def api_call(self, api_method: str, **kwargs: Any) -> SlackResponse:
        for name in _PAYLOADS:
            if isinstance(kwargs.get(name), dict):
                kwargs[name] = self._redacted(kwargs[name])
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


def build_web_client(token: str, base_url: str, redactor: Redactor, timeout: int = 10) -> WebClient:
    """Slack's default handlers retry connection errors only; 429 and 5xx need their own."""
    client = MeteredWebClient(
        token=token,
        base_url=base_url,
        timeout=timeout,
        retry_handlers=[
            ConnectionErrorRetryHandler(max_retry_count=2),
            RateLimitErrorRetryHandler(max_retry_count=3),
            ServerErrorRetryHandler(max_retry_count=2),
        ],
    )
    client.redactor = redactor
    return client
