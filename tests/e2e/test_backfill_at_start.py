"""A restarted bot records what people wrote in open incident threads while it was down, without an export."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
import redis

from bot.sandbox.slack_emulator import SlackEmulator
from tests.e2e.alerting import alert, notification, post
from tests.e2e.test_alert_intake import roots
from tests.harness import CHANNEL, BotProcess


def test_open_threads_are_backfilled_when_the_bot_starts(start_bot: Callable[..., BotProcess],
                                                         slack: SlackEmulator, redis_client: redis.Redis) -> None:
    first = start_bot()
    post(first.url, notification(alert("SchemaDriftDetected", table="oltp.orders")))
    root_ts = slack.wait_for(lambda: roots(slack))[0]["ts"]
    first.stop()
    with pytest.raises(httpx.TransportError):          # stored by Slack; its event reaches no bot
        slack.post_user_message("U0ALICE", CHANNEL, "Rolling back by hand while the bot is down", thread_ts=root_ts)
    missed = slack.replies(CHANNEL, root_ts)[-1]["ts"]
    assert not redis_client.hexists("dfo:timeline:INC-1", f"msg:{missed}")
    second = start_bot()
    slack.request_url = second.url + "/slack/events"
    slack.wait_for(lambda: redis_client.hexists("dfo:timeline:INC-1", f"msg:{missed}"),
                   what="the missed message in the timeline")
