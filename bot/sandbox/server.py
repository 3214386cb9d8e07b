"""Run a WSGI app (Flask) on 127.0.0.1 in a background thread: the base of every sandbox server."""

from __future__ import annotations

import logging
import threading
from typing import Any, Self

from werkzeug.serving import BaseWSGIServer, make_server

# The sandbox servers log every request at INFO: noise in tests and in the demo.
logging.getLogger("werkzeug").setLevel(logging.WARNING)


class BackgroundServer:
    """A threaded HTTP server on localhost; port 0 picks a free port. Use as a context manager."""

    def __init__(self, wsgi_app: Any, host: str = "127.0.0.1", port: int = 0) -> None:
        self._server: BaseWSGIServer = make_server(host, port, wsgi_app, threaded=True)
        # A short poll interval: stop() waits for the loop to notice, and tests stop many servers.
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="sandbox-http", daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_port)

    @property
    def url(self) -> str:
        """Base URL without a trailing slash, e.g. http://127.0.0.1:40123."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> BackgroundServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class SandboxService:
    """The lifecycle every sandbox server shares: its URL and port, start/stop, and `with` support.

    Subclasses set `self._server` in __init__ and may extend stop().
    """

    _server: BackgroundServer

    @property
    def url(self) -> str:
        return self._server.url

    @property
    def port(self) -> int:
        return self._server.port

    def start(self) -> Self:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
