"""The incident channel archived (Slack: `is_archived`): the incident moves on to FALLBACK_CHANNEL under a
new root that says why; without a channel to go to, its alerts are held, never dead-lettered, and land once
the channel is unarchived."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx

from bot.sandbox.slack_emulator import SlackEmulator
from tests.e2e.alerting import alert, notification, post
from tests.e2e.test_alert_intake import DRIFT, roots
from tests.harness import CHANNEL, BotProcess

FALLBACK = "C0FALLBACK"


def roots_in(slack: SlackEmulator, channel: str) -> list[dict[str, Any]]:
    return [m for m in slack.messages(channel)
            if (m.get("metadata") or {}).get("event_payload", {}).get("kind", "").startswith("root")]


def test_an_archived_channel_moves_the_incident_to_the_fallback_channel(
        start_bot: Callable[..., BotProcess], slack: SlackEmulator, redis_client: Any) -> None:
    slack.add_channel(FALLBACK, "incidents-fallback")
    bot = start_bot(FALLBACK_CHANNEL=FALLBACK)
    post(bot.url, notification(alert("SchemaDriftDetected", **DRIFT)))
    old = slack.wait_for(lambda: roots(slack), what="INC-1's root")[0]["ts"]
    slack.state.set_archived(CHANNEL, True)                     # someone archived the incident channel
    post(bot.url, notification(alert("FlinkJobRestarting", job_name="cdc_orders_enrich")))   # joins INC-1
    post(bot.url, notification(alert("ConnectorTaskFailed", connector="other-connector")))   # a new incident

    moved = slack.wait_for(lambda: [m for m in roots_in(slack, FALLBACK) if "INC-1" in m["text"]],
                           what="INC-1's root in the fallback channel")
    assert len(moved) == 1 and "was archived or deleted" in json.dumps(moved[0].get("blocks"))
    slack.wait_for(lambda: [r for r in slack.replies(FALLBACK, moved[0]["ts"])
                            if "FlinkJobRestarting" in r.get("text", "")], what="the joined alert's line")
    slack.wait_for(lambda: [m for m in roots_in(slack, FALLBACK) if "INC-2" in m["text"]], what="INC-2's root")
    inc1 = json.loads(redis_client.get("dfo:incident:INC-1"))
    assert (inc1["channel"], inc1["root_ts"], inc1["moved_from"]) == (FALLBACK, moved[0]["ts"], CHANNEL)
    assert [m["ts"] for m in roots(slack)] == [old]              # nothing more in the archived channel
    assert len([m for m in roots_in(slack, FALLBACK) if "INC-1" in m["text"]]) == 1
    assert redis_client.xlen("dfo:alerts:dead") == 0


def test_without_a_channel_to_go_to_alerts_are_held_until_the_channel_is_unarchived(
        start_bot: Callable[..., BotProcess], slack: SlackEmulator, redis_client: Any) -> None:
    slack.state.set_archived(CHANNEL, True)
    bot = start_bot(WORKER_CLAIM_IDLE_SECONDS="0.3", WORKER_MAX_ATTEMPTS="2")
    post(bot.url, notification(alert("SchemaDriftDetected", **DRIFT)))

    def tried_often() -> bool:
        return len(slack.calls("chat.postMessage")) >= 4         # twice the attempts that would dead-letter it
    slack.wait_for(tried_often, timeout=20, what="several attempts at the root")
    assert redis_client.xlen("dfo:alerts:dead") == 0
    assert redis_client.xpending("dfo:alerts", "dfo-workers")["pending"] == 1   # held, not given up
    assert roots(slack) == []
    health = httpx.get(bot.url + "/healthz", timeout=5).json()
    assert health["status"] == "degraded" and CHANNEL in health["checks"]["slack_channels"]["detail"]

    slack.state.set_archived(CHANNEL, False)                    # someone unarchived it
    [root] = slack.wait_for(lambda: roots(slack), timeout=20, what="the root once the channel takes posts")
    assert "INC-1" in root["text"]
    slack.wait_for(lambda: redis_client.xpending("dfo:alerts", "dfo-workers")["pending"] == 0, what="the entry acked")
    assert redis_client.xlen("dfo:alerts:dead") == 0
