"""MySQL/MariaDB connections from a `mysql://user:pass@host:port/[db]` URL (MYSQL_URL).

Every phase is bounded and goes through the backend's breaker (bot/clients/breaker.py): the connect, the
server's greeting and the login (pymysql reads them with the read timeout), and each query. A server that
accepts and never greets, or hangs after the login in the middle of a query (a held lock, a stuck disk),
costs one call its timeout and then a BackendError naming MySQL; three such timeouts in a row and nobody
asks it for a while. Without this, a query hung for pymysql's read timeout with no bulkhead around it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import unquote, urlsplit

import pymysql
import pymysql.connections

from bot.clients.breaker import breaker_for
from bot.errors import BackendError

DEFAULT_TIMEOUT_SECONDS = 5.0       # Settings.enrich_timeout_seconds' default: callers pass the setting
# pymysql's codes for "the server stopped answering": lost during a query, gone away. A timed-out read is
# a 2013 whose text ends "(timed out)".
_LOST = (2006, 2013)


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


def connect(url: str, database: str | None = None, timeout: float = DEFAULT_TIMEOUT_SECONDS,
            query_timeout: float | None = None) -> pymysql.Connection[Any]:
    """An autocommit connection; BackendError("MySQL", "host:port", reason) when it cannot be opened.

    `timeout` bounds the connect, the greeting, the login and (unless `query_timeout` is given: a DDL may
    legitimately run for minutes) every read and write of a query.
    """
    try:
        kwargs = parse_mysql_url(url)
    except ValueError as exc:
        raise BackendError("MySQL", "MYSQL_URL", str(exc)) from None
    if database is not None:
        kwargs["database"] = database
    at = where(url)
    try:
        with guarded(at, timeout):
            return GuardedConnection(at, query_timeout or timeout, **kwargs, connect_timeout=timeout,
                                     read_timeout=timeout, write_timeout=timeout, autocommit=True,
                                     charset="utf8mb4")
    except pymysql.err.MySQLError as exc:
        raise BackendError("MySQL", at, _reason(exc)) from None


class GuardedConnection(pymysql.connections.Connection):
    """A pymysql connection whose every query goes through the breaker of its server."""

    def __init__(self, at: str, query_timeout: float, **kwargs: Any) -> None:
        self.where = at
        super().__init__(**kwargs)          # connects, greeting and login bounded by the short timeout
        # pymysql reads with _read_timeout and re-applies it before each read: from now on, the query's.
        self._read_timeout = self._write_timeout = self.query_timeout = query_timeout

    def query(self, sql: Any, unbuffered: bool = False) -> int:
        with guarded(self.where, self.query_timeout):
            return int(super().query(sql, unbuffered))


@contextmanager
def guarded(at: str, timeout: float) -> Iterator[None]:
    """One call to the MySQL server at `at`: the breaker's slot, its count of timeouts, and a server that
    stopped answering turned into BackendError (other errors, e.g. a missing privilege, pass through)."""
    try:
        with breaker_for("MySQL", at).call(is_timeout=timed_out):
            yield
    except pymysql.err.OperationalError as exc:
        if timed_out(exc):
            raise BackendError("MySQL", at, f"timed out after {timeout:.1f} s") from None
        if exc.args and exc.args[0] in _LOST:
            raise BackendError("MySQL", at, _reason(exc)) from None
        raise


def timed_out(exc: BaseException) -> bool:
    """pymysql wraps a socket timeout: (2013, 'Lost connection to MySQL server during query (timed out)')."""
    return isinstance(exc, pymysql.err.OperationalError) and "timed out" in str(exc)


def _reason(exc: pymysql.err.MySQLError) -> str:
    # pymysql's messages never include the password, but keep only code + text to be sure of it.
    args = exc.args
    if len(args) >= 2:
        return f"error {args[0]}: {args[1]}"
    return str(exc) or type(exc).__name__
