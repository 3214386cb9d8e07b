"""Slack's Socket Mode endpoint (protocols.md 5.8): the WebSocket URL apps.connections.open hands out.

A connection opens with a one-time ticket, gets `hello`, then envelopes; the app acks each one with
`{"envelope_id", "payload"?}`. `deliver` sends an envelope on the newest connection and waits for its ack.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import socket
import socketserver
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from bot.sandbox.websocket import CLOSE, PING, PONG, TEXT, ProtocolError, UpgradeRequest, WebSocket


@dataclass(frozen=True)
class Ack:
    envelope_id: str
    payload: dict[str, Any] | None  # a slash command's immediate answer; None for a bare ack


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], hub: SocketModeServer) -> None:
        self.hub = hub
        super().__init__(address, _Handler)


class _Handler(socketserver.BaseRequestHandler):
    server: _Server

    def handle(self) -> None:
        self.server.hub.serve(self.request)


class SocketModeServer:
    """A threaded TCP server on localhost (port 0 picks one) speaking just enough WebSocket."""

    def __init__(self, app_id: str = "A0SANDBOX", host: str = "127.0.0.1", port: int = 0) -> None:
        self.app_id = app_id
        self._server = _Server((host, port), self)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="sandbox-socket-mode", daemon=True)
        self.lock = threading.Condition()
        self._tickets: set[str] = set()
        self._links: list[WebSocket] = []  # open connections, oldest first
        self._waiting: dict[str, Ack | None] = {}  # envelope_id -> its ack once it came
        self.acks: list[Ack] = []  # every ack received, for inspection
        self.accepted = 0  # connections ever opened

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> SocketModeServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self.drop_connections()
        self._server.server_close()
        self._thread.join(timeout=5)

    def clear(self) -> None:
        with self.lock:
            self.acks.clear()

    # -- apps.connections.open -------------------------------------------------------------------
    def open_url(self) -> str:
        """A fresh URL with a one-time ticket, as apps.connections.open returns."""
        ticket = secrets.token_hex(16)
        with self.lock:
            self._tickets.add(ticket)
        return f"ws://127.0.0.1:{self.port}/link/?ticket={ticket}&app_id={self.app_id}"

    def connections(self) -> int:
        with self.lock:
            return len(self._links)

    # -- one connection (runs in its own thread) -------------------------------------------------
    def serve(self, sock: socket.socket) -> None:
        ws = WebSocket(sock)
        try:
            if self._handshake(ws):
                self._read_loop(ws)
        except (OSError, ProtocolError, ValueError):
            pass  # the peer went away or spoke nonsense: the connection just ends, as with Slack
        finally:
            with self.lock:
                if ws in self._links:
                    self._links.remove(ws)
            ws.close()

    def _handshake(self, ws: WebSocket) -> bool:
        request = ws.read_request()
        problem = self._refusal(request)
        if problem:
            ws.reject(*problem)
            return False
        ws.accept(request)
        with self.lock:
            count = len(self._links) + 1
            # hello goes out before the link is registered, so no envelope can overtake it
            ws.send_text(json.dumps(self._hello(count)))
            self._links.append(ws)
            self.accepted += 1
            self.lock.notify_all()
        return True

    def _refusal(self, request: UpgradeRequest) -> tuple[int, str, str] | None:
        url = urlsplit(request.target)
        if request.method != "GET" or url.path.rstrip("/") != "/link":
            return 404, "Not Found", "not a Socket Mode URL"
        if request.headers.get("upgrade", "").lower() != "websocket" or not request.headers.get(
                "sec-websocket-key"):
            return 400, "Bad Request", "a WebSocket upgrade is expected"
        ticket = parse_qs(url.query).get("ticket", [""])[0]
        with self.lock:
            if ticket not in self._tickets:
                return 401, "Unauthorized", "unknown or used ticket: call apps.connections.open again"
            self._tickets.discard(ticket)  # one connection per ticket, like Slack's
        return None

    def _hello(self, count: int) -> dict[str, Any]:
        return {"type": "hello", "num_connections": count, "connection_info": {"app_id": self.app_id},
                "debug_info": {"host": "sandbox-socket-mode", "build_number": 1,
                               "approximate_connection_time": 18060}}

    def _read_loop(self, ws: WebSocket) -> None:
        while True:
            opcode, data = ws.receive()
            if opcode == PING:
                ws.send(PONG, data)  # slack_sdk calls a connection stale without pongs
            elif opcode == CLOSE:
                ws.send(CLOSE, data[:2])
                return
            elif opcode == TEXT:
                self._on_text(data)

    def _on_text(self, data: bytes) -> None:
        message = json.loads(data)
        if not isinstance(message, dict) or "envelope_id" not in message:
            return
        payload = message.get("payload")
        ack = Ack(str(message["envelope_id"]), payload if isinstance(payload, dict) else None)
        with self.lock:
            self.acks.append(ack)
            if ack.envelope_id in self._waiting:
                self._waiting[ack.envelope_id] = ack
                self.lock.notify_all()

    # -- the Slack side ----------------------------------------------------------------------------
    def deliver(self, envelope: dict[str, Any], timeout: float) -> Ack | None:
        """Send on the newest connection; its ack, or None if none came within `timeout` seconds.

        RuntimeError if no app is connected by then: a test set-up problem, not an answer.
        """
        deadline = time.monotonic() + timeout
        envelope_id = str(envelope["envelope_id"])
        with self.lock:
            self._waiting[envelope_id] = None
        try:
            self._send_somewhere(json.dumps(envelope), deadline)
            with self.lock:
                self.lock.wait_for(lambda: self._waiting[envelope_id] is not None, _left(deadline))
                return self._waiting[envelope_id]
        finally:
            with self.lock:
                self._waiting.pop(envelope_id, None)

    def _send_somewhere(self, text: str, deadline: float) -> None:
        while True:
            with self.lock:
                self.lock.wait_for(lambda: self._links, _left(deadline))
                if not self._links:
                    raise RuntimeError("no Socket Mode connection: is the app running with its xapp- token?")
                link = self._links[-1]
            try:
                link.send_text(text)
                return
            except OSError:  # that connection died: forget it and use another, as Slack would
                with self.lock:
                    if link in self._links:
                        self._links.remove(link)

    def drop_connections(self) -> None:
        """Close every connection from this side, without a close frame: a network failure, or a quick end
        to a test (slack_sdk's own close() waits up to 3 s for its blocked read)."""
        with self.lock:
            links, self._links = list(self._links), []
        for link in links:
            link.close()

    def disconnect(self, reason: str = "refresh_requested") -> None:
        """Ask every connected app to reconnect (`{"type": "disconnect"}`), as Slack does now and then."""
        with self.lock:
            links = list(self._links)
        text = json.dumps({"type": "disconnect", "reason": reason, "debug_info": {"host": "sandbox-socket-mode"}})
        for link in links:
            with contextlib.suppress(OSError):  # already gone: its reader thread forgets it
                link.send_text(text)


def _left(deadline: float) -> float:
    return max(0.0, deadline - time.monotonic())
