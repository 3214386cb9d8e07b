"""The server side of RFC 6455 over a raw socket, as much as Slack's Socket Mode needs.

The opening handshake, then frames: text in both directions, ping/pong, close. Client frames are
masked (the RFC requires it); ours are not. No extensions, no subprotocols: slack_sdk asks for neither.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import socket
import struct
import threading
from dataclasses import dataclass

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
CONTINUATION, TEXT, BINARY, CLOSE, PING, PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
MAX_REQUEST_HEAD = 16 * 1024
MAX_MESSAGE = 16 * 1024 * 1024


class ProtocolError(Exception):
    """The peer broke the protocol: the connection is dropped."""


@dataclass(frozen=True)
class UpgradeRequest:
    method: str
    target: str  # path and query, e.g. /link/?ticket=abc
    headers: dict[str, str]  # names lower-cased


def accept_key(key: str) -> str:
    return base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()  # noqa: S324 (RFC 6455)


def encode_frame(opcode: int, payload: bytes) -> bytes:
    """One final, unmasked frame (a server never masks)."""
    head = bytes([0x80 | opcode])
    size = len(payload)
    if size < 126:
        head += bytes([size])
    elif size < 1 << 16:
        head += struct.pack("!BH", 126, size)
    else:
        head += struct.pack("!BQ", 127, size)
    return head + payload


class WebSocket:
    """One connection. Sends may come from any thread; one thread reads."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self._buf = b""
        self._send_lock = threading.Lock()

    # -- reading ---------------------------------------------------------------------------------
    def _fill(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed by the peer")
        self._buf += chunk

    def _take(self, size: int) -> bytes:
        while len(self._buf) < size:
            self._fill()
        data, self._buf = self._buf[:size], self._buf[size:]
        return data

    def read_request(self) -> UpgradeRequest:
        while b"\r\n\r\n" not in self._buf:
            if len(self._buf) > MAX_REQUEST_HEAD:
                raise ProtocolError("request head too long")
            self._fill()
        head, self._buf = self._buf.split(b"\r\n\r\n", 1)
        request_line, *lines = head.decode("latin-1").split("\r\n")
        parts = request_line.split(" ")
        if len(parts) != 3:
            raise ProtocolError(f"bad request line {request_line!r}")
        headers = {}
        for line in lines:
            name, sep, value = line.partition(":")
            if sep:
                headers[name.strip().lower()] = value.strip()
        return UpgradeRequest(parts[0], parts[1], headers)

    def _frame(self) -> tuple[bool, int, bytes]:
        b1, b2 = self._take(2)
        size = b2 & 0x7F
        if size == 126:
            size = struct.unpack("!H", self._take(2))[0]
        elif size == 127:
            size = struct.unpack("!Q", self._take(8))[0]
        if size > MAX_MESSAGE:
            raise ProtocolError(f"frame of {size} bytes")
        mask = self._take(4) if b2 & 0x80 else b""
        data = self._take(size)
        if mask:
            data = bytes(byte ^ mask[i % 4] for i, byte in enumerate(data))
        return bool(b1 & 0x80), b1 & 0x0F, data

    def receive(self) -> tuple[int, bytes]:
        """The next control frame, or the next whole data message (fragments joined)."""
        opcode, parts = 0, list[bytes]()
        while True:
            fin, code, data = self._frame()
            if code >= CLOSE:  # control frames may arrive between fragments
                return code, data
            if code != CONTINUATION:
                opcode, parts = code, []
            parts.append(data)
            if fin:
                return opcode, b"".join(parts)

    # -- writing ---------------------------------------------------------------------------------
    def _send_raw(self, data: bytes) -> None:
        with self._send_lock:
            self.sock.sendall(data)

    def accept(self, request: UpgradeRequest) -> None:
        key = request.headers.get("sec-websocket-key", "")
        self._send_raw(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                        f"Sec-WebSocket-Accept: {accept_key(key)}\r\n\r\n").encode())

    def reject(self, status: int, reason: str, body: str) -> None:
        data = body.encode()
        self._send_raw((f"HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain\r\n"
                        f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n").encode() + data)

    def send(self, opcode: int, payload: bytes) -> None:
        self._send_raw(encode_frame(opcode, payload))

    def send_text(self, text: str) -> None:
        self.send(TEXT, text.encode())

    def close(self) -> None:
        """Drop the TCP connection; shutdown() first wakes up the thread blocked in recv()."""
        with contextlib.suppress(OSError):  # already gone
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()
