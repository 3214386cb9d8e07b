"""A proxy in front of the Slack emulator that delays chosen answers AFTER Slack has done the work.

The emulator's own latency sleeps before it stores a message; real Slack shows the message to people while
its HTTP answer is still on its way back to the bot. This proxy reproduces that: the call is forwarded at
once (the message exists, people can click it), and the answer is held back for `delay` seconds.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

Slow = Callable[[str, bytes], bool]   # (Web API method, request body) -> hold the answer back?


class SlowAnswers:
    def __init__(self, upstream_api_url: str, delay: float, slow: Slow) -> None:
        self.upstream, self.delay, self.slow = upstream_api_url, delay, slow
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/api/"

    def __enter__(self) -> SlowAnswers:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                method = self.path.rsplit("/", 1)[-1].split("?")[0]
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
                answer = httpx.post(proxy.upstream + method, content=body, headers=headers, timeout=30)
                if proxy.slow(method, body):
                    time.sleep(proxy.delay)
                self.send_response(answer.status_code)
                for name, value in answer.headers.items():
                    if name.lower() in ("content-type", "retry-after"):
                        self.send_header(name, value)
                self.send_header("content-length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

            def log_message(self, *args: Any) -> None:
                pass

        return Handler
