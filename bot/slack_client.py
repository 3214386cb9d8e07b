"""The Slack WebClient: SLACK_API_URL, slack_sdk's retry handlers, and a metric per call."""

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


class MeteredWebClient(WebClient):
    """A WebClient that counts every API call by method and outcome (ok, or Slack's error code)."""

    def api_call(self, api_method: str, **kwargs: Any) -> SlackResponse:
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


def build_web_client(token: str, base_url: str, timeout: int = 10) -> WebClient:
    """Slack's default handlers retry connection errors only; 429 and 5xx need their own."""
    return MeteredWebClient(
        token=token,
        base_url=base_url,
        timeout=timeout,
        retry_handlers=[
            ConnectionErrorRetryHandler(max_retry_count=2),
            RateLimitErrorRetryHandler(max_retry_count=3),
            ServerErrorRetryHandler(max_retry_count=2),
        ],
    )
