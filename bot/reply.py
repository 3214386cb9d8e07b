"""Delivering replies to Slack, and turning errors into text a user can act on."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from slack_sdk import WebClient

from bot.commands.registry import Reply
from bot.errors import DataflowError
from bot.log import get_logger
from bot.redact import Redactor
from bot.slack_client import retry_after

if TYPE_CHECKING:
    from bot.deps import Deps

log = get_logger(__name__)


def user_message(exc: BaseException, redactor: Redactor) -> str:
    """Our typed errors say what went wrong and what to do; anything else gets a reference."""
    if isinstance(exc, DataflowError):
        return redactor.text(f":warning: {exc.user_text()}")
    ref = secrets.token_hex(4)
    log.error("unexpected error", ref=ref, error=redactor.text(repr(exc)), exc_info=exc)
    return (
        f":boom: Something went wrong on my side (ref `{ref}`). "
        "The error is logged; please tell the bot's owners."
    )


# Slack takes a response_url 5 times within 30 minutes; a refused attempt may count, so at most 4 tries.
RESPONSE_URL_ATTEMPTS = 4


class RedactingRespond:
    """Bolt's `respond` (a POST to the response_url), with everything it sends redacted first, and sent
    again after a 429 (its Retry-After) or a 5xx (backoff): an answer to a person is not dropped for that."""

    def __init__(self, respond: Callable[..., Any], redactor: Redactor,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self._respond, self._redactor, self._sleep = respond, redactor, sleep

    def __call__(self, text: str = "", blocks: list[dict[str, Any]] | None = None, **kwargs: Any) -> Any:
        text, blocks = self._redactor.text(text), self._redactor.any(blocks) if blocks else blocks
        for attempt in range(RESPONSE_URL_ATTEMPTS):
            response = self._respond(text=text, blocks=blocks, **kwargs)
            status = int(getattr(response, "status_code", 200))
            if (status != 429 and status < 500) or attempt == RESPONSE_URL_ATTEMPTS - 1:
                return response
            self._sleep(retry_after(getattr(response, "headers", {})) if status == 429 else 0.5 * 2 ** attempt)
        return None


def redacted(reply: Reply, redactor: Redactor) -> Reply:
    """For the one answer that is neither a Web API call nor a response_url: the HTTP ack's body."""
    return replace(reply, text=redactor.text(reply.text),
                   blocks=redactor.any(reply.blocks) if reply.blocks else None)


class SlackReplier:
    """Sends a Reply where it belongs: ephemeral to the user, or into the incident thread.

    What it sends is redacted on the way out (the WebClient and `respond` redact every call).
    """

    def __init__(self, deps: Deps, channel: str, user: str, thread_ts: str | None = None,
                 respond: Callable[..., Any] | None = None) -> None:
        self.client: WebClient = deps.slack
        self.redactor: Redactor = deps.redactor
        self.channel, self.user = channel, user
        self.thread_ts, self.respond = thread_ts, respond

    def deliver(self, reply: Reply) -> str | None:
        if reply.where == "thread":
            return self._post_in_thread(reply)
        if self.respond is not None:
            self.respond(
                text=reply.text, blocks=reply.blocks, response_type="ephemeral", replace_original=False
            )
        else:
            self.client.chat_postEphemeral(
                channel=self.channel,
                user=self.user,
                text=reply.text,
                blocks=reply.blocks,
                thread_ts=self.thread_ts,
            )
        return None

    def _post_in_thread(self, reply: Reply) -> str:
        channel = reply.channel or self.channel
        thread_ts = reply.thread_ts or self.thread_ts
        resp = self.client.chat_postMessage(
            channel=channel,
            thread_ts=thread_ts,
            text=reply.text,
            blocks=reply.blocks,
            metadata=reply.metadata,
        )
        for filename, content in reply.files:
            self.client.files_upload_v2(
                channel=channel, thread_ts=thread_ts, filename=filename, content=content, title=filename
            )
        return str(resp["ts"])

    def error(self, exc: BaseException, redactor: Redactor | None = None) -> None:
        try:
            self.deliver(Reply(text=user_message(exc, redactor or self.redactor)))
        except Exception as delivery_error:  # the user must not see a trace; we must see why
            log.error("could not deliver error message", error=self.redactor.text(repr(delivery_error)))
