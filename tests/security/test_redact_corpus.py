"""Every planted format is masked by the one redactor, alone and embedded in a trace; ordinary text is kept."""

from __future__ import annotations

import pytest

from bot.redact import MASK, redact
from tests.security.corpus import CORPUS, Planted, leaks, planted_text


@pytest.mark.parametrize("planted", CORPUS, ids=lambda p: p.name)
def test_each_format_is_masked(planted: Planted) -> None:
    out = redact(planted.text)
    assert planted.secret not in out and MASK in out


def test_all_at_once_inside_a_java_trace() -> None:
    trace = ("org.apache.kafka.connect.errors.ConnectException: boom\n\tat io.debezium.X(X.java:1)\n"
             + planted_text().replace("\n", "\n\tat io.debezium.Y(Y.java:2) ") + "\n\t... 12 more")
    assert leaks(redact(trace)) == []


@pytest.mark.parametrize("text", [
    "Encountered change event for table oltp.orders whose schema isn't known to this connector",
    "Access denied for user 'debezium'@'127.0.0.1' (using password: YES)",
    "key.converter=org.apache.kafka.connect.json.JsonConverter tasks.max=1 topic.prefix=dbserver1",
    "the password was rotated yesterday; bypass=false passthrough=1",
    "job 0af9c2ac316ce6c49dbd622a13f3d518 RESTARTING at 127.0.0.1:8081",
])
def test_ordinary_text_is_kept(text: str) -> None:
    assert redact(text) == text
