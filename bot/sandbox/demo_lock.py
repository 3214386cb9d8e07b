"""One sandbox demo at a time per MySQL server and per Redis database.

The demo owns `oltp.orders` and the `dfo:*` keys of its Redis database for as long as it runs, so a second
demo against the same server or database refuses in one line before it touches anything. Both locks go
away with the process that holds them: the MySQL named lock with its connection, the Redis key by expiry
(it is renewed while the demo runs), so a killed demo never blocks the next one for long.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from typing import Any
from urllib.parse import urlsplit

import pymysql
import redis

from bot.clients.mysql import connect, where
from bot.errors import BackendError, UserInputError

MYSQL_LOCK = "dataflow-demo"              # a server-wide named lock (GET_LOCK), held by one connection
REDIS_LOCK = "dataflow-demo:running"      # not under dfo:, so the demo's own clean-up never removes it
REDIS_TTL_S = 20                          # how long a killed demo's Redis lock outlives it
RENEW_EVERY_S = 5.0


class DemoBusy(UserInputError):
    """Another demo holds the MySQL server or the Redis database this one would use."""


def redis_where(url: str) -> str:
    """host:port/db of a Redis URL, for messages: never its password."""
    parts = urlsplit(url)
    return f"{parts.hostname or '127.0.0.1'}:{parts.port or 6379}{parts.path or '/0'}"


def holder_text() -> str:
    return f"pid {os.getpid()} on {socket.gethostname()}, since {time.strftime('%H:%M:%S')}"


def holder_of(raw: object) -> str:
    """Who holds the Redis lock, as its value says (it may have expired meanwhile)."""
    if isinstance(raw, bytes):
        return raw.decode(errors="replace")
    return str(raw) if raw else "another demo"


class DemoLock:
    """Taken before the demo seeds or clears anything; released after it has cleaned up."""

    def __init__(self, mysql_url: str, redis_url: str) -> None:
        self.mysql_url, self.redis_url = mysql_url, redis_url
        self._conn: pymysql.Connection[Any] | None = None
        self._redis: redis.Redis | None = None
        self._token = ""
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None

    def acquire(self) -> DemoLock:
        self._take_mysql()
        try:
            self._take_redis()
        except BaseException:
            self.release()
            raise
        return self

    def _take_mysql(self) -> None:
        self._conn = connect(self.mysql_url)
        with self._conn.cursor() as cur:
            cur.execute("SELECT GET_LOCK(%s, 0)", (MYSQL_LOCK,))
            row = cur.fetchone()
        if not row or row[0] != 1:
            self._conn.close()
            self._conn = None
            raise DemoBusy(f"Another demo is running against MySQL at {where(self.mysql_url)}: refusing to touch "
                           "its oltp.orders.", "Wait for it to finish, or point MYSQL_URL at another server.")

    def _take_redis(self) -> None:
        self._redis = redis.Redis.from_url(self.redis_url, socket_timeout=5, socket_connect_timeout=5)
        self._token = holder_text()
        try:
            taken = self._redis.set(REDIS_LOCK, self._token, nx=True, ex=REDIS_TTL_S)
            holder = None if taken else self._redis.get(REDIS_LOCK)
        except redis.RedisError as exc:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__   # redis-py never puts the password in it
            raise BackendError("Redis", redis_where(self.redis_url), reason) from None
        if not taken:
            raise DemoBusy(f"Another demo ({holder_of(holder)}) is using the Redis database {redis_where(self.redis_url)}.",
                           "Wait for it to finish, or give this one its own: DEMO_REDIS_URL=redis://…/<db>.")
        self._renewer = threading.Thread(target=self._renew, name="demo-lock-renew", daemon=True)
        self._renewer.start()

    def _renew(self) -> None:
        while not self._stop.wait(RENEW_EVERY_S):
            try:
                if self._redis is not None:
                    self._redis.set(REDIS_LOCK, self._token, xx=True, ex=REDIS_TTL_S)
            except redis.RedisError:
                continue   # Redis restarting: the next renewal tries again, the demo itself will say more

    def release(self) -> None:
        self._stop.set()
        if self._renewer is not None:
            self._renewer.join(timeout=2)
        if self._redis is not None:
            # Only our own lock, compared and deleted in one step; if Redis is gone it expires by itself.
            with contextlib.suppress(redis.RedisError):
                self._redis.eval("if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) "
                                 "end return 0", 1, REDIS_LOCK, self._token)
            self._redis.close()
            self._redis = None
        if self._conn is not None:
            with contextlib.suppress(pymysql.MySQLError):
                self._conn.close()   # closing the session releases its named lock
            self._conn = None
