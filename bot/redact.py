"""The redactor: every text bound for Slack or a log line passes through here first."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

MASK = "********"

# Debezium's PASSWORD_PATTERN, extended with token/apikey/credential/private (reference §6).
SENSITIVE_KEY = re.compile(
    r"(?i).*(secret|password|passwd|pwd|sasl\.jaas\.config|basic\.auth\.user\.info|"
    r"registry\.auth\.client-secret|credentials\.json|connectionstring|connection\.string|token|"
    r"apikey|api_key|api-key|credential|private|authorization|response_url)$"
)

_VALUE_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    # Slack tokens: bot, user, app-level, refresh, config.
    (re.compile(r"\bx(?:ox[abposre]|app)-[A-Za-z0-9-]{6,}"), MASK),
    # Credentials inside URLs: scheme://user:pass@host -> scheme://user:********@host
    (
        re.compile(r"(?P<pre>\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s:/@]+:)(?P<pw>[^\s@/]+)(?P<at>@)"),
        r"\g<pre>" + MASK + r"\g<at>",
    ),
    # Authorization headers.
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{6,}"), r"\1 " + MASK),
    # key=value / key: value / "key": "value" where the key looks sensitive.
    (
        re.compile(
            r"""(?ix)
            (?P<key>["']?[\w.-]*(?:password|passwd|pwd|secret|token|apikey|api_key|credential|
              sasl\.jaas\.config|basic\.auth\.user\.info)["']?)
            (?P<sep>\s*[:=]\s*)
            (?P<q>["']?)(?P<val>[^\s"',;}&]+)(?P=q)"""
        ),
        r"\g<key>\g<sep>\g<q>" + MASK + r"\g<q>",
    ),
    # Slack response_url: a capability URL.
    (re.compile(r"https://hooks\.slack\.com/[^\s\"'>]+"), "https://hooks.slack.com/" + MASK),
    # AWS access keys and PEM private keys.
    (re.compile(r"\bAKIA[0-9A-Z]{16}\b"), MASK),
    (re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----", re.S), MASK),
]


class Redactor:
    """Masks known secrets (the ones the bot loaded) and anything shaped like a credential."""

    def __init__(self, known_secrets: Iterable[str] = ()) -> None:
        # Longest first, so a secret that contains another is masked whole.
        self._known = sorted({s for s in known_secrets if s and len(s) >= 4}, key=len, reverse=True)

    def text(self, value: str) -> str:
        for secret in self._known:
            value = value.replace(secret, MASK)
        for pattern, replacement in _VALUE_PATTERNS:
            value = pattern.sub(replacement, value)
        return value

    def mapping(self, value: Mapping[str, Any]) -> dict[str, Any]:
        return {
            k: (MASK if SENSITIVE_KEY.match(str(k)) and v not in (None, "") else self.any(v))
            for k, v in value.items()
        }

    def any(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return self.mapping(value)
        if isinstance(value, list | tuple):
            return [self.any(v) for v in value]
        return value


DEFAULT_REDACTOR = Redactor()


def redact(value: str) -> str:
    """Pattern-only redaction, for code that has no settings at hand."""
    return DEFAULT_REDACTOR.text(value)
