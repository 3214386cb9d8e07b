"""The alert worker against real Redis (the stream, its consumer group) and the Slack emulator over HTTP:
ack after the Slack side, retry by another worker, dead-letter, and one thread per incident whatever the
repeats, redeliveries and concurrent workers."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from bot.deps import Deps
from bot.incidents.enrich_queue import enrich_consumer, enrich_worker
from bot.incidents.intake import enqueue_notification
from bot.incidents.payload import AMNotification
from bot.incidents.worker import (
    ATTEMPTS,
    alert_worker,
    ensure_group,
    handle_notification,
    next_entries,
    process_entry,
)
from bot.sandbox.slack_emulator import SlackEmulator
from bot.store import ALERT_STREAM, DEAD_STREAM, ENRICH_GROUP, ENRICH_STREAM, WORKER_GROUP
from tests.e2e.alerting import alert
from tests.e2e.test_alert_intake import roots
from tests.harness import BOT_TOKEN, CHANNEL
from tests.incidents.test_fold import DRIFT, parsed
from tests.postmortem import conftest as shared

# The emulator, and Deps on real Redis wired to it (tests/postmortem/conftest.py).
slack, make_deps = shared.slack, shared.make_deps
CONNECTOR = alert("ConnectorTaskFailed", connector="mysql-oltp-orders")   # the same pipeline as DRIFT
DISK = alert("DiskAlmostFull", instance="db-1")                          # no pipeline: an incident of its own
Entry = tuple[str, dict[str, str]]


@pytest.fixture
def worker_deps(make_deps: Callable[..., Deps], slack: SlackEmulator) -> Callable[..., Deps]:
    """Deps of one worker; enrichment asks nothing slow (Docker refuses at once, the rest is not configured)."""

    def make(**settings: Any) -> Deps:
        deps = make_deps(slack_bot_token=BOT_TOKEN, slack_api_url=slack.api_url, incident_channel=CHANNEL,
                         docker_host="tcp://127.0.0.1:9", **settings)
        ensure_group(deps.store.r)
        return deps

    return make


def enqueue(deps: Deps, *alerts: dict[str, Any]) -> str:
    return enqueue_notification(deps.store, parsed(*alerts))


def pending(deps: Deps) -> list[str]:
    return [str(p["message_id"]) for p in deps.store.r.xpending_range(ALERT_STREAM, WORKER_GROUP, "-", "+", 100)]


def claim(deps: Deps, consumer: str) -> list[Entry]:
    """What `consumer` gets once the pending entries have been idle for WORKER_CLAIM_IDLE_SECONDS."""
    idle_ms = deps.settings.worker_claim_idle_seconds * 1000
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        found = deps.store.r.xpending_range(ALERT_STREAM, WORKER_GROUP, "-", "+", 100)
        if found and all(p["time_since_delivered"] > idle_ms for p in found):
            return next_entries(deps, consumer)
        time.sleep(0.01)
    raise AssertionError("the pending entries never became claimable")


def thread_texts(slack: SlackEmulator, root_ts: str) -> list[str]:
    return [m["text"] for m in slack.replies(CHANNEL, root_ts)]


def test_an_entry_is_acked_once_its_slack_side_is_done(worker_deps: Callable[..., Deps],
                                                       slack: SlackEmulator) -> None:
    deps = worker_deps()
    entry = enqueue(deps, DRIFT)
    [(got, fields)] = next_entries(deps, "w1")
    assert got == entry and pending(deps) == [entry]          # delivered, not acked yet
    process_entry(deps, got, fields)
    assert pending(deps) == [] and not deps.store.r.hexists(ATTEMPTS, entry)
    [root] = roots(slack)
    assert root["text"].startswith("[FIRING] INC-1 SchemaDriftDetected")
    assert thread_texts(slack, root["ts"]) == []          # the backends are asked by the enrichment workers
    enrich_consumer(deps).ensure_group(deps.store.r)
    [(queued, job)] = enrich_consumer(deps).next_entries(deps.store.r, "e1")
    assert job == {"incident": "INC-1", "entry": entry}
    enrich_consumer(deps).process(deps.store.r, queued, job)
    texts = "\n".join(thread_texts(slack, root["ts"]))
    assert all(name in texts for name in ("Kafka Connect", "Flink", "MySQL", "Docker"))
    assert thread_texts(slack, root["ts"])[-1].split("\n\n")[-1].startswith(":link: *Links*: <http://prometheus:9090/graph")


def test_a_failed_entry_stays_pending_and_another_worker_finishes_it(worker_deps: Callable[..., Deps],
                                                                    slack: SlackEmulator) -> None:
    deps = worker_deps(worker_claim_idle_seconds=0.05)
    entry = enqueue(deps, DRIFT)
    slack.inject("chat.postMessage", status=200, retry_after=None, error="internal_error")   # the root fails
    [(got, fields)] = next_entries(deps, "w1")
    process_entry(deps, got, fields)                          # logged, not raised: the loop carries on
    assert pending(deps) == [entry] and deps.store.r.hget(ATTEMPTS, entry) == "1" and roots(slack) == []
    [(again, fields)] = claim(deps, "w2")
    assert again == entry
    process_entry(deps, again, fields)
    assert pending(deps) == [] and not deps.store.r.hexists(ATTEMPTS, entry)
    assert len(roots(slack)) == 1


def test_an_entry_failing_every_attempt_is_dead_lettered_and_reported(worker_deps: Callable[..., Deps],
                                                                      slack: SlackEmulator) -> None:
    deps = worker_deps(worker_claim_idle_seconds=0.05, worker_max_attempts=2)
    entry = enqueue(deps, DRIFT)
    [original] = deps.store.r.xrange(ALERT_STREAM)
    slack.inject("chat.postMessage", status=200, retry_after=None, error="fatal_error", times=2)
    process_entry(deps, *next_entries(deps, "w1")[0])
    for consumer in ("w2", "w3"):                             # the 2nd attempt, then one too many
        assert pending(deps) == [entry]
        process_entry(deps, *claim(deps, consumer)[0])
    assert pending(deps) == [] and not deps.store.r.hexists(ATTEMPTS, entry)
    [(_id, dead)] = deps.store.r.xrange(DEAD_STREAM)
    assert dead == {**original[1], "original_id": entry, "reason": "failed 2 times"}
    [report] = slack.messages(CHANNEL)                        # no root: only the report
    assert "could not be processed after 2 attempts" in report["text"] and entry in report["text"]
    assert DEAD_STREAM in report["text"]


def test_a_malformed_entry_is_dead_lettered_even_with_slack_down(worker_deps: Callable[..., Deps],
                                                                 slack: SlackEmulator) -> None:
    deps = worker_deps(worker_claim_idle_seconds=0.05, worker_max_attempts=1)
    entry = str(deps.store.r.xadd(ALERT_STREAM, {"payload": '{"alerts": "not a list"'}))
    slack.inject("chat.postMessage", status=200, retry_after=None, error="internal_error", times=100)
    process_entry(deps, *next_entries(deps, "w1")[0])
    assert pending(deps) == [entry]
    process_entry(deps, *claim(deps, "w2")[0])                # the report fails: the entry is safe anyway
    assert pending(deps) == [] and [f["original_id"] for _id, f in deps.store.r.xrange(DEAD_STREAM)] == [entry]
    assert deps.store.incidents(CHANNEL) == [] and slack.messages(CHANNEL) == []
    assert len(slack.calls("chat.postMessage")) == 1


def test_a_redelivered_entry_posts_nothing_twice(worker_deps: Callable[..., Deps], slack: SlackEmulator) -> None:
    deps = worker_deps()
    enqueue(deps, DRIFT)
    joined = enqueue(deps, DRIFT, CONNECTOR)
    [first], [second] = next_entries(deps, "w1"), next_entries(deps, "w1")
    process_entry(deps, *first)
    assert second[0] == joined
    # The worker did its Slack side, then died before its ack: the entry is delivered again.
    handle_notification(deps, AMNotification.model_validate_json(second[1]["payload"]), joined)
    [root] = roots(slack)
    before = slack.replies(CHANNEL, root["ts"])
    process_entry(deps, *second)
    assert pending(deps) == [] and len(slack.messages(CHANNEL)) == 1
    assert slack.replies(CHANNEL, root["ts"]) == before
    assert sum("ConnectorTaskFailed" in t for t in thread_texts(slack, root["ts"])) == 1


def test_concurrent_workers_open_one_thread_per_incident(worker_deps: Callable[..., Deps], slack: SlackEmulator,
                                                         redis_client: Any) -> None:
    """Three workers (each its own Redis connections, as replicas) and a claim timeout shorter than the work:
    entries are taken over while still being processed, so the same entry runs on two workers at once."""
    workers = [worker_deps(worker_claim_idle_seconds=0.1) for _ in range(3)]
    slack.set_latency(0.1, "chat.postMessage")   # each open outlasts the claim timeout
    stop = threading.Event()
    threads = [threading.Thread(target=loop, args=(deps, stop, f"w{i}")) for i, deps in enumerate(workers)
               for loop in (alert_worker, enrich_worker)]
    enqueue(workers[0], DRIFT)
    for t in threads:
        t.start()
    try:
        entries = [enqueue(workers[0], *alerts) for alerts in
                   ((DRIFT,), (DRIFT, CONNECTOR), (DISK,), (DRIFT, CONNECTOR), (DISK,), (CONNECTOR,))]
        slack.wait_for(lambda: done(redis_client, entries[-1]), timeout=15, what="every entry acked")
        slack.wait_for(lambda: enrich_done(redis_client), timeout=15, what="every enrichment done")
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=5)
    assert not any(t.is_alive() for t in threads)
    by_incident = {m["metadata"]["event_payload"]["incident_id"]: m for m in roots(slack)}
    assert sorted(by_incident) == ["INC-1", "INC-2"] and len(slack.messages(CHANNEL)) == 2
    [orders] = [i for i in workers[0].store.incidents(CHANNEL) if i.pipeline == "orders"]
    assert orders.notifications == 5 and orders.root_ts == by_incident[orders.id]["ts"]
    for incident_id, root in by_incident.items():
        kinds = Counter(m["metadata"]["event_payload"]["kind"] for m in slack.replies(CHANNEL, root["ts"]))
        assert kinds and max(kinds.values()) == 1, (incident_id, kinds)    # every line once
        assert all(m["metadata"]["event_payload"]["incident_id"] == incident_id
                   for m in slack.replies(CHANNEL, root["ts"]))
    joined = [t for t in thread_texts(slack, orders.root_ts or "") if "ConnectorTaskFailed" in t]
    assert len(joined) == 1


def enrich_done(r: Any) -> bool:
    group = next((g for g in r.xinfo_groups(ENRICH_STREAM) if g["name"] == ENRICH_GROUP), None)
    return bool(group and group["pending"] == 0 and group["lag"] == 0)


def done(r: Any, last: str) -> bool:
    group = next(g for g in r.xinfo_groups(ALERT_STREAM) if g["name"] == WORKER_GROUP)
    return bool(group["last-delivered-id"] == last and group["pending"] == 0)
