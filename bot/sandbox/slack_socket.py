"""Slack's Socket Mode endpoint (protocols.md 5.8): the WebSocket URL apps.connections.open hands out.

A connection opens with a one-time ticket, gets `hello`, then envelopes; the app acks each one with
`{"envelope_id", "payload"?}`. `deliver` sends an envelope on the newest connection and waits for its ack.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.sync.server import Server, ServerConnection, serve

MAX_MESSAGE = 16 * 1024 * 1024


@dataclass(frozen=True)
class Ack:
    envelope_id: str
    payload: dict[str, Any] | None  # a slash command's immediate answer; None for a bare ack


class SocketModeServer:
    """The `websockets` package's sync server on localhost (port 0 picks one), one thread per connection.

    The library answers pings (slack_sdk calls a connection stale without pongs) and close frames.
    """

    def __init__(self, app_id: str = "A0SANDBOX", host: str = "127.0.0.1", port: int = 0) -> None:
        self.app_id = app_id
        self._server: Server = serve(self._serve, host, port, process_request=self._refusal, compression=None,
                                     ping_interval=None, max_size=MAX_MESSAGE, server_header=None)
        self._thread = threading.Thread(target=self._server.serve_forever, name="sandbox-socket-mode", daemon=True)
        self.lock = threading.Condition()
        self._tickets: set[str] = set()
        self._links: list[ServerConnection] = []  # open connections, oldest first
        self._waiting: dict[str, Ack | None] = {}  # envelope_id -> its ack once it came
        self.acks: list[Ack] = []  # every ack received, for inspection
        self.accepted = 0  # connections ever opened

    @property
    def port(self) -> int:
        return int(self._server.socket.getsockname()[1])

    def start(self) -> SocketModeServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self.drop_connections()
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
    def _refusal(self, connection: ServerConnection, request: Request) -> Response | None:
        """Before the handshake: a Socket Mode URL with a ticket not used yet, or an HTTP error."""
        url = urlsplit(request.path)
        if url.path.rstrip("/") != "/link":
            return connection.respond(404, "not a Socket Mode URL\n")
        ticket = parse_qs(url.query).get("ticket", [""])[0]
        with self.lock:
            if ticket not in self._tickets:
                return connection.respond(401, "unknown or used ticket: call apps.connections.open again\n")
            self._tickets.discard(ticket)  # one connection per ticket, like Slack's
        return None

    def _serve(self, link: ServerConnection) -> None:
        try:
            with self.lock:
                # hello goes out before the link is registered, so no envelope can overtake it
                link.send(json.dumps(self._hello(len(self._links) + 1)))
                self._links.append(link)
                self.accepted += 1
                self.lock.notify_all()
            for message in link:
                if isinstance(message, str):
                    self._on_text(message)
        except (ConnectionClosed, OSError, ValueError):
            pass  # the peer went away or spoke nonsense: the connection just ends, as with Slack
        finally:
            with self.lock:
                if link in self._links:
                    self._links.remove(link)

    def _hello(self, count: int) -> dict[str, Any]:
        return {"type": "hello", "num_connections": count, "connection_info": {"app_id": self.app_id},
                "debug_info": {"host": "sandbox-socket-mode", "build_number": 1,
                               "approximate_connection_time": 18060}}

    def _on_text(self, data: str) -> None:
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
                link.send(text)
                return
            except (ConnectionClosed, OSError):  # that connection died: forget it and use another, as Slack would
                with self.lock:
                    if link in self._links:
                        self._links.remove(link)

    def drop_connections(self) -> None:
        """Close every connection from this side, without a close frame: a network failure, or a quick end
        to a test (slack_sdk's own close() waits up to 3 s for its blocked read)."""
        with self.lock:
            links, self._links = list(self._links), []
        for link in links:
            with contextlib.suppress(OSError):   # already gone
                link.socket.shutdown(socket.SHUT_RDWR)   # wakes up the thread blocked reading it
            link.socket.close()

    def disconnect(self, reason: str = "refresh_requested") -> None:
        """Ask every connected app to reconnect (`{"type": "disconnect"}`), as Slack does now and then."""
        with self.lock:
            links = list(self._links)
        text = json.dumps({"type": "disconnect", "reason": reason, "debug_info": {"host": "sandbox-socket-mode"}})
        for link in links:
            with contextlib.suppress(ConnectionClosed, OSError):  # already gone: its reader thread forgets it
                link.send(text)


def _left(deadline: float) -> float:
    return max(0.0, deadline - time.monotonic())
