"""A backend that accepts connections and never answers, against a real bot process: it holds a few of the
bot's threads, not all of them; every command is answered saying which backend did not answer, and work
that does not need that backend is not queued behind it. Orders and counts, not timings."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest

from bench.common import StallingMySQLProxy
from bot.sandbox.slack_emulator import SlackEmulator
from tests.e2e.alerting import alert, notification, post
from tests.e2e.test_alert_intake import roots
from tests.e2e.test_health_config import SilentServer
from tests.harness import CHANNEL, BotProcess

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
        bot = start_bot(CONNECT_URL=f"http://127.0.0.1:{connect.port}", ENRICH_TIMEOUT_SECONDS="3",
                        HEALTH_PROBE_INTERVAL_SECONDS="3600")
        probes = len(connect.held)                        # the start-up check's calls
        for user in USERS:                                # more than the job pool has threads
            slack.slash_command(user, "status")
        slack.slash_command("U0LATE", "incidents")        # needs no backend
        post(bot.url, notification(alert("DiskAlmostFull", instance="db-1")))      # the next incident
        slack.wait_for(lambda: all(answer(slack, u) for u in USERS), timeout=60, what="every status answered")
        answers = {u: (answer(slack, u) or "").splitlines()[0] for u in USERS}    # the Connect line
        assert all("Kafka Connect" in text for text in answers.values())
        assert all("timed out after 3.0 s" in text or "not asked" in text for text in answers.values()), answers
        # Each `status` asks Connect twice at once (its connectors, and discovery): at most 4 calls waited.
        assert len(connect.held) - probes <= 4
        # Answered before the last status: it did not queue behind the calls that waited on Connect.
        if len(connect.held) > probes:
            assert arrival(slack, "U0LATE") < max(arrival(slack, u) for u in USERS)
        slack.wait_for(lambda: roots(slack), what="the next incident's root")
        assert len(roots(slack)) == 1
    finally:
        connect.close()


# One backend hung at a time, with a 1 s backend timeout. `env` points the bot at it; `command` needs it;
# `step` is a runbook step that needs it; `name` is what every answer must call it.
@dataclass(frozen=True)
class Hung:
    variable: str
    command: str
    step: str
    name: str
    postmortem_needs_it: bool = False     # its live checklist asks Connect and Flink


HUNG = {
    "mysql-no-handshake": Hung("MYSQL_URL", "schema oltp.orders", "schema-diff", "MySQL"),
    "mysql-mid-query": Hung("MYSQL_URL", "schema oltp.orders", "schema-diff", "MySQL"),
    "flink": Hung("FLINK_URL", "status", "flink-status", "Flink", postmortem_needs_it=True),
    "connect": Hung("CONNECT_URL", "status", "connector-status", "Kafka Connect", postmortem_needs_it=True),
    "docker": Hung("DOCKER_HOST", "logs connect", "connect-logs", "Docker"),
}
ASKERS = [f"U0ASK{i:02d}" for i in range(6)]       # more than the breaker lets wait on one backend (4)


@contextmanager
def hung_backend(kind: str) -> Iterator[tuple[str, Callable[[], int]]]:
    """The address of a backend that accepts and never answers (MariaDB: never greets, or hangs after the
    login at the first query, behind a proxy to the real server), and how many calls it holds."""
    if kind == "mysql-mid-query":
        with StallingMySQLProxy() as proxy:
            yield f"mysql://root@127.0.0.1:{proxy.port}/", lambda: proxy.stalled
        return
    server = SilentServer()
    try:
        yield {"MYSQL_URL": f"mysql://root@127.0.0.1:{server.port}/",
               "DOCKER_HOST": f"tcp://127.0.0.1:{server.port}"}.get(HUNG[kind].variable,
                                                                     f"http://127.0.0.1:{server.port}"), \
            lambda: len(server.held)
    finally:
        server.close()


@pytest.mark.parametrize("kind", sorted(HUNG))
def test_each_hung_backend_is_named_in_the_answers_that_need_it_and_nothing_else_waits(
        kind: str, start_bot: Callable[..., BotProcess], slack: SlackEmulator) -> None:
    hung = HUNG[kind]
    with hung_backend(kind) as (address, held):
        # The start-up check probes it (and seeds /healthz); no other probe during the test.
        bot = start_bot(**{hung.variable: address}, ENRICH_TIMEOUT_SECONDS="1", HEALTH_PROBE_INTERVAL_SECONDS="3600")
        probes = held()
        for user in ASKERS:
            slack.slash_command(user, hung.command)
        slack.slash_command("U0LATE", "incidents")         # needs no backend
        slack.wait_for(lambda: all(answer(slack, u) for u in [*ASKERS, "U0LATE"]), timeout=60,
                       what="every command answered")
        answers = {u: answer(slack, u) or "" for u in ASKERS}
        assert all(hung.name in text for text in answers.values()), answers
        assert all("timed out after 1.0 s" in text or "not asked" in text for text in answers.values()), answers
        # At most 4 calls waited on it: the others were told at once, or given the failure just seen (Flink's
        # job list is discovered, and a failure is remembered for a few seconds: maybe from start-up's).
        assert held() - probes <= 4
        if held() > probes:   # then some of them waited the timeout, and `incidents` did not
            assert arrival(slack, "U0LATE") < max(arrival(slack, u) for u in ASKERS)
        # The next incident: its root is posted, and a runbook step that needs the backend says it is hung.
        post(bot.url, notification(alert("SchemaDriftDetected", table="oltp.orders")))
        root = slack.wait_for(lambda: roots(slack), timeout=20, what="the next incident's root")[0]
        slack.slash_command("U0RUN", f"run {hung.step}")
        said = slack.wait_for(lambda: step_answer(slack, root["ts"], "U0RUN"), timeout=30,
                              what=f"the step's answer; thread: {slack.replies(CHANNEL, root['ts'])}")
        assert hung.name in said and ("timed out" in said or "not asked" in said), said
        slack.slash_command("U0PM", "postmortem")
        draft = slack.wait_for(lambda: next((r["text"] for r in slack.replies(CHANNEL, root["ts"])
                                             if "Postmortem draft" in r["text"]), None), timeout=30, what="the draft")
        assert (f"could not check: {hung.name}" in draft) is hung.postmortem_needs_it, draft
    assert len(roots(slack)) == 1


def step_answer(slack: SlackEmulator, root_ts: str, user: str) -> str | None:
    """What the step said: its outcome in the thread (`by <@user>`), or an error told to the user."""
    posted = [r["text"] for r in slack.replies(CHANNEL, root_ts) if f"<@{user}>" in r["text"]]
    if posted:
        return str(posted[0])
    told = answer(slack, user)
    return told if told and "Ran `" not in told else None
