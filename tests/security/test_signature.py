"""Slack's v0 signature, checked strictly: every malformed header variant is a refusal, never an error."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from slack_sdk.signature import SignatureVerifier

from bot.security.signature import SIGNATURE_WINDOW_SECONDS, verify

SECRET = "unit-signing-secret"
BODY = b"command=%2Fdataflow&text=help&user_id=U0EVE"
NOW = 1_764_000_000


def sign(ts: str, body: bytes = BODY, secret: str = SECRET) -> str:
    return "v0=" + hmac.new(secret.encode(), f"v0:{ts}:".encode() + body, hashlib.sha256).hexdigest()


GOOD_TS = str(NOW)
GOOD_SIG = sign(GOOD_TS)


def test_a_correct_signature_passes_and_agrees_with_slack_sdk() -> None:
    verdict = verify([GOOD_TS], [GOOD_SIG], BODY, SECRET, NOW)
    assert verdict.ok and verdict.timestamp == GOOD_TS and verdict.signature == GOOD_SIG
    assert SignatureVerifier(SECRET).generate_signature(timestamp=GOOD_TS, body=BODY) == GOOD_SIG


@pytest.mark.parametrize("timestamps, signatures, body, reason", [
    ([], [GOOD_SIG], BODY, "missing timestamp"),
    ([GOOD_TS], [], BODY, "missing signature"),
    (["abc"], [sign("abc")], BODY, "malformed timestamp"),
    (["-1"], [sign("-1")], BODY, "malformed timestamp"),
    ([f"{NOW}.5"], [sign(f"{NOW}.5")], BODY, "malformed timestamp"),
    ([f" {NOW}"], [sign(f" {NOW}")], BODY, "malformed timestamp"),
    ([f"{NOW}\n"], [sign(f"{NOW}\n")], BODY, "malformed timestamp"),
    (["9" * 40], [sign("9" * 40)], BODY, "malformed timestamp"),
    (["99999999999"], [sign("99999999999")], BODY, "stale timestamp"),
    ([""], [GOOD_SIG], BODY, "malformed timestamp"),
    ([str(NOW - SIGNATURE_WINDOW_SECONDS - 1)], [sign(str(NOW - SIGNATURE_WINDOW_SECONDS - 1))], BODY,
     "stale timestamp"),
    ([str(NOW + SIGNATURE_WINDOW_SECONDS + 1)], [sign(str(NOW + SIGNATURE_WINDOW_SECONDS + 1))], BODY,
     "stale timestamp"),
    ([GOOD_TS, GOOD_TS], [GOOD_SIG], BODY, "duplicated timestamp"),
    ([GOOD_TS], [GOOD_SIG, GOOD_SIG], BODY, "duplicated signature"),
    ([f"{GOOD_TS}, {GOOD_TS}"], [GOOD_SIG], BODY, "malformed timestamp"),   # how a server folds duplicates
    ([GOOD_TS], ["v1=" + GOOD_SIG[3:]], BODY, "malformed signature"),
    ([GOOD_TS], [GOOD_SIG.upper()], BODY, "malformed signature"),
    ([GOOD_TS], [""], BODY, "malformed signature"),
    ([GOOD_TS], [GOOD_SIG + " "], BODY, "malformed signature"),
    ([GOOD_TS], [GOOD_SIG], BODY + b"&text=drop", "bad signature"),
    ([GOOD_TS], [sign(GOOD_TS, secret="other")], BODY, "bad signature"),
    ([GOOD_TS], [GOOD_SIG], b"", "bad signature"),
])
def test_every_malformed_variant_is_refused_with_its_reason(
        timestamps: list[str], signatures: list[str], body: bytes, reason: str) -> None:
    verdict = verify(timestamps, signatures, body, SECRET, NOW)
    assert not verdict.ok
    assert verdict.reason == reason
