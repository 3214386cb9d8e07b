"""SlackEmulator: a Slack workspace on localhost. The bot talks to its Web API; tests act as users.

    with SlackEmulator(signing_secret="s3cret", request_url=bot_url + "/slack/events") as emu:
        client = WebClient(token=emu.bot_token, base_url=emu.api_url)
        emu.slash_command("U0ALICE", "status")
        emu.wait_for(lambda: emu.messages("C0INCIDENT"))

Socket Mode: the bot calls apps.connections.open with `emu.app_token` and connects to the URL it gets;
`emu.socket_mode = True` then sends commands, clicks and events over that connection instead.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

from bot.sandbox.server import BackgroundServer
from bot.sandbox.slack_api import Backend, create_app
from bot.sandbox.slack_client import Delivery, SlackSender
from bot.sandbox.slack_faults import CallLog, Faults, RecordedCall
from bot.sandbox.slack_files import FileStore
from bot.sandbox.slack_limits import RateLimiter
from bot.sandbox.slack_render import render_thread
from bot.sandbox.slack_responses import ResponseUrls
from bot.sandbox.slack_socket import Ack, SocketModeServer
from bot.sandbox.slack_state import SlackState
from bot.sandbox.slack_users import UserActions

T = TypeVar("T")
INCIDENT_CHANNEL = "C0INCIDENT"
APP_ID = "A0SANDBOX"


class SlackEmulator(UserActions):
    def __init__(self, signing_secret: str, bot_token: str = "xoxb-sandbox-token",  # noqa: S107 (fake)
                 request_url: str | None = None, port: int = 0, bot_user_id: str = "U0BOT",
                 bot_id: str = "B0BOT", team_id: str = "T0SANDBOX",
                 app_token: str = f"xapp-1-{APP_ID}-1-sandbox") -> None:
        self.bot_token, self.app_token = bot_token, app_token
        self.state = SlackState(team_id, bot_user_id, bot_id)
        self._seed()
        self.faults, self.log, self.file_store = Faults(), CallLog(), FileStore()
        self.responses = ResponseUrls(self.state)
        self.socket = SocketModeServer(app_id=APP_ID)
        self.backend = Backend(self.state, self.file_store, self.responses, self.faults, self.log, bot_token,
                               app_token=app_token, open_socket=self.socket.open_url)
        self.server = BackgroundServer(create_app(self.backend), port=port)
        self.sender = SlackSender(self.state, self.responses, signing_secret, self.url, self.socket)
        self.request_url = request_url

    def _seed(self) -> None:
        self.state.add_channel(INCIDENT_CHANNEL, "incidents")
        self.state.add_user(self.state.bot_user_id, "dataflow-bot", "DataFlow Bot", is_bot=True)
        self.state.add_user("U0ALICE", "alice", "Alice Nguyen")
        self.state.add_user("U0BOB", "bob", "Bob Tran")

    # -- lifecycle -------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        """http://127.0.0.1:PORT (no trailing slash)."""
        return self.server.url

    @property
    def api_url(self) -> str:
        """Ends in '/', as WebClient(base_url=...) needs (it urljoins the method name)."""
        return f"{self.server.url}/api/"

    @property
    def request_url(self) -> str | None:
        """The bot's /slack/events; may be set after construction (the bot often starts second)."""
        return self.sender.request_url

    @request_url.setter
    def request_url(self, value: str | None) -> None:
        self.sender.request_url = value

    @property
    def socket_mode(self) -> bool:
        """True: user actions go over the app's Socket Mode connection (unsigned), not to request_url."""
        return self.sender.socket_mode

    @socket_mode.setter
    def socket_mode(self, value: bool) -> None:
        self.sender.socket_mode = value

    def start(self) -> SlackEmulator:
        self.server.start()
        self.socket.start()
        return self

    def stop(self) -> None:
        self.socket.stop()
        self.server.stop()
        self.sender.http.close()

    def __enter__(self) -> SlackEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def reset(self) -> None:
        """Forget everything (messages, files, calls, faults, deliveries) and re-seed; keeps the server.

        Lets a test module share one running emulator: starting/stopping one costs ~0.5 s.
        """
        self.state.reset()
        self._seed()
        for part in (self.faults, self.log, self.file_store, self.responses, self.socket):
            part.clear()
        self.sender.clear()
        self.backend.limiter = None

    # -- workspace setup -------------------------------------------------------------------------
    def add_channel(self, channel_id: str, name: str) -> None:
        self.state.add_channel(channel_id, name)

    def add_user(self, user_id: str, name: str, real_name: str = "") -> None:
        self.state.add_user(user_id, name, real_name)

    def add_usergroup(self, group_id: str, handle: str, user_ids: list[str]) -> None:
        self.state.add_usergroup(group_id, handle, user_ids)

    def set_page_limits(self, default: int = 1000, maximum: int = 1000) -> None:
        """`limit` default and cap of conversations.history/replies; (15, 15) is Slack's 2025 Tier-1 rule."""
        self.state.default_limit, self.state.max_limit = default, maximum

    # -- faults ----------------------------------------------------------------------------------
    def inject(self, method: str, status: int = 429, retry_after: int | None = 1, error: str = "ratelimited",
               times: int = 1) -> None:
        """The next `times` calls of `method` answer HTTP `status` with {"ok": false, "error": error}."""
        self.faults.inject(method, status, retry_after, error, times)

    def set_latency(self, seconds: float, method: str | None = None) -> None:
        self.faults.set_latency(seconds, method)

    def clear_faults(self) -> None:
        self.faults.clear()

    # -- rate limits -----------------------------------------------------------------------------
    def enable_rate_limits(self, limiter: RateLimiter | None = None) -> RateLimiter:
        """From now on, answer as Slack does over its limits: 429 "ratelimited" with Retry-After.

        Off by default (tests that are not about limits would otherwise wait). `limiter` lets a test
        bring its own clock or limits; the limits are in bot/sandbox/slack_limits.py.
        """
        self.backend.limiter = limiter or RateLimiter()
        return self.backend.limiter

    def disable_rate_limits(self) -> None:
        self.backend.limiter = None

    def rate_limited(self, method: str | None = None) -> int:
        """How many calls (of `method`, or in all) the rate limiter answered 429."""
        return sum(1 for c in self.log.calls(method) if c.limited)

    # -- inspection ------------------------------------------------------------------------------
    def calls(self, method: str | None = None) -> list[RecordedCall]:
        """Web API calls received ("upload" and "response_url" for those URLs), oldest first."""
        return self.log.calls(method)

    def messages(self, channel: str = INCIDENT_CHANNEL) -> list[dict[str, Any]]:
        """Top-level messages (incl. replies broadcast to the channel), oldest first, with metadata."""
        return self.state.top_level(channel)

    def replies(self, channel: str, thread_ts: str) -> list[dict[str, Any]]:
        """Replies only (not the parent), oldest first; [] while the parent does not exist."""
        if self.state.get(channel, thread_ts) is None:
            return []
        return self.state.thread(channel, thread_ts)[1:]

    def message(self, channel: str, ts: str) -> dict[str, Any] | None:
        return self.state.get(channel, ts)

    def ephemerals(self, user: str | None = None) -> list[dict[str, Any]]:
        with self.state.lock:
            return [dict(e) for e in self.state.ephemerals if user is None or e["user"] == user]

    def response_posts(self) -> list[dict[str, Any]]:
        """Every body POSTed to a response_url (and slash-command answers), with its `user`."""
        return self.responses.posts()

    def files(self) -> list[dict[str, Any]]:
        """Uploaded files, with their bytes under "content"."""
        return self.file_store.all()

    def deliveries(self) -> list[Delivery]:
        """Every request sent to the bot (kind, body, event_id, HTTP status)."""
        with self.sender.lock:
            return list(self.sender.deliveries)

    def socket_connections(self) -> int:
        """How many Socket Mode connections are open now."""
        return self.socket.connections()

    def socket_acks(self) -> list[Ack]:
        """Every Socket Mode ack received, oldest first."""
        with self.socket.lock:
            return list(self.socket.acks)

    def render_thread(self, channel: str, ts: str) -> str:
        return render_thread(self.state, channel, ts)

    def wait_for(self, predicate: Callable[[], T | None], timeout: float = 10, what: str = "") -> T:
        """Poll `predicate` until it returns something truthy; AssertionError after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() >= deadline:
                name = what or getattr(predicate, "__name__", repr(predicate))
                raise AssertionError(f"wait_for: {name} still {value!r} after {timeout} s; "
                                     f"Web API calls so far: {[c.method for c in self.calls()]}")
            time.sleep(0.02)
