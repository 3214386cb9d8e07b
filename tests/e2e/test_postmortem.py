"""The postmortem end to end: the real bot, the Slack emulator, the Connect/Flink simulators, real Redis."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import redis

from bot.clients.flink import FlinkClient
from bot.models import TimelineEvent
from bot.postmortem import record_forensics
from bot.sandbox.connect_sim import ConnectSimulator
from bot.sandbox.flink_sim import FlinkSimulator
from bot.sandbox.slack_emulator import SlackEmulator
from bot.schema.forensics import DdlEvent, ForensicsResult
from bot.store import Store
from tests.e2e.alerting import alert, notification, post
from tests.e2e.test_alert_intake import roots, wait_thread
from tests.harness import CHANNEL, WEBHOOK_TOKEN, BotProcess, run_cli

pytestmark = pytest.mark.e2e
DRIFT = alert("SchemaDriftDetected", table="oltp.orders")
DDL = "ALTER TABLE `oltp`.`orders` ADD COLUMN unexpected_field VARCHAR(64) NULL"
ROLLBACK = "ALTER TABLE `oltp`.`orders` DROP COLUMN `unexpected_field`"


def get_md(bot: BotProcess, incident: str, token: str | None = WEBHOOK_TOKEN) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.get(f"{bot.url}/incidents/{incident}/postmortem.md", headers=headers, timeout=20)


def test_http_export_wants_the_bearer_and_a_known_incident(bot: BotProcess) -> None:
    for token in (None, "wrong"):
        refused = get_md(bot, "INC-1", token)
        assert refused.status_code == 401 and "Bearer" in refused.json()["reason"]
    for name in ("INC-99", "nonsense"):
        missing = get_md(bot, name)
        assert missing.status_code == 404 and missing.json()["error"] == "not found"
    cli = run_cli(["postmortem", "INC-99"], bot.env)
    assert cli.returncode == 2 and "Unknown incident INC-99" in cli.stderr and not cli.stdout


def wait_captured(client: redis.Redis, incident: str, *source_ids: str) -> None:
    def captured() -> bool:
        return all(client.hexists(f"dfo:timeline:{incident}", s) for s in source_ids)
    deadline = time.monotonic() + 10
    while not captured():
        assert time.monotonic() < deadline, f"{source_ids} not captured"
        time.sleep(0.02)


def run_approved_rollback(store: Store) -> None:
    """The runbook engine's events, as its contract says it records them (engine built in parallel)."""
    approval = {"approval_id": "apr-1", "step": "rollback-column"}
    for kind, actor, text, data in [
        ("approval_requested", "U0ALICE", "Approval requested", {"action": ROLLBACK, "requester": "U0ALICE"}),
        ("approval_decided", "U0BOB", "Approved", {"decision": "approved", "requester": "U0ALICE",
                                                   "approver": "U0BOB"}),
        ("execution", "bot", "Executing rollback-column", {}),
        ("result", "bot", "rollback-column succeeded", {"ok": True, "detail": "column dropped"}),
    ]:
        store.add_event("INC-1", TimelineEvent(ts=time.time(), kind=kind, actor=actor, text=text,  # type: ignore[arg-type]
                                               source_id=f"apr-1:{kind}", data={**approval, **data}))


def uploaded(slack: SlackEmulator, count: int) -> list[bytes]:
    def ready() -> list[bytes] | None:
        files = [f["content"] for f in slack.files() if f["name"] == "postmortem-INC-1.md" and f["content"]]
        return files if len(files) >= count else None
    return slack.wait_for(ready, timeout=20, what=f"{count} postmortem upload(s)")


def button_message(slack: SlackEmulator, root_ts: str) -> dict[str, Any]:
    return slack.wait_for(lambda: next((m for m in slack.replies(CHANNEL, root_ts)
                                        if "draft_postmortem" in str(m.get("blocks"))), None))


def test_the_drill_exports_the_same_draft_everywhere(pipeline_bot: BotProcess, slack: SlackEmulator,
                                                     connect_sim: ConnectSimulator, flink_sim: FlinkSimulator,
                                                     redis_client: redis.Redis, tmp_path: Any) -> None:
    assert post(pipeline_bot.url, notification(DRIFT)).status_code == 200
    wait_thread(slack, "Kafka Connect", "Flink")
    root_ts = roots(slack)[0]["ts"]
    first = slack.post_user_message("U0ALICE", CHANNEL, "Looking at it: connector task FAILED", thread_ts=root_ts)
    second = slack.post_user_message("U0BOB", CHANNEL, "That was me, I ran the ALTER by hand", thread_ts=root_ts)
    slack.add_reaction("U0ALICE", CHANNEL, second, "pushpin")
    wait_captured(redis_client, "INC-1", f"msg:{first}", f"msg:{second}")
    store = Store(redis_client)
    run_approved_rollback(store)
    ddl = DdlEvent(DDL, datetime.now(UTC).replace(microsecond=0), "mysql-bin.000001", 4242, 4400, 1, None)
    record_forensics(store, "INC-1", ForensicsResult(available=True, statements=[ddl]))
    connect_sim.set_task_state("mysql-oltp-orders", 0, "RUNNING")
    assert post(pipeline_bot.url, notification({**DRIFT, "status": "resolved",
                                                "endsAt": "2026-11-26T07:30:00Z"})).status_code == 200
    wait_thread(slack, "are resolved")
    slack.wait_for(lambda: any(k.startswith("incident-resolved:") for k in redis_client.hkeys("dfo:timeline:INC-1")),
                   what="the incident_resolved event")

    with FlinkClient(flink_sim.url, stable_seconds=1) as flink:   # the bot's FLINK_STABLE_SECONDS
        slack.wait_for(lambda: flink.job_health("cdc-orders-enrich").healthy, what="the Flink job stable again")
    slack.slash_command("U0ALICE", "postmortem INC-1")
    in_thread = uploaded(slack, 1)[0]
    over_http = get_md(pipeline_bot, "INC-1")
    cli = run_cli(["postmortem", "INC-1", "-o", str(tmp_path / "pm.md")], pipeline_bot.env)
    assert over_http.status_code == 200 and over_http.headers["content-type"].startswith("text/markdown")
    assert cli.returncode == 0, cli.stderr
    assert in_thread == over_http.content == (tmp_path / "pm.md").read_bytes()
    assert run_cli(["postmortem", "INC-1"], pipeline_bot.env).stdout.encode() == in_thread

    text = in_thread.decode()
    timeline = text.split("## Full timeline")[1].split("## Links")[0]
    order = ["INC-1 opened", "Looking at it", "I ran the ALTER", "Approval requested", "Approved",
             "rollback-column succeeded", "All alerts resolved", "Postmortem draft requested"]
    assert [timeline.index(s) for s in order] == sorted(timeline.index(s) for s in order)
    assert "★ That was me, I ran the ALTER by hand" in timeline               # pinned: a key event
    assert "That was me, I ran the ALTER by hand" in text.split("## Key events")[1].split("## Impact")[0]
    assert DDL in text.split("## Root cause")[1]
    actions = text.split("## Response")[1].split("## Root cause")[0]
    assert "requested by Alice Nguyen (U0ALICE)" in actions and "Approved by Bob Tran (U0BOB)" in actions
    # The thread showed the task FAILED on a change event; RUNNING again (restarted outside the bot here) may
    # mean that event was skipped (reference difference 10): not ticked.
    assert ("- [ ] Connector `mysql-oltp-orders` RUNNING — connector RUNNING, task 0 RUNNING (checked live), but it "
            "resumed after failing on a change event") in text and "may have been skipped" in text
    assert "- [x] Alert clear" in text
    assert "- [x] Flink job `cdc-orders-enrich` RUNNING — job RUNNING (checked live)" in text
    assert "hunter2-connect-secret" not in text

    connect_sim.fail_task("mysql-oltp-orders", 0, "io.debezium.DebeziumException: schema isn't known")
    assert "- [ ] Connector `mysql-oltp-orders` RUNNING — connector RUNNING, task 0 FAILED" in get_md(
        pipeline_bot, "INC-1").text

    slack.click("U0BOB", CHANNEL, button_message(slack, root_ts)["ts"], "draft_postmortem")
    again = uploaded(slack, 2)[1].decode()
    assert "- [ ] Connector `mysql-oltp-orders` RUNNING" in again and "(via button)" in again


def test_messages_missed_while_the_bot_was_down_are_backfilled(start_bot: Callable[..., BotProcess],
                                                              slack: SlackEmulator,
                                                              redis_client: redis.Redis) -> None:
    first_bot = start_bot()
    assert post(first_bot.url, notification(DRIFT)).status_code == 200
    wait_thread(slack, "Kafka Connect", "Flink")
    root_ts = roots(slack)[0]["ts"]
    first_bot.stop()
    missed = []
    for user, text in [("U0ALICE", "Bot is down; connector still FAILED"), ("U0BOB", "Dropping the column now")]:
        with pytest.raises(httpx.TransportError):      # Slack stores the message; its event reaches nobody
            slack.post_user_message(user, CHANNEL, text, thread_ts=root_ts)
        missed.append(slack.replies(CHANNEL, root_ts)[-1]["ts"])
    assert not any(redis_client.hexists("dfo:timeline:INC-1", f"msg:{ts}") for ts in missed)

    second_bot = start_bot()
    slack.request_url = second_bot.url + "/slack/events"
    cli = run_cli(["postmortem", "INC-1"], second_bot.env)
    assert cli.returncode == 0, cli.stderr
    timeline = cli.stdout.split("## Full timeline")[1]
    assert timeline.index("Bot is down") < timeline.index("Dropping the column now")
    assert "Alice Nguyen (U0ALICE)" in timeline and "Bob Tran (U0BOB)" in timeline
    assert get_md(second_bot, "INC-1").text == cli.stdout
