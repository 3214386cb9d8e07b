"""Logging: structlog, readable on a terminal, JSON otherwise; every line passes the redactor."""

from __future__ import annotations

import logging
import sys
from typing import Any

import structlog

from bot.redact import Redactor

_redactor = Redactor()


def _redact_event(_: Any, __: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    return {k: _redactor.any(v) if isinstance(v, str | dict | list) else v for k, v in event_dict.items()}


class RedactingFilter(logging.Filter):
    """Redacts stdlib log records too (slack_bolt, urllib3, waitress log through stdlib)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, dict):
            return True  # a structlog event: its processors redacted it already
        if record.args:
            try:
                record.msg = record.getMessage()
            except (TypeError, ValueError):
                record.msg = str(record.msg)
            record.args = None
        record.msg = _redactor.text(str(record.msg))
        return True


def configure_logging(level: str = "INFO", fmt: str = "auto", secrets: list[str] | None = None) -> None:
    """Set up structlog and stdlib logging once. `secrets` are values never to print (tokens...)."""
    global _redactor
    _redactor = Redactor(secrets or [])
    use_json = fmt == "json" or (fmt == "auto" and not sys.stderr.isatty())
    renderer: Any = structlog.processors.JSONRenderer() if use_json else structlog.dev.ConsoleRenderer()
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        _redact_event,
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RedactingFilter())
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(processor=renderer, foreign_pre_chain=shared))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Request bodies carry response_url (a capability URL): keep library debug logs quiet.
    for noisy in ("urllib3", "httpx", "httpcore", "waitress.queue"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def get_logger(name: str) -> Any:
    return structlog.get_logger(name)
