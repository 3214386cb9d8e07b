"""The enrichment's replies go into as few thread messages as fit (Slack posts about one message per second
per channel), each reply still its own timeline event: pack() itself, and an incident with three connectors."""

from __future__ import annotations

import time
from collections.abc import Callable

from bot.blocks.enrichment import SEPARATOR, pack
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


def test_pack_keeps_order_and_fills_each_message_up_to_the_limit() -> None:
    texts = ["a" * 40, "b" * 40, "c" * 30, "d" * 100, "e" * 10]
    groups = pack(texts, limit=100)
    assert groups == [[0, 1], [2], [3], [4]]
    assert all(len(SEPARATOR.join(texts[i] for i in g)) <= 100 for g in groups)
    assert pack(["x" * 250], limit=100) == [[0]]                 # too long for any message: alone, whole
    assert pack([]) == []


def test_the_enrichment_is_one_message_and_each_reply_its_own_timeline_event(make_deps: Callable[..., Deps], slack: SlackEmulator) -> None:
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
    replies = [r for r in slack.replies(CHANNEL, inc.root_ts or "") if not r.get("files")]
    assert len(replies) == 1                              # three connectors, Flink, MySQL, Docker, graph: one post
    assert len(slack.calls("files.completeUploadExternal")) == 3   # each connector's trace file, as before
    text = replies[0]["text"]
    assert all(f"`{name}`" in text for name in ("mysql-oltp-orders", "b-cdc", "c-cdc"))
    assert "*Flink*" in text and "*MySQL*" in text and "*Docker*" in text
    kinds = sorted(e.data["kind"].rsplit(":", 1)[0] for e in deps.store.events(inc.id) if e.kind == "bot_post")
    assert kinds == ["enrich:connect:0", "enrich:connect:1", "enrich:connect:2", "enrich:flink:0", "enrich:graph:0", "enrich:links:0",
                     "enrich:logs:0", "enrich:schema:0"]
    assert all(e.ts == float(replies[0]["ts"]) for e in deps.store.events(inc.id) if e.kind == "bot_post")
