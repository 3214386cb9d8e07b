"""ThreadPoster against real Redis and the Slack emulator over HTTP: each (incident, kind) is posted once,
across repeats, concurrent posters, Slack errors and an attempt whose answer never came back."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Any

import pytest
from slack_sdk.errors import SlackApiError

from bot.blocks.incident import incident_metadata
from bot.deps import Deps
from bot.incidents.poster import ThreadPoster
from bot.incidents.root_editor import edit_root
from bot.incidents.root_edits import claim_root_edit, due_roots, mark_edited, request_root_edit
from bot.models import Incident
from bot.sandbox.slack_emulator import SlackEmulator
from bot.slack_client import build_web_client
from bot.store import LockNotAcquired
from tests.e2e.alerting import alert
from tests.e2e.slow_slack import SlowAnswers
from tests.harness import BOT_TOKEN, CHANNEL
from tests.incidents.test_fold import DRIFT, fold, resolved
from tests.postmortem import conftest as shared
from tests.runbooks.test_step_run import together

# The emulator, and Deps on real Redis wired to it (tests/postmortem/conftest.py).
slack, make_deps, slack_deps = shared.slack, shared.make_deps, shared.slack_deps


def opened(deps: Deps, *alerts: dict[str, Any]) -> Incident:
    """A real incident, folded from a notification now (the root lookback depends on opened_at)."""
    [first] = fold(deps.store, "1-0", *(alerts or (DRIFT,)), now=time.time())
    return first.incident


def stored(deps: Deps, inc: Incident) -> Incident:
    current = deps.store.incident(inc.id)
    assert current is not None
    return current


def metadata(message: dict[str, Any] | None) -> dict[str, Any]:
    return dict(((message or {}).get("metadata") or {}).get("event_payload") or {})


def bot_posts(deps: Deps, inc: Incident) -> list[str]:
    return [e.source_id for e in deps.store.events(inc.id) if e.kind == "bot_post"]


# -- the root ---------------------------------------------------------------------------------------------
def test_the_root_is_posted_once_with_its_metadata_and_its_ts_kept(slack_deps: Deps, slack: SlackEmulator) -> None:
    inc = opened(slack_deps)
    stale = inc.model_copy()                                 # a copy read before the root existed
    ts = ThreadPoster(slack_deps).ensure_root(inc)
    assert inc.root_ts == ts
    assert ThreadPoster(slack_deps).ensure_root(stale) == ts  # another worker, another entry of the incident
    [root] = slack.messages(CHANNEL)
    assert root["ts"] == ts and root["text"].startswith(f"[FIRING] {inc.id}")
    assert metadata(root) == {"incident_id": inc.id, "kind": "root"}
    assert stored(slack_deps, inc).root_ts == ts
    assert slack_deps.store.incident_for_thread(CHANNEL, ts).id == inc.id  # type: ignore[union-attr]
    assert bot_posts(slack_deps, inc) == []                  # the opening is recorded by publish, not here


def test_storing_the_root_ts_keeps_what_a_concurrent_fold_wrote(slack_deps: Deps, slack: SlackEmulator) -> None:
    inc = opened(slack_deps)
    fold(slack_deps.store, "2-0", DRIFT, alert("ConnectorTaskFailed", connector="mysql-oltp-orders"),
         now=time.time())                                    # folded while the root was being posted
    ts = ThreadPoster(slack_deps).ensure_root(inc)
    current = stored(slack_deps, inc)
    assert current.root_ts == ts and current.notifications == 2 and len(current.alerts) == 2


# -- thread replies ---------------------------------------------------------------------------------------
def test_each_kind_is_posted_once_in_the_thread_and_recorded_once(slack_deps: Deps, slack: SlackEmulator) -> None:
    inc = opened(slack_deps)
    poster = ThreadPoster(slack_deps)
    first = poster.reply(inc, "enrich:connect:0:1-0", "Connect says hello")
    calls = len(slack.calls())
    assert poster.reply(inc, "enrich:connect:0:1-0", "Connect says hello") == first
    assert ThreadPoster(slack_deps).reply(stored(slack_deps, inc), "enrich:connect:0:1-0", "again") == first
    assert len(slack.calls()) == calls                       # a recorded post costs no Slack call
    second = poster.reply(inc, "enrich:flink:0:1-0", "Flink says hello")
    assert [m["text"] for m in slack.messages(CHANNEL)] == [f"[FIRING] {inc.id} {inc.title}"]
    replies = slack.replies(CHANNEL, inc.root_ts or "")
    assert [(m["ts"], m["text"]) for m in replies] == [(first, "Connect says hello"), (second, "Flink says hello")]
    assert [metadata(m)["kind"] for m in replies] == ["enrich:connect:0:1-0", "enrich:flink:0:1-0"]
    assert sorted(bot_posts(slack_deps, inc)) == ["post:enrich:connect:0:1-0", "post:enrich:flink:0:1-0"]


def test_concurrent_posters_of_one_kind_make_one_message(slack_deps: Deps, slack: SlackEmulator) -> None:
    inc = opened(slack_deps)
    slack.set_latency(0.1, "chat.postMessage")               # each post is in flight while the others arrive
    roots = together(4, lambda _i: ThreadPoster(slack_deps).ensure_root(inc.model_copy()))
    lines = together(4, lambda i: ThreadPoster(slack_deps).reply(inc.model_copy(), "firing:abc", f"line {i}"))
    assert len(set(roots)) == 1 and len(set(lines)) == 1
    assert len(slack.messages(CHANNEL)) == 1 and len(slack.replies(CHANNEL, roots[0])) == 1
    assert len(slack.calls("chat.postMessage")) == 2
    # The others waited for the lock, then took the recorded ts: no search of the history either.
    assert slack.calls("conversations.history") == [] and slack.calls("conversations.replies") == []


# -- an attempt that died between posting and recording -----------------------------------------------------
def test_a_root_whose_answer_never_came_back_is_found_by_its_metadata(slack_deps: Deps,
                                                                     slack: SlackEmulator) -> None:
    inc = opened(slack_deps)

    def slow(method: str, body: bytes) -> bool:
        return method == "chat.postMessage"

    with SlowAnswers(slack.api_url, 1.5, slow) as proxy:
        # Slack stores the root, but its answer comes after the client gave up (a 1 s timeout).
        impatient = dataclasses.replace(slack_deps, slack=build_web_client(BOT_TOKEN, proxy.api_url,
                                                                           slack_deps.redactor, timeout=1))
        with pytest.raises(TimeoutError):
            ThreadPoster(impatient).ensure_root(inc)
    assert slack_deps.store.post_ts(inc.id, "root") is None and stored(slack_deps, inc).root_ts is None
    [lost] = slack.messages(CHANNEL)
    assert ThreadPoster(slack_deps).ensure_root(stored(slack_deps, inc)) == lost["ts"]   # the retry
    assert stored(slack_deps, inc).root_ts == lost["ts"] and len(slack.calls("chat.postMessage")) == 1


def test_a_lost_post_is_found_beyond_the_first_page(slack_deps: Deps, slack: SlackEmulator) -> None:
    """Slack's Tier-1 paging (15 per page): the lost message is several pages away from the first one."""
    slack.set_page_limits(15, 15)
    inc = opened(slack_deps)
    root = slack_deps.slack.chat_postMessage(channel=CHANNEL, text="root", metadata=incident_metadata(inc.id, "root"))
    slack_deps.store.mark_attempt(inc.id, "root")            # what an attempt that died after posting leaves
    for i in range(40):                                      # history is newest first: the root is on page 3
        slack_deps.slack.chat_postMessage(channel=CHANNEL, text=f"chatter {i}")
    assert ThreadPoster(slack_deps).ensure_root(stored(slack_deps, inc)) == root["ts"]
    poster = ThreadPoster(slack_deps)
    for i in range(40):                                      # replies are oldest first: the line is on page 3
        poster.reply(inc, f"line:{i}", f"line {i}")
    lost = slack_deps.slack.chat_postMessage(channel=CHANNEL, thread_ts=root["ts"], text="lost",
                                             metadata=incident_metadata(inc.id, "lost"))
    slack_deps.store.mark_attempt(inc.id, "lost")
    assert poster.reply(inc, "lost", "lost") == lost["ts"]
    assert len(slack.messages(CHANNEL)) == 41 and len(slack.replies(CHANNEL, root["ts"])) == 41


# -- Slack errors -------------------------------------------------------------------------------------------
def test_a_slack_error_records_nothing_and_the_next_attempt_posts_once(slack_deps: Deps,
                                                                      slack: SlackEmulator) -> None:
    inc = opened(slack_deps)
    ThreadPoster(slack_deps).ensure_root(inc)
    slack.inject("chat.postMessage", status=200, retry_after=None, error="internal_error")
    with pytest.raises(SlackApiError):
        ThreadPoster(slack_deps).reply(inc, "firing:abc", "a line")
    assert slack_deps.store.post_ts(inc.id, "firing:abc") is None and bot_posts(slack_deps, inc) == []
    assert not slack_deps.store.r.exists(f"dfo:lock:post:{inc.id}:firing:abc")   # released for the retry
    ts = ThreadPoster(slack_deps).reply(inc, "firing:abc", "a line")
    assert [m["ts"] for m in slack.replies(CHANNEL, inc.root_ts or "")] == [ts]
    assert bot_posts(slack_deps, inc) == ["post:firing:abc"]


def test_a_rate_limited_post_is_retried_by_the_client_and_lands_once(slack_deps: Deps,
                                                                    slack: SlackEmulator) -> None:
    inc = opened(slack_deps)
    slack.inject("chat.postMessage", status=429, retry_after=0)
    ts = ThreadPoster(slack_deps).ensure_root(inc)
    assert [m["ts"] for m in slack.messages(CHANNEL)] == [ts] and len(slack.calls("chat.postMessage")) == 2


def test_a_failing_search_for_an_earlier_attempt_posts_nothing(slack_deps: Deps, slack: SlackEmulator) -> None:
    inc = opened(slack_deps)
    ThreadPoster(slack_deps).ensure_root(inc)
    slack.inject("chat.postMessage", status=200, retry_after=None, error="internal_error")
    with pytest.raises(SlackApiError):
        ThreadPoster(slack_deps).reply(inc, "firing:abc", "a line")
    slack.inject("conversations.replies", status=200, retry_after=None, error="internal_error")
    with pytest.raises(SlackApiError):                      # it cannot tell whether the line is there
        ThreadPoster(slack_deps).reply(inc, "firing:abc", "a line")
    assert len(slack.calls("chat.postMessage")) == 2        # the root and the failed attempt only
    ts = ThreadPoster(slack_deps).reply(inc, "firing:abc", "a line")
    assert [m["ts"] for m in slack.replies(CHANNEL, inc.root_ts or "")] == [ts]


def test_a_post_lock_left_by_a_dead_worker_delays_the_post_and_never_doubles_it(
        make_deps: Callable[..., Deps], slack: SlackEmulator) -> None:
    deps = make_deps(slack_bot_token=BOT_TOKEN, slack_api_url=slack.api_url, slack_post_lock_seconds=0.2)
    inc = opened(deps)
    deps.store.r.set(f"dfo:lock:post:{inc.id}:root", "a-dead-worker", px=60_000)
    with pytest.raises(LockNotAcquired):
        ThreadPoster(deps).ensure_root(inc)
    assert slack.calls("chat.postMessage") == [] and stored(deps, inc).root_ts is None
    deps.store.r.delete(f"dfo:lock:post:{inc.id}:root")      # its TTL ran out
    ts = ThreadPoster(deps).ensure_root(inc)
    assert [m["ts"] for m in slack.messages(CHANNEL)] == [ts]


# -- edits of the root --------------------------------------------------------------------------------------
def test_the_root_is_edited_in_place_to_say_the_incident_resolved(slack_deps: Deps, slack: SlackEmulator) -> None:
    inc = opened(slack_deps)
    ts = ThreadPoster(slack_deps).ensure_root(inc)
    [done] = fold(slack_deps.store, "2-0", resolved(DRIFT), now=inc.opened_at + 90)
    ThreadPoster(slack_deps).refresh_root(stored(slack_deps, done.incident))
    [root] = slack.messages(CHANNEL)
    assert root["ts"] == ts and root["text"] == f"[RESOLVED] {inc.id} {inc.title}" and "edited" in root
    assert "*Resolved* after 1m 30s" in str(root["blocks"]) and "Firing" not in str(root["blocks"])
    assert metadata(root) == {"incident_id": inc.id, "kind": "root"}   # still findable by a retry


def test_no_edit_before_there_is_a_root(slack_deps: Deps, slack: SlackEmulator) -> None:
    ThreadPoster(slack_deps).update_root(opened(slack_deps))
    ThreadPoster(slack_deps).refresh_root(opened(slack_deps))
    assert slack.calls("chat.update") == [] and slack.messages(CHANNEL) == []
    assert due_roots(slack_deps.store.r, time.time() + 3600) == []


def test_many_update_requests_are_one_edit_with_the_latest_state(slack_deps: Deps, slack: SlackEmulator) -> None:
    inc = opened(slack_deps)
    ThreadPoster(slack_deps).ensure_root(inc)
    for _ in range(50):                                   # a storm of repeats
        ThreadPoster(slack_deps).update_root(stored(slack_deps, inc))
    assert due_roots(slack_deps.store.r, time.time()) == [inc.id]
    fold(slack_deps.store, "2-0", resolved(DRIFT), now=inc.opened_at + 90)
    assert claim_root_edit(slack_deps.store, inc.id) and not claim_root_edit(slack_deps.store, inc.id)
    edit_root(slack_deps, inc.id)
    assert len(slack.calls("chat.update")) == 1
    assert (slack.message(CHANNEL, stored(slack_deps, inc).root_ts or "") or {})["text"].startswith("[RESOLVED]")


def test_a_root_edited_just_now_waits_for_the_interval(slack_deps: Deps) -> None:
    interval = slack_deps.settings.root_edit_interval_seconds
    mark_edited(slack_deps.store, "INC-7", interval, now=1000.0)
    request_root_edit(slack_deps.store, "INC-7", interval, now=1000.5)
    assert due_roots(slack_deps.store.r, 1000.0 + interval - 0.01) == []
    assert due_roots(slack_deps.store.r, 1000.0 + interval) == ["INC-7"]


def test_a_failed_edit_is_tried_again_later_with_the_state_of_then(slack_deps: Deps, slack: SlackEmulator) -> None:
    inc = opened(slack_deps)
    ts = ThreadPoster(slack_deps).ensure_root(inc)
    fold(slack_deps.store, "2-0", resolved(DRIFT), now=inc.opened_at + 90)
    slack.inject("chat.update", status=200, retry_after=None, error="internal_error")
    edit_root(slack_deps, inc.id)                          # logged, not raised: edits are cosmetic
    assert (slack.message(CHANNEL, ts) or {})["text"].startswith("[FIRING]")
    interval = slack_deps.settings.root_edit_interval_seconds
    assert due_roots(slack_deps.store.r, time.time() + interval + 1) == [inc.id]
    edit_root(slack_deps, inc.id)
    assert (slack.message(CHANNEL, ts) or {})["text"].startswith("[RESOLVED]")
