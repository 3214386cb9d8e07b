"""A command that names no incident says which one it picked (issue 14, item 5), against the real bot."""

from __future__ import annotations

from typing import Any

from bot.sandbox.slack_emulator import SlackEmulator
from tests.e2e.alerting import alert, notification, post
from tests.e2e.commands_support import open_incident
from tests.harness import CHANNEL, BotProcess

ALICE = "U0ALICE"


def new_reply(slack: SlackEmulator, root: str, text: str, needle: str) -> dict[str, Any]:
    """Run `/dataflow text` in the channel (not the thread); the thread reply that answers it."""
    before = len(slack.replies(CHANNEL, root))
    slack.slash_command(ALICE, text)
    return slack.wait_for(lambda: next((r for r in slack.replies(CHANNEL, root)[before:] if needle in r["text"]),
                                       None), what=f"the answer to `{text}`")


def test_summary_and_postmortem_say_which_incident_they_picked_and_a_named_one_needs_no_note(
        bot: BotProcess, slack: SlackEmulator) -> None:
    root = open_incident(slack, bot.url, table="oltp.orders")

    picked = new_reply(slack, root, "summary", "Open approvals")   # not the enrichment still arriving
    assert picked["text"].startswith(
        "For INC-1 (the channel's latest open incident); add `INC-n` to name another.\n")
    assert not picked.get("blocks")   # a text answer: the note is its first line
    named = new_reply(slack, root, "summary INC-1", "Open approvals")
    assert "the channel's latest" not in named["text"]

    firing = alert("SchemaDriftDetected", table="oltp.orders")
    post(bot.url, notification({**firing, "status": "resolved", "endsAt": "2026-11-26T07:10:00Z"}))
    slack.wait_for(lambda: (slack.message(CHANNEL, root) or {}).get("text", "").startswith("[RESOLVED]"),
                   what="the incident resolved")
    draft = new_reply(slack, root, "postmortem", "Postmortem draft")
    assert draft["text"].startswith("For INC-1 (the channel's latest incident, resolved ")
    assert draft["blocks"][0] == {"type": "context", "elements": [{"type": "mrkdwn", "text": draft["text"].split("\n")[0]}]}
