"""The gate in front of POST /slack/events: verify first, then refuse replays, before Bolt sees a byte.

A forged request (unsigned, malformed, stale, tampered) is answered 401 with nothing done: no Slack call,
no Redis write, no log of its body; it is counted and logged by reason only. A verified request seen a
second time (the same timestamp and signature) is a replay: Slack never retries commands or clicks, so it
is answered 200, audited, and nothing else happens. Slack's own event retries carry X-Slack-Retry-Num
and go on to Bolt, where the event_id dedupe makes them harmless.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import parse_qs

from bot.log import get_logger
from bot.metrics import SLACK_REQUESTS_REFUSED
from bot.security.signature import SIGNATURE_WINDOW_SECONDS, verify
from bot.store import Store

log = get_logger(__name__)

# A timestamp may be up to the window ahead of us, so a request stays valid for twice the window.
REPLAY_TTL_SECONDS = 2 * SIGNATURE_WINDOW_SECONDS + 60

Outcome = Literal["pass", "forged", "replay"]


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    reason: str


def describe(body: bytes) -> dict[str, str]:
    """Who sent a verified request and what it asked: for the audit of a replay."""
    try:
        text = body.decode("utf-8")
        if text.startswith("{"):
            raw: Mapping[str, Any] = json.loads(text)
            event = raw.get("event") or {}
            return {"user": str(event.get("user", "")), "what": f"event {event.get('type', raw.get('type'))}"}
        form = {k: v[0] for k, v in parse_qs(text).items()}
        if "payload" in form:
            payload = json.loads(form["payload"])
            actions = payload.get("actions") or [{}]
            return {"user": str((payload.get("user") or {}).get("id", "")),
                    "what": f"{payload.get('type')} {actions[0].get('action_id', '')}".strip()}
        return {"user": form.get("user_id", ""), "what": f"{form.get('command', '')} {form.get('text', '')}"[:200]}
    except (ValueError, AttributeError, TypeError, IndexError):
        return {"user": "", "what": "unreadable body"}


class SlackRequestGate:
    def __init__(self, secret: str, store: Store, clock: Callable[[], float] = time.time) -> None:
        self.secret = secret
        self.store = store
        self.clock = clock

    def check(self, header: Callable[[str], Sequence[str]], body: bytes, remote: str) -> Decision:
        """`header(name)` gives every value the header had, so that a duplicated one is seen."""
        verdict = verify(header("X-Slack-Request-Timestamp"), header("X-Slack-Signature"),
                         body, self.secret, self.clock())
        if not verdict.ok:
            SLACK_REQUESTS_REFUSED.labels(verdict.reason).inc()
            log.warning("refused a Slack request that is not correctly signed", reason=verdict.reason,
                        remote=remote)
            return Decision("forged", verdict.reason)
        key = hashlib.sha256(f"{verdict.timestamp}:{verdict.signature}".encode()).hexdigest()[:32]
        if self.store.first_time(f"slack-request:{key}", REPLAY_TTL_SECONDS):
            return Decision("pass", "verified")
        if header("X-Slack-Retry-Num") and body.startswith(b"{"):
            return Decision("pass", "event retry")  # Bolt's event_id dedupe answers it
        SLACK_REQUESTS_REFUSED.labels("replay").inc()
        self.store.audit(event="replay-refused", at=f"{self.clock():.3f}", remote=remote,
                         detail="a signed request delivered again byte for byte", **describe(body))
        log.warning("refused a replayed Slack request", remote=remote)
        return Decision("replay", "replay")
