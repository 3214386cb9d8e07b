"""The note a command adds when it picked its incident itself (issue 14, item 5): wording and placement."""

from __future__ import annotations

from bot.commands.target import Target, which_incident_text, with_note
from bot.models import Incident


def incident(**fields: object) -> Incident:
    base: dict[str, object] = dict(id="INC-12", number=12, correlation_key="k", title="t", channel="C1",
                                   opened_at=1000.0, last_seen_at=1000.0, notifications=1)
    return Incident.model_validate({**base, **fields})


def test_the_latest_open_incident_is_named_with_how_it_was_chosen() -> None:
    assert Target(incident(), [], "latest-open").note() == (
        "For INC-12 (the channel's latest open incident); add `INC-n` to name another.")


def test_the_just_resolved_incident_says_how_long_ago_it_resolved() -> None:
    resolved = incident(status="resolved", resolved_at=2000.0)
    assert Target(resolved, [], "just-resolved").note(now=2000.0 + 125) == (
        "For INC-12 (the channel's latest incident, resolved 2m 05s ago); add `INC-n` to name another.")
    assert which_incident_text("INC-3", resolved_ago=-1) == (
        "For INC-3 (the channel's latest incident, resolved 0s ago); add `INC-n` to name another.")


def test_an_incident_the_user_named_or_whose_thread_they_are_in_needs_no_note() -> None:
    assert Target(incident(), [], "named").note() == ""
    assert Target(incident(), [], "thread").note() == ""
    assert Target(None, ["x"]).note() == ""


def test_the_note_comes_first_in_the_text_and_above_the_blocks() -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "body"}}]
    text, shown = with_note("For INC-12 (…)", "Runbook: Schema drift", blocks)
    assert text == "For INC-12 (…)\nRunbook: Schema drift"
    assert shown == [{"type": "context", "elements": [{"type": "mrkdwn", "text": "For INC-12 (…)"}]}, *blocks]
    assert with_note("", "as is", blocks) == ("as is", blocks)
    assert with_note("note", "text only", None) == ("note\ntext only", None)
