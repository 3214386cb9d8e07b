"""Nothing happens before a request is verified; a verified request delivered twice acts once.

The real bot process, the Slack emulator, and a Redis server of the test's own with keyspace
notifications on, so that "no Redis write" is observed, not assumed.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
import redis

from bot.sandbox.slack_emulator import SlackEmulator
from bot.sandbox.slack_responses import ResponseTarget
from tests.e2e.conftest import OwnRedis
from tests.harness import CHANNEL, SIGNING_SECRET, BotProcess

FORM = "application/x-www-form-urlencoded"
MARKER = "FORGED-BODY-MARKER-7c1e"


class WriteWatch:
    """Every key event Redis reports (set, xadd, hset, expire, del, ...) while it runs."""

    def __init__(self, url: str) -> None:
        self.client = redis.Redis.from_url(url)  # kept: its pool is the pubsub's
        self.client.config_set("notify-keyspace-events", "KEA")
        self.pubsub = self.client.pubsub()
        self.pubsub.psubscribe("__keyevent@*__:*")
        self.events: list[tuple[str, str]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            msg = self.pubsub.get_message(timeout=0.1)
            if msg and msg["type"] == "pmessage":
                self.events.append((msg["channel"].decode().rsplit(":", 1)[1], msg["data"].decode()))

    def writes(self) -> list[tuple[str, str]]:
        return list(self.events)

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.pubsub.close()
        self.client.close()


@pytest.fixture
def watched(own_redis: OwnRedis, start_bot: Callable[..., BotProcess]) -> Iterator[tuple[BotProcess, WriteWatch]]:
    bot = start_bot(REDIS_URL=own_redis.url)
    time.sleep(0.5)  # the bot's own start-up writes (consumer group, backfill) are done
    watch = WriteWatch(own_redis.url)
    yield bot, watch
    watch.close()


def _raw_post(port: int, body: bytes, headers: list[tuple[str, str]]) -> tuple[int, bytes]:
    """http.client sends header values as given (httpx refuses white space around them)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.putrequest("POST", "/slack/events")
    for name, value in [*headers, ("Content-Length", str(len(body)))]:
        conn.putheader(name, value)
    conn.endheaders(body)
    resp = conn.getresponse()
    answer = resp.read()
    conn.close()
    return resp.status, answer


def _command_body(slack: SlackEmulator, user: str = "U0EVE") -> bytes:
    target = slack.sender.response_url(ResponseTarget(user=user, channel=CHANNEL))
    return urlencode({"command": "/dataflow", "text": f"incidents {MARKER} <!channel>", "user_id": user,
                      "channel_id": CHANNEL, "response_url": target, "trigger_id": "1.2.3"}).encode()


def _event_body() -> bytes:
    return json.dumps({"type": "event_callback", "event_id": "EvFORGED1", "event": {
        "type": "app_mention", "user": "U0EVE", "channel": CHANNEL, "text": f"<@U0BOT> help {MARKER}",
        "ts": "1.0"}}).encode()


def _signed(body: bytes, ts: str) -> str:
    from slack_sdk.signature import SignatureVerifier

    return str(SignatureVerifier(SIGNING_SECRET).generate_signature(timestamp=ts, body=body))


def _variants(body: bytes) -> list[tuple[str, list[tuple[str, str]], bytes]]:
    now = str(int(time.time()))
    good = _signed(body, now)
    return [
        ("no headers", [], body),
        ("timestamp only", [("X-Slack-Request-Timestamp", now)], body),
        ("signature only", [("X-Slack-Signature", good)], body),
        ("non-numeric", [("X-Slack-Request-Timestamp", "abc"), ("X-Slack-Signature", _signed(body, "abc"))], body),
        ("negative", [("X-Slack-Request-Timestamp", "-5"), ("X-Slack-Signature", _signed(body, "-5"))], body),
        ("huge", [("X-Slack-Request-Timestamp", "9" * 30), ("X-Slack-Signature", _signed(body, "9" * 30))], body),
        ("float", [("X-Slack-Request-Timestamp", now + ".25"), ("X-Slack-Signature", _signed(body, now + ".25"))],
         body),
        # (white space around a value is not part of it in HTTP: the server strips it; inside, it is)
        ("white space", [("X-Slack-Request-Timestamp", f"{now[:5]} {now[5:]}"), ("X-Slack-Signature", good)], body),
        ("duplicated timestamp", [("X-Slack-Request-Timestamp", now), ("X-Slack-Request-Timestamp", now),
                                  ("X-Slack-Signature", good)], body),
        ("duplicated signature", [("X-Slack-Request-Timestamp", now), ("X-Slack-Signature", good),
                                  ("X-Slack-Signature", good)], body),
        ("wrong scheme", [("X-Slack-Request-Timestamp", now), ("X-Slack-Signature", "v1=" + good[3:])], body),
        ("empty values", [("X-Slack-Request-Timestamp", ""), ("X-Slack-Signature", "")], body),
        ("stale", [("X-Slack-Request-Timestamp", str(int(now) - 400)),
                   ("X-Slack-Signature", _signed(body, str(int(now) - 400)))], body),
        ("tampered body", [("X-Slack-Request-Timestamp", now), ("X-Slack-Signature", good)], body + b"&x=1"),
        ("empty body", [("X-Slack-Request-Timestamp", now), ("X-Slack-Signature", good)], b""),
    ]


@pytest.mark.parametrize("kind", ["command", "event"])
def test_forged_requests_get_401_with_no_call_no_write_no_log(
        kind: str, watched: tuple[BotProcess, WriteWatch], slack: SlackEmulator) -> None:
    bot, watch = watched
    body = _command_body(slack) if kind == "command" else _event_body()
    content_type = FORM if kind == "command" else "application/json"
    calls_before = len(slack.calls())
    for name, headers, sent in _variants(body):
        status, answer = _raw_post(bot.port, sent, [("Content-Type", content_type), *headers])
        assert status == 401, name
        assert json.loads(answer)["error"] == "unauthorized", name
    time.sleep(1.0)  # room for a wrongly accepted request to act; then check that nothing did
    assert slack.calls()[calls_before:] == []
    assert slack.ephemerals("U0EVE") == []
    assert watch.writes() == []
    slack.slash_command("U0ALICE", "help")  # the control: a verified request is seen writing its replay key
    assert any(key.startswith("dfo:seen:slack-request:") for _, key in
               slack.wait_for(watch.writes, what="the replay key of a verified request"))
    bot.stop()
    assert MARKER not in bot.logs()
    assert "refused a Slack request that is not correctly signed" in bot.logs()


def _deliver_twice(slack: SlackEmulator, body: bytes, content_type: str) -> tuple[httpx.Response, httpx.Response]:
    headers = slack.sender.headers(body, content_type)
    first = slack.sender.send("replayed", body, content_type, headers=dict(headers))
    second = slack.sender.send("replayed", body, content_type, headers=dict(headers))
    return first, second


def _audit(r: Any) -> list[dict[str, str]]:
    return [fields for _, fields in r.xrange("dfo:audit")]


def test_a_replayed_command_acts_once_and_is_audited(bot: BotProcess, slack: SlackEmulator,
                                                    redis_client: Any) -> None:
    body = urlencode({"command": "/dataflow", "text": "incidents", "user_id": "U0ALICE", "channel_id": CHANNEL,
                      "response_url": slack.sender.response_url(ResponseTarget(user="U0ALICE", channel=CHANNEL)),
                      "trigger_id": "1.2.3"}).encode()
    first, second = _deliver_twice(slack, body, FORM)
    assert first.status_code == second.status_code == 200
    assert second.content == b""                      # the replay: nothing done, nothing said
    slack.wait_for(lambda: slack.calls("response_url"), what="the answer to the first delivery")
    time.sleep(1.0)
    assert len(slack.calls("response_url")) == 1
    replays = [a for a in _audit(redis_client) if a["event"] == "replay-refused"]
    assert len(replays) == 1
    assert replays[0]["user"] == "U0ALICE" and "incidents" in replays[0]["what"]


def test_a_replayed_event_acts_once_and_a_slack_retry_still_passes(bot: BotProcess, slack: SlackEmulator,
                                                                  redis_client: Any) -> None:
    slack.mention("U0BOB", CHANNEL, "help")
    slack.wait_for(lambda: slack.ephemerals("U0BOB"))
    original = slack.deliveries()[-1]
    # Signed at another second than the original delivery: the first send is new to the gate (the event_id
    # dedupe answers it), the second is the replay.
    headers = slack.sender.headers(original.body, original.content_type, timestamp=int(time.time()) - 10)
    for _ in range(2):
        assert slack.sender.send("event", original.body, original.content_type, headers=dict(headers)).status_code == 200
    retry = dict(headers, **{"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"})
    assert slack.sender.send("event", original.body, original.content_type, headers=retry).status_code == 200
    time.sleep(0.5)
    assert len(slack.ephemerals("U0BOB")) == 1
    replays = [a for a in _audit(redis_client) if a["event"] == "replay-refused"]
    assert len(replays) == 1 and replays[0]["what"] == "event app_mention"


def test_socket_mode_bot_refuses_http_slack_requests(redis_url: str) -> None:
    from bot.app import build_app
    from bot.config import Settings
    from bot.deps import build_deps
    from tests.harness import REPO

    settings = Settings(slack_bot_token="xoxb-test", slack_app_token="xapp-1-A1-2-abc", incident_channel=CHANNEL,
                        redis_url=redis_url, pipeline_file=REPO / "config" / "pipelines.yml",
                        _env_file=None)  # type: ignore[call-arg]
    client = build_app(settings, build_deps(settings)).test_client()
    resp = client.post("/slack/events", data=_event_body(), content_type="application/json")
    assert resp.status_code == 404
    assert "Socket Mode" in resp.get_json()["reason"]
