"""MySQL/MariaDB connections from a `mysql://user:pass@host:port/[db]` URL (MYSQL_URL)."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlsplit

import pymysql

from bot.clients.breaker import breaker_for
from bot.errors import BackendError


def parse_mysql_url(url: str) -> dict[str, Any]:
    """Connection kwargs for pymysql.connect. Raises ValueError (without the URL: it holds a password)."""
    parts = urlsplit(url)
    if parts.scheme != "mysql" or not parts.hostname:
        raise ValueError("not a mysql://user:pass@host:port/ URL")
    try:
        port = parts.port or 3306
    except ValueError as exc:
        raise ValueError("the port of MYSQL_URL is not a number") from exc
    kwargs: dict[str, Any] = {
        "host": parts.hostname,
        "port": port,
        "user": unquote(parts.username or "root"),
        "password": unquote(parts.password or ""),
    }
    database = parts.path.lstrip("/")
    if database:
        kwargs["database"] = unquote(database)
    return kwargs


def where(url: str) -> str:
    """host:port of a URL, for error messages: never the user or password."""
    try:
        kwargs = parse_mysql_url(url)
    except ValueError:
        return "MYSQL_URL"
    return f"{kwargs['host']}:{kwargs['port']}"


def connect(url: str, database: str | None = None, timeout: float = 5) -> pymysql.Connection[Any]:
    """An autocommit connection; BackendError("MySQL", "host:port", reason) when it cannot be opened."""
    try:
        kwargs = parse_mysql_url(url)
    except ValueError as exc:
        raise BackendError("MySQL", "MYSQL_URL", str(exc)) from None
    if database is not None:
        kwargs["database"] = database
    try:
        with breaker_for("MySQL", where(url)).call(is_timeout=lambda exc: "timed out" in str(exc)):
            return pymysql.connect(
                **kwargs, connect_timeout=timeout, read_timeout=max(timeout, 30), write_timeout=max(timeout, 30),
                autocommit=True, charset="utf8mb4",
            )
    except pymysql.err.MySQLError as exc:
        raise BackendError("MySQL", where(url), _reason(exc)) from None


def _reason(exc: pymysql.err.MySQLError) -> str:
    # pymysql's messages never include the password, but keep only code + text to be sure of it.
    args = exc.args
    if len(args) >= 2:
        return f"error {args[0]}: {args[1]}"
    return str(exc) or type(exc).__name__
