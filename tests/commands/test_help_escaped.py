"""Help and usage texts go to Slack as mrkdwn: a raw `<service>` is read as a link and vanishes."""

from __future__ import annotations

import re

import pytest

from bot.commands.help import help_text
from bot.commands.logs import parse_logs_args
from bot.commands.schema import parse_schema_args
from bot.errors import UserInputError
from bot.text.mrkdwn import to_plain

RAW_PLACEHOLDER = re.compile(r"<(?![@#!])[a-z][\w.-]*>")


def test_help_escapes_every_placeholder_and_still_reads_right() -> None:
    text = help_text()
    assert not RAW_PLACEHOLDER.search(text)
    assert "`/dataflow logs &lt;service&gt; [pattern] [INC-n]`" in text
    assert "/dataflow logs <service> [pattern] [INC-n]" in to_plain(text)   # what Slack shows


def test_usage_errors_escape_their_placeholders() -> None:
    with pytest.raises(UserInputError) as schema_usage:
        parse_schema_args(None, [])  # type: ignore[arg-type]
    with pytest.raises(UserInputError) as logs_usage:
        parse_logs_args(None, [])  # type: ignore[arg-type]
    for raised in (schema_usage, logs_usage):
        text = raised.value.user_text()
        assert "&lt;" in text and not RAW_PLACEHOLDER.search(text), text
