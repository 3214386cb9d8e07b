"""Slack's request signature (v0), checked strictly. Pure: headers and body in, a verdict out.

Slack signs `v0:<timestamp>:<body>` with HMAC-SHA256 and sends it as `X-Slack-Signature: v0=<hex>`, with
`X-Slack-Request-Timestamp` in whole seconds. Anything else, in any header, is refused here, before a
single byte of the body is trusted: slack_sdk's verifier raises on a non-numeric timestamp, and an
exception must never be how a forged request is turned away.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Sequence
from dataclasses import dataclass

SIGNATURE_WINDOW_SECONDS = 300  # Slack's own recommendation: five minutes either way
_TIMESTAMP = re.compile(r"[0-9]{1,12}")  # whole seconds; no sign, no fraction, no white space
_SIGNATURE = re.compile(r"v0=[0-9a-f]{64}")


@dataclass(frozen=True)
class Verdict:
    ok: bool
    reason: str  # a class of failure, safe to log: "missing timestamp", "stale timestamp", ...
    timestamp: str = ""
    signature: str = ""


def _single(values: Sequence[str], name: str) -> str | Verdict:
    if not values:
        return Verdict(False, f"missing {name}")
    if len(values) > 1:
        return Verdict(False, f"duplicated {name}")
    return values[0]


def verify(timestamps: Sequence[str], signatures: Sequence[str], body: bytes, secret: str,
           now: float) -> Verdict:
    """Every value a header had (a list, so that a duplicated header is seen) and the raw body."""
    ts = _single(timestamps, "timestamp")
    if isinstance(ts, Verdict):
        return ts
    sig = _single(signatures, "signature")
    if isinstance(sig, Verdict):
        return sig
    if not _TIMESTAMP.fullmatch(ts):
        return Verdict(False, "malformed timestamp")
    if abs(now - int(ts)) > SIGNATURE_WINDOW_SECONDS:
        return Verdict(False, "stale timestamp")
    if not _SIGNATURE.fullmatch(sig):
        return Verdict(False, "malformed signature")
    expected = "v0=" + hmac.new(secret.encode(), b"v0:" + ts.encode() + b":" + body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, sig):
        return Verdict(False, "bad signature")
    return Verdict(True, "verified", ts, sig)
