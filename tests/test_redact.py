"""The redactor: what must never reach Slack or a log line."""

from __future__ import annotations

import pytest

from bot.redact import MASK, Redactor, redact


@pytest.mark.parametrize("raw, secret", [
    ("token xoxb-1234-5678-abcdefABCDEF in a trace", "xoxb-1234-5678-abcdefABCDEF"),
    ("app token xapp-1-A111-222-abcdef", "xapp-1-A111-222-abcdef"),
    ("jdbc:mysql://debezium:s3cr3t-pw@mysql:3306/oltp", "s3cr3t-pw"),
    ("Authorization: Bearer abcdefgh12345678", "abcdefgh12345678"),
    ('{"database.password": "hunter22", "name": "x"}', "hunter22"),
    ("database.password=hunter22 tasks.max=1", "hunter22"),
    ("sasl.jaas.config: org.apache.kafka.common.security.plain.PlainLoginModule", "org.apache.kafka.common"),
    ("respond to https://hooks.slack.com/commands/T1/2/abc", "commands/T1/2/abc"),
    ("-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----", "MIIE"),
    ("AKIAABCDEFGHIJKLMNOP leaked", "AKIAABCDEFGHIJKLMNOP"),
])
def test_credential_shapes_are_masked(raw: str, secret: str) -> None:
    out = redact(raw)
    assert secret not in out and MASK in out


def test_known_secrets_are_masked_wherever_they_appear() -> None:
    r = Redactor(["plain-value-42", "ab"])      # too short to mask safely: ignored
    assert r.text("it was plain-value-42.") == f"it was {MASK}."
    assert r.text("ab cd") == "ab cd"


def test_mappings_mask_sensitive_keys_and_keep_the_rest() -> None:
    config = {"connector.class": "io.debezium.connector.mysql.MySqlConnector", "database.password": "pw",
              "database.user": "debezium", "nested": {"schema.registry.basic.auth.user.info": "u:p"},
              "list": ["mysql://u:pw2@h/"]}
    out = Redactor().mapping(config)
    assert out["database.password"] == MASK and out["database.user"] == "debezium"
    assert out["nested"]["schema.registry.basic.auth.user.info"] == MASK
    assert out["list"] == [f"mysql://u:{MASK}@h/"]


def test_ordinary_text_is_untouched() -> None:
    text = "Encountered change event for table oltp.orders whose schema isn't known to this connector"
    assert redact(text) == text
