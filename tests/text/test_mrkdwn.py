"""The one Slack mrkdwn renderer: to plain text (the demo printout) and to Markdown (the postmortem)."""

from __future__ import annotations

import pytest

from bot.text.mrkdwn import Names, to_markdown, to_plain
from tests.text.leftovers import LEFTOVERS, leftovers

NAMES = Names(users={"U0ALICE": "Alice Nguyen", "U0BOB": "Bob Tran"}, channels={"C0INC": "incidents"})
def test_the_leftover_check_catches_raw_slack_markup() -> None:
    raw = "*Done* :white_check_mark: <@U0BOB> <http://a.test|graph> a &amp; b"
    assert [found.split(": ", 1)[0] for found in leftovers(raw)] == list(LEFTOVERS)
    assert leftovers(to_plain(raw, NAMES)) == [] and leftovers(to_markdown(raw, NAMES)) == []


@pytest.mark.parametrize(("slack", "plain", "markdown"), [
    ("*bold* and _italics_ and ~strike~", "bold and italics and strike", "**bold** and _italics_ and ~~strike~~"),
    ("*x*", "x", "**x**"),
    ("*Schema drift on `oltp.orders`: COMPATIBLE* (1)", "Schema drift on oltp.orders: COMPATIBLE (1)",
     "**Schema drift on `oltp.orders`: COMPATIBLE** (1)"),
    ("snake_case_name stays, COUNT(*) too, 2*3*4", "snake_case_name stays, COUNT(*) too, 2*3*4",
     "snake_case_name stays, COUNT(*) too, 2*3*4"),
    ("<@U0ALICE> and <@U0ZED> in <#C0INC> or <#C9|ops>", "@Alice Nguyen and @U0ZED in #incidents or #ops",
     "@Alice Nguyen and @U0ZED in #incidents or #ops"),
    ("<!here> <!channel> <!subteam^S1|@oncall> <!date^1392734382^{date}|Feb 18>", "@here @channel @oncall Feb 18",
     "@here @channel @oncall Feb 18"),
    ("<https://x.test/a?b=1&amp;c=2|the graph> <https://y.test> <mailto:a@b.test|a@b.test>",
     "the graph (https://x.test/a?b=1&c=2) https://y.test a@b.test",
     "[the graph](https://x.test/a?b=1&c=2) https://y.test a@b.test"),
    (":white_check_mark: :warning: :large_green_circle: :pushpin: :custom_logo: 10:00:00",
     "✅ ⚠️ 🟢 📌 :custom_logo: 10:00:00", "✅ ⚠️ 🟢 📌 :custom_logo: 10:00:00"),
    ("a &amp; b &lt;service&gt;", "a & b <service>", "a & b \\<service>"),
])
def test_prose(slack: str, plain: str, markdown: str) -> None:
    assert to_plain(slack, NAMES) == plain
    assert to_markdown(slack, NAMES) == markdown


def test_inline_code_that_holds_backticks_is_one_span() -> None:
    slack = ":white_check_mark: `ALTER TABLE `oltp`.`orders` DROP COLUMN `x_y`, ALGORITHM=INSTANT`: column dropped"
    assert to_markdown(slack) == "✅ `` ALTER TABLE `oltp`.`orders` DROP COLUMN `x_y`, ALGORITHM=INSTANT ``: column dropped"
    assert to_plain(slack) == "✅ ALTER TABLE `oltp`.`orders` DROP COLUMN `x_y`, ALGORITHM=INSTANT: column dropped"
    assert to_markdown("`a` then `b_c` and `oltp`.`orders`") == "`a` then `b_c` and `oltp`.`orders`"


def test_code_is_never_formatted_only_decoded() -> None:
    slack = "see `*not bold* :x: &lt;b&gt;` and ```\n*still code* <@U0BOB> a &amp; b\n```"
    assert to_markdown(slack, NAMES) == "see `*not bold* :x: <b>` and\n```\n*still code* <@U0BOB> a & b\n```"
    assert to_plain(slack, NAMES) == "see *not bold* :x: <b> and\n*still code* <@U0BOB> a & b"


def test_fences_get_their_own_lines_a_language_and_a_longer_fence_when_needed() -> None:
    assert to_markdown("Logs:\n```line one\nline two```\nafter") == "Logs:\n```\nline one\nline two\n```\nafter"
    assert to_markdown("```diff\n+ added\n```") == "```diff\n+ added\n```"
    assert to_markdown("```x `` y```") == "```\nx `` y\n```"


def test_unbalanced_markup_is_left_readable() -> None:
    assert to_plain("a `lonely backtick and *half bold") == "a `lonely backtick and *half bold"
    assert to_plain("<not a link") == "<not a link"
    assert to_markdown("<not a link") == "\\<not a link"   # escaped: Markdown would read a tag
