"""The redactor: every text bound for Slack, a log line or the postmortem passes through here first.

Rules, in order:
1. the secrets the bot itself loaded (tokens, passwords from its settings), wherever they appear;
2. PEM private-key blocks, credentials in URLs (`scheme://user:pw@`, `redis://:pw@`), `Bearer`/`Basic`;
3. the token formats of detect-secrets (Yelp's maintained secret scanner: AWS, GitHub, GitLab, Slack,
   Stripe, JWT, SendGrid, npm, PyPI, ...) — its rule set, our masking;
4. assignments whose key looks sensitive, in every syntax the bot relays: `key=value`, `key: value`,
   `"key": "value"`, `key = "quoted value"`, JSON escaped inside a string, HTTP headers and YAML lines
   (masked to the end of the line), JDBC/ADO connection strings, SASL JAAS configs.
Rule 4 looks for the sensitive word first and parses the assignment from there, so a text with no
such word costs one scan (an unanchored key=value pattern was the postmortem's hot spot).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from detect_secrets.plugins.aws import AWSKeyDetector
from detect_secrets.plugins.azure_storage_key import AzureStorageKeyDetector
from detect_secrets.plugins.base import RegexBasedDetector
from detect_secrets.plugins.cloudant import CloudantDetector
from detect_secrets.plugins.github_token import GitHubTokenDetector
from detect_secrets.plugins.gitlab_token import GitLabTokenDetector
from detect_secrets.plugins.ibm_cos_hmac import IbmCosHmacDetector
from detect_secrets.plugins.jwt import JwtTokenDetector
from detect_secrets.plugins.npm import NpmDetector
from detect_secrets.plugins.openai import OpenAIDetector
from detect_secrets.plugins.pypi_token import PypiTokenDetector
from detect_secrets.plugins.sendgrid import SendGridDetector
from detect_secrets.plugins.slack import SlackDetector
from detect_secrets.plugins.softlayer import SoftlayerDetector
from detect_secrets.plugins.square_oauth import SquareOAuthDetector
from detect_secrets.plugins.stripe import StripeDetector
from detect_secrets.plugins.twilio import TwilioKeyDetector

MASK = "********"

# Words that make a key sensitive. `pass` only as a whole part (db_pass, not bypass or passthrough).
_SENSITIVE_WORDS = (
    r"passw(?:or)?d|passphrase|pwd|(?<![a-z])pass(?![a-z])|secret|token|credential|"
    r"api[_.-]?key|access[_.-]?key|private[_.-]?key|signing[_.-]?key|session[_.-]?(?:id|key)|"
    r"authorization|cookie|sasl\.jaas\.config|basic\.auth\.user\.info|connection[_.-]?string|response_url"
)
# Searched in the lower-cased text (without IGNORECASE, and with a first-letter look-ahead: 7x faster).
_HINT = re.compile(rf"(?=[pstcakrb])(?:{_SENSITIVE_WORDS})")
_HINT_ANY_CASE = re.compile(_SENSITIVE_WORDS, re.IGNORECASE)
# A cheap first look (substring tests run in C): most texts have none of these and skip rule 4.
_HINT_FRAGMENTS = ("pass", "pwd", "secret", "token", "credential", "key", "authorization", "cookie", "sasl",
                   "basic.auth", "connection", "response_url", "session")
SENSITIVE_KEY = re.compile(rf"(?i).*(?:{_SENSITIVE_WORDS})")

# Token formats whose prefix makes them unmistakable. Left out on purpose: detect-secrets' public IP,
# Artifactory, Discord, Telegram and Mailchimp rules (they match ordinary identifiers in traces), its
# private-key header rule (rule 2 masks the whole block) and its entropy and keyword heuristics (rule 4).
_DETECTORS: tuple[type[RegexBasedDetector], ...] = (
    AWSKeyDetector, AzureStorageKeyDetector, CloudantDetector, GitHubTokenDetector, GitLabTokenDetector,
    IbmCosHmacDetector, JwtTokenDetector, NpmDetector, OpenAIDetector, PypiTokenDetector, SendGridDetector,
    SlackDetector, SoftlayerDetector, SquareOAuthDetector, StripeDetector, TwilioKeyDetector,
)
# Their keyword-shaped rules (`cloudant_password = ...`) are left to rule 4, which covers them and more.
_FORMATS: list[re.Pattern[str]] = [
    pattern for cls in _DETECTORS for pattern in cls().denylist if not pattern.pattern.startswith("(?:(?<=\\W)")
]
_TOKEN_TAIL = re.compile(r"[\w+/=.-]*")  # a format rule may stop early (JWT's signature): mask to the end

_STRUCTURAL: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----.*?-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----",
                re.S), MASK),
    # scheme://user:password@host and scheme://:password@host -> the password masked, the rest kept
    (re.compile(r"(?P<pre>\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s:/@]*:)(?P<pw>[^\s@/]+)(?P<at>@)"),
     r"\g<pre>" + MASK + r"\g<at>"),
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{6,}"), r"\1 " + MASK),
    # Slack tokens of every kind (detect-secrets' rule misses app-level and config tokens).
    (re.compile(r"\bx(?:ox[abposre]|app)-[A-Za-z0-9-]{6,}"), MASK),
    # Slack response_url and webhooks: capability URLs.
    (re.compile(r"https://hooks\.slack\.com/[^\s\"'>|]+"), "https://hooks.slack.com/" + MASK),
]

# After the sensitive word: the rest of the key, its closing quote, the separator.
_KEY_REST = re.compile(r"""[\w.-]*(?P<q>\\?["'])?(?P<sep>[ \t]*(?::=|=>|[:=])[ \t]*)""")
_VALUE = re.compile(
    r"""\\"(?:[^"\\\n]|\\(?!"))*\\"|"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|[^\s"',;}&)\]<>|]+"""
)
_TO_EOL = re.compile(r"[^\r\n]+")
_LINE_KEY = re.compile(r"[ \t]*(?:[A-Za-z][\w.-]*)?$")  # a header or YAML key alone at the start of its line
_NOT_A_SECRET = re.compile(r"(?:YES|NO)\)")  # MySQL's "(using password: YES)"


def _masked(value: str) -> str:
    for quote in ('\\"', '"', "'"):
        if len(value) >= 2 * len(quote) and value.startswith(quote) and value.endswith(quote):
            return quote + MASK + quote
    return MASK


def _mask_formats(pattern: re.Pattern[str], text: str) -> str:
    out: list[str] = []
    done = 0
    for match in pattern.finditer(text):
        if match.start() < done:
            continue
        out += [text[done:match.start()], MASK]
        tail = _TOKEN_TAIL.match(text, match.end())
        done = tail.end() if tail else match.end()
    return "".join(out) + text[done:] if out else text


def _hints(text: str, lowered: str) -> Iterable[re.Match[str]]:
    # lower() keeps positions unless a character lower-cases to two (rare): then search the text itself.
    return _HINT.finditer(lowered) if len(lowered) == len(text) else _HINT_ANY_CASE.finditer(text)


def _mask_assignments(text: str, lowered: str) -> str:
    out: list[str] = []
    done = 0
    for hit in _hints(text, lowered):
        if hit.start() < done:
            continue
        key = _KEY_REST.match(text, hit.end())
        if key is None:
            continue
        start = key.end()
        line_start = text.rfind("\n", 0, hit.start()) + 1
        whole_line = (key["q"] is None and ":" in key["sep"]
                      and _LINE_KEY.match(text, line_start, hit.start()) is not None)
        value = (_TO_EOL if whole_line else _VALUE).match(text, start)
        if value is None or _NOT_A_SECRET.match(text, start):
            continue
        out += [text[done:start], _masked(value.group())]
        done = value.end()
    return "".join(out) + text[done:] if out else text


class Redactor:
    """Masks known secrets (the ones the bot loaded) and anything shaped like a credential."""

    def __init__(self, known_secrets: Iterable[str] = ()) -> None:
        # Longest first, so a secret that contains another is masked whole.
        self._known = sorted({s for s in known_secrets if s and len(s) >= 4}, key=len, reverse=True)

    def text(self, value: str) -> str:
        for secret in self._known:
            value = value.replace(secret, MASK)
        for pattern, replacement in _STRUCTURAL:
            value = pattern.sub(replacement, value)
        for pattern in _FORMATS:
            value = _mask_formats(pattern, value)
        lowered = value.lower()
        return _mask_assignments(value, lowered) if any(f in lowered for f in _HINT_FRAGMENTS) else value

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
