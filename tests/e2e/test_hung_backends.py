"""A backend that accepts connections and never answers, against a real bot process: it holds a few of the
bot's threads, not all of them; every command is answered saying which backend did not answer, and work
that does not need that backend is not queued behind it. Orders and counts, not timings."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.sandbox.slack_emulator import SlackEmulator
from tests.e2e.alerting import alert, notification, post
from tests.e2e.test_alert_intake import roots
from tests.e2e.test_health_config import SilentServer
from tests.harness import BotProcess

USERS = [f"U0ONCALL{i:02d}" for i in range(24)]


def answer(slack: SlackEmulator, user: str) -> str | None:
    return next((e["text"] for e in slack.ephemerals(user) if "Working on" not in e["text"]), None)


def arrival(slack: SlackEmulator, user: str) -> int:
    """Where the user's answer is among every answer the emulator received."""
    texts: list[dict[str, Any]] = [e for e in slack.ephemerals() if "Working on" not in e["text"]]
    return next(i for i, e in enumerate(texts) if e["user"] == user)


def test_a_hung_connect_holds_a_few_threads_and_nothing_queues_behind_it(
        start_bot: Callable[..., BotProcess], slack: SlackEmulator) -> None:
    connect = SilentServer()
    try:
        bot = start_bot(CONNECT_URL=f"http://127.0.0.1:{connect.port}", ENRICH_TIMEOUT_SECONDS="3")
        for user in USERS:                                # more than the job pool has threads
            slack.slash_command(user, "status")
        slack.slash_command("U0LATE", "incidents")        # needs no backend
        post(bot.url, notification(alert("DiskAlmostFull", instance="db-1")))      # the next incident
        slack.wait_for(lambda: all(answer(slack, u) for u in USERS), timeout=60, what="every status answered")
        answers = {u: (answer(slack, u) or "").splitlines()[0] for u in USERS}    # the Connect line
        waited = [u for u, text in answers.items() if "timed out after 3.0 s" in text]
        refused = [u for u, text in answers.items() if "not asked" in text]
        assert 1 <= len(waited) <= 4 and len(waited) + len(refused) == len(USERS), answers
        assert all("Kafka Connect" in text for text in answers.values())
        # Answered before any call that waited on Connect came back: it did not queue behind them.
        assert arrival(slack, "U0LATE") < min(arrival(slack, u) for u in waited)
        assert len(roots(slack)) == 1
    finally:
        connect.close()
