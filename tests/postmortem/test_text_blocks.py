"""Pure helpers: time parsing, Slack markup to Markdown, fences, and the Block Kit of the thread reply."""

from __future__ import annotations

from bot.blocks.common import SECTION_TEXT_MAX
from bot.blocks.postmortem import ACTION_ID, postmortem_button, summary_blocks
from bot.postmortem.text import cell, code, fence, from_slack, parse_iso, person, utc


def test_alertmanager_times_with_nanoseconds_and_zero_times() -> None:
    assert parse_iso("2026-11-26T07:00:00.123456789Z") == 1795676400.123456
    assert parse_iso("2026-11-26T09:00:00+02:00") == 1795676400.0
    assert parse_iso("0001-01-01T00:00:00Z") is None and parse_iso("garbage") is None
    assert utc(1795676400.999) == "2026-11-26 07:00:00 UTC"


def test_slack_markup_becomes_readable_markdown() -> None:
    people = {"U0BOB": "Bob Tran"}
    text = "<@U0BOB> see <https://x.test/a|the graph> in <#C0INC|incidents>, <!here> <https://y.test>"
    assert from_slack(text, people) == "@Bob Tran see [the graph](https://x.test/a) in #incidents, @here https://y.test"
    assert person("U0BOB", people) == "Bob Tran (U0BOB)" and person("U0ZED", people) == "U0ZED"
    assert person(None, people) == "—" and person("alertmanager", people) == "Alertmanager"


def test_cells_and_fences_cannot_be_broken_out_of() -> None:
    assert cell("a | b\n\n  c   d ") == "a \\| b<br>c d"
    assert fence("x ``` y", "sql") == "````sql\nx ``` y\n````"
    assert code("ALTER TABLE `t`") == "`` ALTER TABLE `t` ``" and code("plain") == "`plain`"


def test_the_button_and_a_long_summary_stay_within_block_kit_limits() -> None:
    button = postmortem_button("INC-12")
    assert button["type"] == "actions" and button["elements"][0]["action_id"] == ACTION_ID
    assert button["elements"][0]["value"] == "INC-12"
    blocks = summary_blocks("INC-12", ["x" * 5000] * 20, "postmortem-INC-12.md", 2016)
    assert len(blocks) == 3 and len(blocks[0]["text"]["text"]) <= SECTION_TEXT_MAX
    assert blocks[-1] == button and "2016 timeline events" in blocks[1]["elements"][0]["text"]
