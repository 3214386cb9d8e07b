"""The incident day at the worker's level, against real Redis and the Slack emulator over HTTP: 429s are
waited out (never a failure, never a dead letter), the alert worker never waits for a backend, a flood of
alerts is one thread line, and an upload is never made twice. Counts and orders, not timings."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from bot.deps import Deps
from bot.incidents.enrich_queue import enrich_consumer
from bot.incidents.poster import ThreadPoster
from bot.incidents.root_editor import edit_root
from bot.metrics import SLACK_RATE_LIMITED
from bot.sandbox.slack_emulator import SlackEmulator
from bot.slack_pacing import RateGate
from bot.store import DEAD_STREAM
from tests.e2e.alerting import alert
from tests.e2e.test_alert_intake import roots
from tests.harness import CHANNEL
from tests.incidents.test_worker import (
    enqueue,
    next_entries,
    pending,
    process_entry,
    thread_texts,
    worker_deps,
)
from tests.postmortem import conftest as shared

slack, make_deps = shared.slack, shared.make_deps
__all__ = ["worker_deps"]          # the fixture, shared with test_worker.py
DRIFT = alert("SchemaDriftDetected", table="oltp.orders")


@pytest.fixture
def unpaced(worker_deps: Callable[..., Deps]) -> Callable[..., Deps]:
    """Worker deps whose Slack budgets refill at once: a 429's Retry-After is still waited out, but the
    test does not also wait out Slack's pace after it (tests/foundation/test_slack_pacing.py covers that)."""

    def make(**settings: Any) -> Deps:
        deps = worker_deps(**settings)
        deps.slack.gate = RateGate(shape=lambda _key: (1000.0, 1000.0))  # type: ignore[attr-defined]
        return deps

    return make


def run_next(deps: Deps) -> str:
    [(entry, fields)] = next_entries(deps, "w1")
    process_entry(deps, entry, fields)
    return entry


def rate_limited(method: str) -> float:
    return SLACK_RATE_LIMITED.labels(method)._value.get()


def test_twenty_429s_in_a_row_delay_the_root_but_it_lands_once(unpaced: Callable[..., Deps],
                                                               slack: SlackEmulator) -> None:
    deps = unpaced()
    before = rate_limited("chat.postMessage")
    slack.inject("chat.postMessage", status=429, retry_after=0, times=20)
    enqueue(deps, DRIFT)
    run_next(deps)
    assert len(roots(slack)) == 1 and pending(deps) == [] and deps.store.r.xlen(DEAD_STREAM) == 0
    assert rate_limited("chat.postMessage") - before == 20
    assert len(slack.calls("chat.postMessage")) == 21


def test_twenty_429s_on_the_look_up_before_a_retried_post(unpaced: Callable[..., Deps],
                                                         slack: SlackEmulator) -> None:
    deps = unpaced()
    enqueue(deps, DRIFT)
    run_next(deps)
    inc = deps.store.incidents(CHANNEL)[0]
    deps.store.mark_attempt(inc.id, "note")          # an earlier attempt died: the retry looks first
    slack.inject("conversations.history", status=429, retry_after=0, times=20)
    ThreadPoster(deps).post_once(inc, "note", None, "a note", None)
    assert [m["text"] for m in slack.messages(CHANNEL) if m["text"] == "a note"] == ["a note"]
    assert len(slack.calls("conversations.history")) == 21


def test_twenty_429s_on_edits_ephemerals_and_uploads_are_waited_out(unpaced: Callable[..., Deps],
                                                                    slack: SlackEmulator) -> None:
    deps = unpaced()
    enqueue(deps, DRIFT)
    run_next(deps)
    inc = deps.store.incidents(CHANNEL)[0]
    for method in ("chat.update", "chat.postEphemeral", "files.getUploadURLExternal",
                   "files.completeUploadExternal"):
        slack.inject(method, status=429, retry_after=0, times=20)
    edit_root(deps, inc.id)
    deps.slack.chat_postEphemeral(channel=CHANNEL, user="U0ALICE", text="refused: you asked for this step")
    ThreadPoster(deps).upload_once(inc, "trace:file", "connector-trace.txt", "java.lang.Exception: boom")
    assert len(slack.calls("chat.update")) == 21 and len(slack.calls("chat.postEphemeral")) == 21
    assert [f["name"] for m in slack.replies(CHANNEL, inc.root_ts or "") for f in m.get("files") or []] == [
        "connector-trace.txt"]


def test_a_flood_of_alerts_in_one_notification_is_one_thread_line(unpaced: Callable[..., Deps],
                                                                   slack: SlackEmulator) -> None:
    deps = unpaced()
    enqueue(deps, DRIFT)
    run_next(deps)
    flood = [alert(f"RowCheckFailed{i:04d}", table="oltp.orders") for i in range(1000)]
    enqueue(deps, DRIFT, *flood)
    run_next(deps)
    [root] = roots(slack)
    [line] = thread_texts(slack, root["ts"])
    assert line.startswith(":fire: 1000 more alerts firing:") and "…and 980 more" in line
    assert line.count("\n• ") == 20


@pytest.fixture
def hung_connect() -> Iterator[tuple[str, list[socket.socket]]]:
    """A Kafka Connect that accepts connections and never answers."""
    server = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}", accepted
    stop.set()
    thread.join(2)
    for conn in accepted:
        conn.close()
    server.close()


def test_the_alert_worker_never_asks_a_backend(unpaced: Callable[..., Deps], slack: SlackEmulator,
                                               hung_connect: tuple[str, list[Any]]) -> None:
    url, accepted = hung_connect
    deps = unpaced(connect_url=url, enrich_timeout_seconds=1.0)
    enqueue(deps, DRIFT)
    run_next(deps)
    enqueue(deps, alert("DiskAlmostFull", instance="db-1"))     # the next incident, another pipeline
    run_next(deps)
    assert len(roots(slack)) == 2 and accepted == []             # two roots, and nobody called Connect
    consumer = enrich_consumer(deps)
    consumer.ensure_group(deps.store.r)
    for entry, fields in consumer.next_entries(deps.store.r, "e1") + consumer.next_entries(deps.store.r, "e1"):
        consumer.process(deps.store.r, entry, fields)
    drift_root = next(r for r in roots(slack) if "SchemaDrift" in r["text"])
    assert len(accepted) >= 1 and any("Kafka Connect" in t and "timed out" in t
                                      for t in thread_texts(slack, drift_root["ts"]))


def test_an_upload_that_slack_completed_before_a_crash_is_found_not_made_again(
        unpaced: Callable[..., Deps], slack: SlackEmulator) -> None:
    deps = unpaced()
    enqueue(deps, DRIFT)
    run_next(deps)
    inc = deps.store.incidents(CHANNEL)[0]
    # The first attempt: marked, uploaded by Slack, then the process died before recording it.
    deps.store.mark_attempt(inc.id, "trace:file")
    deps.slack.files_upload_v2(channel=CHANNEL, thread_ts=inc.root_ts, filename="trace.txt", title="trace.txt",
                               content="java.lang.Exception: boom")
    ThreadPoster(deps).upload_once(inc, "trace:file", "trace.txt", "java.lang.Exception: boom")
    ThreadPoster(deps).upload_once(inc, "trace:file", "trace.txt", "java.lang.Exception: boom")
    files = [f["name"] for m in slack.replies(CHANNEL, inc.root_ts or "") for f in m.get("files") or []]
    assert files == ["trace.txt"] and deps.store.post_ts(inc.id, "trace:file")
