"""One MYSQL_URL parser: %-escaped users and passwords are decoded everywhere the URL is read."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pymysql
import pytest
from pydantic import SecretStr

from bot.clients.mysql import parse_mysql_url
from bot.config import Settings
from bot.deps import known_secrets
from bot.health import probe_mysql
from tests.conftest import MYSQL_HOST, MYSQL_PORT

PASSWORD = "p@ss:w/rd%"
ESCAPED = "p%40ss%3Aw%2Frd%25"


def test_parse_decodes_user_password_and_database() -> None:
    kwargs = parse_mysql_url(f"mysql://us%40er:{ESCAPED}@db.example:3307/my%20db")
    assert kwargs == {"host": "db.example", "port": 3307, "user": "us@er", "password": PASSWORD,
                      "database": "my db"}
    assert parse_mysql_url("mysql://db/") == {"host": "db", "port": 3306, "user": "root", "password": ""}
    for bad in ("postgres://x@db/", "mysql:///nohost", "mysql://db:port/"):
        with pytest.raises(ValueError):
            parse_mysql_url(bad)


def test_the_redactor_knows_the_decoded_password() -> None:
    settings = Settings(_env_file=None, mysql_url=SecretStr(f"mysql://u:{ESCAPED}@db:3306/"))  # type: ignore[call-arg]
    assert PASSWORD in known_secrets(settings)


@pytest.fixture
def escaped_user() -> Iterator[str]:
    """A MariaDB user whose password needs %-escaping in a URL."""
    name = f"u{uuid.uuid4().hex[:10]}"
    conn = pymysql.connect(host=MYSQL_HOST, port=MYSQL_PORT, user="root", password="", autocommit=True)
    with conn.cursor() as cur:
        cur.execute(f"CREATE USER '{name}'@'%%' IDENTIFIED BY %s", (PASSWORD,))
        cur.execute(f"CREATE USER '{name}'@'localhost' IDENTIFIED BY %s", (PASSWORD,))
    yield name
    with conn.cursor() as cur:
        cur.execute(f"DROP USER IF EXISTS '{name}'@'%'")
        cur.execute(f"DROP USER IF EXISTS '{name}'@'localhost'")
    conn.close()


def test_healthz_probe_logs_in_with_an_escaped_password(escaped_user: str) -> None:
    probe = probe_mysql(f"mysql://{escaped_user}:{ESCAPED}@{MYSQL_HOST}:{MYSQL_PORT}/", timeout=2)
    assert probe.ok, probe.detail
