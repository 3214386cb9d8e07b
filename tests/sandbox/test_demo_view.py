"""The interactive demo's view of what changed after an action (pure functions)."""

from __future__ import annotations

from typing import Any

from bot.sandbox.demo_lock import holder_of, redis_where
from bot.sandbox.demo_view import (
    PROGRESS,
    button_ids,
    ephemeral_lines,
    newest_with_button,
    news,
    no_button_text,
    only_progress,
    snapshot,
)
from bot.text.mrkdwn import to_plain


def button(action_id: str) -> dict[str, Any]:
    return {"type": "actions", "elements": [{"type": "button", "action_id": action_id,
                                             "text": {"type": "plain_text", "text": action_id}}]}


def msg(ts: str, text: str, *blocks: dict[str, Any]) -> dict[str, Any]:
    return {"ts": ts, "text": text, "blocks": list(blocks)}


def render(m: dict[str, Any]) -> list[str]:
    return [to_plain(m["text"])]


def test_news_lists_new_and_edited_messages_and_new_private_answers_only() -> None:
    thread = [msg("1.0", "root"), msg("2.0", "*Approval needed*", button("approve_step"))]
    before = snapshot(thread, [{"text": "old"}])
    after = [msg("1.0", "root"), msg("2.0", "*Done* (approved)"), msg("3.0", "column dropped")]
    fresh = [{"text": "old"}, {"text": "Approved: it ran \u2014 see the thread"}]

    lines = news(before, after, fresh, "bob", render, to_plain)

    assert lines == ["In the thread, edited:", "  | Done (approved)", "In the thread, new:", "  | column dropped",
                     "Only bob sees:", "  > Approved: it ran — see the thread"]
    assert news(snapshot(after, fresh), after, fresh, "bob", render, to_plain) == []


def test_a_private_answer_with_blocks_shows_the_blocks_rendered() -> None:
    ephemeral = {"text": "fallback", "blocks": [{"type": "section", "text": {"type": "mrkdwn",
                                                                          "text": ":white_check_mark: *ok* &amp; done"}}]}
    assert ephemeral_lines(ephemeral, to_plain) == ["✅ ok & done"]


def test_only_the_working_ack_is_not_yet_an_answer() -> None:
    thread = [msg("1.0", "root")]
    before = snapshot(thread, [])
    assert only_progress(before, thread, [{"text": f"{PROGRESS} `summary`…"}])
    assert not only_progress(before, [*thread, msg("2.0", "summary")], [{"text": f"{PROGRESS} `summary`…"}])
    assert not only_progress(before, thread, [])


def test_a_used_button_is_found_gone_and_the_remaining_ones_are_named() -> None:
    thread = [msg("1.0", "runbook", button("run_step:a"), button("run_step:b")), msg("2.0", "done")]
    assert newest_with_button(thread, "approve_step") is None
    assert newest_with_button(thread, "run_step:b") == thread[0]
    assert button_ids(thread) == ["run_step:a", "run_step:b"]
    assert no_button_text("approve_step", thread) == (
        "No approve_step button in the thread now: it was used, or its request ended (decided, expired or void). "
        "Buttons there now: run_step:a, run_step:b.")


def test_lock_texts_never_show_a_password() -> None:
    assert redis_where("redis://:s3cret@cache.internal:6380/4") == "cache.internal:6380/4"
    assert redis_where("redis://127.0.0.1:6379/15") == "127.0.0.1:6379/15"
    assert holder_of(b"pid 1 on box, since 03:00:00") == "pid 1 on box, since 03:00:00"
    assert holder_of(None) == "another demo"
