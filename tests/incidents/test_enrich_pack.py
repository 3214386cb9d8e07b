"""One backend's replies go into as few thread messages as fit (Slack posts about one message per second
per channel): pack() itself, and an incident whose scope has three connectors."""

from __future__ import annotations

import time
from collections.abc import Callable

from bot.blocks.enrichment import Enrichment, pack
from bot.deps import Deps
from bot.incidents.enrich import enrich_incident
from bot.incidents.poster import ThreadPoster
from bot.sandbox.connect_sim import ConnectSimulator
from bot.sandbox.slack_emulator import SlackEmulator
from tests.harness import BOT_TOKEN, CHANNEL
from tests.incidents.test_fold import DRIFT, fold
from tests.postmortem import conftest as shared

slack, make_deps = shared.slack, shared.make_deps
TRACE = "io.debezium.DebeziumException: Encountered change event for table oltp.orders whose schema isn't known"


def item(chars: int, tag: str = "x") -> Enrichment:
    return Enrichment("connect", tag * chars)


def test_pack_keeps_order_and_fills_each_message_up_to_the_limit() -> None:
    items = [item(40, "a"), item(40, "b"), item(30, "c"), item(100, "d"), item(10, "e")]
    groups = pack(items, limit=100)
    assert [[i.text[0] for i in g] for g in groups] == [["a", "b"], ["c"], ["d"], ["e"]]
    assert all(len("\n\n".join(i.text for i in g)) <= 100 for g in groups)
    assert pack([item(250)], limit=100) == [[item(250)]]      # too long for any message: alone, whole
    assert pack([]) == []


def test_three_connectors_are_one_connect_message(make_deps: Callable[..., Deps], slack: SlackEmulator) -> None:
    with ConnectSimulator() as sim:
        for name in ("mysql-oltp-orders", "b-cdc", "c-cdc"):
            sim.add_connector(name, {"connector.class": "io.debezium.connector.mysql.MySqlConnector",
                                     "database.include.list": "oltp"})
            sim.fail_task(name, 0, TRACE)
        deps = make_deps(slack_bot_token=BOT_TOKEN, slack_api_url=slack.api_url, connect_url=sim.url,
                         incident_channel=CHANNEL)
        [opened] = fold(deps.store, "1-0", DRIFT, now=time.time())
        poster = ThreadPoster(deps)
        inc = opened.incident
        poster.ensure_root(inc)
        enrich_incident(deps, poster, inc, "1-0")
    replies = slack.replies(CHANNEL, inc.root_ts or "")
    connect = [r for r in replies if "*Kafka Connect*" in r.get("text", "")]
    assert len(connect) == 1
    assert all(f"`{name}`" in connect[0]["text"] for name in ("mysql-oltp-orders", "b-cdc", "c-cdc"))
