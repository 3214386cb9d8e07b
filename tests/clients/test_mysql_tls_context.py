"""MySQL connections share one "preferred TLS" SSL context per process (pymysql builds a new one, ~20 ms of
CPU, for every connection otherwise); explicit TLS options still get their own (real MariaDB)."""

from __future__ import annotations

import ssl

from bot.clients.mysql import SharedTLSConnection, connect
from tests.conftest import MYSQL_HOST, MYSQL_PORT


def test_connections_without_tls_options_share_one_context() -> None:
    url = f"mysql://root@{MYSQL_HOST}:{MYSQL_PORT}/"
    first, second = connect(url), connect(url)
    probe = SharedTLSConnection(host=MYSQL_HOST, port=MYSQL_PORT, user="root", connect_timeout=2)
    try:
        assert isinstance(first.ctx, ssl.SSLContext)
        assert first.ctx is second.ctx is probe.ctx
        assert first.ctx.verify_mode == ssl.CERT_NONE      # pymysql's "preferred" mode, unchanged
    finally:
        for conn in (first, second, probe):
            conn.close()


def test_explicit_tls_options_get_their_own_context() -> None:
    shared = SharedTLSConnection(host=MYSQL_HOST, port=MYSQL_PORT, user="root", connect_timeout=2, defer_connect=True)
    own = SharedTLSConnection(host=MYSQL_HOST, port=MYSQL_PORT, user="root", connect_timeout=2, defer_connect=True,
                              ssl_verify_cert=True)
    assert own.ctx is not shared.ctx and own.ctx.verify_mode == ssl.CERT_REQUIRED
