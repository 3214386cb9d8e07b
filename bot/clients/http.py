"""The HTTP client the backend clients are built on.

Building an httpx.Client loads the system's CA bundle into a new SSL context: about 20 ms of CPU, under the
GIL that Slack's acks share. A status command, a click and an enrichment each build a client, so under
load that cost was most of what the process did (issue #16's profile: 68.6 % of samples). One SSL context
per process, shared by every client, makes building a client cheap; the context is read-only once made.
"""

from __future__ import annotations

import ssl
from functools import lru_cache

import httpx


@lru_cache(maxsize=1)
def tls_context() -> ssl.SSLContext:
    return httpx.create_ssl_context()


def json_client(base_url: str, timeout: float, transport: httpx.BaseTransport | None = None) -> httpx.Client:
    """A client for a JSON REST API with one timeout for connect, read, write and pool."""
    return httpx.Client(base_url=base_url, timeout=httpx.Timeout(timeout), transport=transport,
                        headers={"Accept": "application/json"}, verify=tls_context())
