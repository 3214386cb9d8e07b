"""Shared fixtures: real Redis and MariaDB on this machine, isolated per test."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator

import pymysql
import pytest
import redis

REDIS_HOST = os.environ.get("TEST_REDIS_HOST", "127.0.0.1")
REDIS_PORT = int(os.environ.get("TEST_REDIS_PORT", "6379"))
# One Redis database for the suite; flushed before each test that uses it.
REDIS_DB = int(os.environ.get("TEST_REDIS_DB", "11"))
MYSQL_HOST = os.environ.get("TEST_MYSQL_HOST", "127.0.0.1")
MYSQL_PORT = int(os.environ.get("TEST_MYSQL_PORT", "3306"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def redis_url() -> Iterator[str]:
    """A clean Redis database for this test."""
    client = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=REDIS_DB)
    client.flushdb()
    yield f"redis://{REDIS_HOST}:{REDIS_PORT}/{REDIS_DB}"
    client.flushdb()
    client.close()


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    yield client
    client.close()


@pytest.fixture
def mysql_db() -> Iterator[str]:
    """A fresh MariaDB database with a unique name, dropped afterwards. Yields its name."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    conn = pymysql.connect(host=MYSQL_HOST, port=MYSQL_PORT, user="root", password="", autocommit=True)
    with conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{name}`")
    yield name
    with conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
    conn.close()


@pytest.fixture
def mysql_url() -> str:
    return f"mysql://root:@{MYSQL_HOST}:{MYSQL_PORT}/"


def require_binary(*names: str) -> str:
    """The path of the first binary found. Missing: a skip on a developer's machine, a failure in CI."""
    import shutil

    for name in names:
        path = shutil.which(name) or (f"/usr/bin/{name}" if os.path.exists(f"/usr/bin/{name}") else None)
        if path:
            return path
    message = f"{' or '.join(names)} not installed (scripts/ensure-services.sh installs it)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


# -- the local real stack (make stack-up): tests marked `realstack` run only when asked for ---------------
def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--realstack", action="store_true",
                     help="run the tests marked realstack against the local real stack (make stack-up); "
                          "also REALSTACK=1")


def realstack_enabled(config: pytest.Config) -> bool:
    return bool(config.getoption("--realstack")) or os.environ.get("REALSTACK") == "1"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Without --realstack they are skipped (the default suite needs nothing installed); with it, a stack
    that cannot be brought up fails them, it never skips them."""
    if realstack_enabled(config):
        return
    skip = pytest.mark.skip(reason="needs the local real stack: `make stack-install test-realstack`")
    for item in items:
        if "realstack" in item.keywords:
            item.add_marker(skip)
