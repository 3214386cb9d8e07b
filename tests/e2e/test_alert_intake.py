"""POST /alerts to the real bot: one thread per incident, enrichment, repeats, resolves, crashes."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import httpx

from bot.sandbox.connect_sim import ConnectSimulator
from bot.sandbox.slack_emulator import SlackEmulator
from tests.e2e.alerting import alert, notification, post
from tests.harness import CHANNEL, WEBHOOK_TOKEN, BotProcess

DRIFT = dict(table="oltp.orders")


def roots(slack: SlackEmulator) -> list[dict[str, Any]]:
    return [m for m in slack.messages(CHANNEL)
            if (m.get("metadata") or {}).get("event_payload", {}).get("kind") == "root"]


def wait_thread(slack: SlackEmulator, *needles: str) -> list[dict[str, Any]]:
    """The thread's replies once each needle appears in one of them."""
    root = slack.wait_for(lambda: roots(slack), what="the root message")[0]

    def ready() -> list[dict[str, Any]] | None:
        replies = slack.replies(CHANNEL, root["ts"])
        text = "\n".join(r.get("text", "") for r in replies)
        return replies if all(n in text for n in needles) else None

    return slack.wait_for(ready, what=f"thread replies with {needles}")


def test_auth_and_bad_payloads_are_refused_and_nothing_is_stored(bot: BotProcess, slack: SlackEmulator,
                                                                 redis_client: Any) -> None:
    payload = notification(alert("SchemaDriftDetected", **DRIFT))
    assert post(bot.url, payload, token="wrong").status_code == 401
    assert httpx.post(bot.url + "/alerts", json=payload).status_code == 401
    assert post(bot.url, b"{not json").status_code == 400
    bad_version = post(bot.url, {**payload, "version": "3"})
    assert bad_version.status_code == 400 and "version" in bad_version.json()["reason"]
    no_alerts = post(bot.url, {**payload, "alerts": []})
    assert no_alerts.status_code == 400 and no_alerts.json()["error"] == "invalid payload"
    huge = post(bot.url, b'{"version": "4", "pad": "' + b"x" * (1024 * 1024) + b'"}')
    assert huge.status_code == 413 and "reason" in huge.json()
    assert redis_client.xlen("dfo:alerts") == 0
    basic = base64.b64encode(f"alertmanager:{WEBHOOK_TOKEN}".encode()).decode()
    resp = httpx.post(bot.url + "/alerts", json=payload, headers={"Authorization": f"Basic {basic}"})
    assert resp.status_code == 200


def test_firing_alert_gives_one_root_and_enrichment(pipeline_bot: BotProcess, slack: SlackEmulator) -> None:
    assert post(pipeline_bot.url, notification(alert("SchemaDriftDetected", **DRIFT))).status_code == 200
    replies = wait_thread(slack, "Kafka Connect", "Flink")
    root = roots(slack)[0]
    assert "INC-1" in root["text"] and "SchemaDriftDetected" in root["text"]
    texts = "\n".join(r["text"] for r in replies)
    assert "mysql-oltp-orders" in texts and "FAILED" in texts
    assert "schema" in texts.lower()                      # the Debezium failure classified
    assert "cdc-orders-enrich" in texts and "RESTART" in texts.upper()
    assert "hunter2-connect-secret" not in str(slack.messages(CHANNEL)) + str(replies)


def test_repeats_redeliveries_and_a_second_alertname_share_one_thread(
        pipeline_bot: BotProcess, slack: SlackEmulator) -> None:
    first = notification(alert("SchemaDriftDetected", **DRIFT))
    for _ in range(3):
        assert post(pipeline_bot.url, first).status_code == 200
    wait_thread(slack, "Kafka Connect", "Flink")
    joined = notification(alert("ConnectorTaskFailed", connector="mysql-oltp-orders"))
    assert post(pipeline_bot.url, joined).status_code == 200
    root = roots(slack)[0]
    slack.wait_for(lambda: any("Also firing" in r["text"] for r in slack.replies(CHANNEL, root["ts"])),
                   what="the joined alert in the thread")
    assert len(roots(slack)) == 1
    edited = slack.wait_for(lambda: (m := slack.message(CHANNEL, root["ts"])) and "2 of 2" in str(m["blocks"]) and m)
    assert "(x3)" in str(edited["blocks"])                 # the repeats, counted on the root


def test_resolved_posts_a_line_and_edits_the_root(pipeline_bot: BotProcess, slack: SlackEmulator) -> None:
    firing = alert("SchemaDriftDetected", **DRIFT)
    post(pipeline_bot.url, notification(firing))
    wait_thread(slack, "Kafka Connect", "Flink")
    resolved = {**firing, "status": "resolved", "endsAt": "2026-11-26T07:10:00Z"}
    assert post(pipeline_bot.url, notification(resolved)).status_code == 200
    root = roots(slack)[0]
    slack.wait_for(lambda: any("All alerts of INC-1 are resolved" in r["text"]
                               for r in slack.replies(CHANNEL, root["ts"])), what="the resolved line")
    edited = slack.wait_for(lambda: (m := slack.message(CHANNEL, root["ts"])) and m["text"].startswith(
        "[RESOLVED]") and m, what="the root edited (the root editor coalesces edits, so it may come after the line)")
    assert "Resolved* after" in str(edited["blocks"])
    assert len(roots(slack)) == 1


def test_unicode_labels_missing_table_many_alerts_and_zero_ends(bot: BotProcess, slack: SlackEmulator) -> None:
    many = [alert("DiskAlmostFull", instance=f"node-{i}", note="ổ đĩa đầy ✓") for i in range(500)]
    assert post(bot.url, notification(*many, truncated=12)).status_code == 200
    root = slack.wait_for(lambda: roots(slack), what="a root for the unmapped group")[0]
    assert "INC-1" in root["text"]
    assert "500 of 500" in str(slack.wait_for(lambda: slack.message(CHANNEL, root["ts"])))
    assert "Alertmanager left 12 alert(s) out" in str(root["blocks"])
    assert len(str(root["blocks"])) < 12000                # Block Kit limits respected


def test_a_bot_killed_before_posting_is_recovered_exactly_once(
        start_bot: Callable[..., BotProcess], slack: SlackEmulator, connect_sim: ConnectSimulator) -> None:
    env = dict(CONNECT_URL=connect_sim.url, WORKER_CLAIM_IDLE_SECONDS="1", SLACK_POST_LOCK_SECONDS="2")
    first = start_bot(**env)
    slack.set_latency(3.0, "chat.postMessage")             # the post is in flight when the bot dies
    assert post(first.url, notification(alert("SchemaDriftDetected", **DRIFT))).status_code == 200
    slack.wait_for(lambda: slack.calls("chat.postMessage"), what="the bot's first post attempt")
    first.kill()
    slack.wait_for(lambda: roots(slack), timeout=10, what="the in-flight root landing after the kill")
    slack.clear_faults()
    start_bot(**env)
    replies = wait_thread(slack, "Kafka Connect", "Flink")
    assert len(roots(slack)) == 1
    assert sum("Kafka Connect" in r["text"] for r in replies) == 1


def test_two_bot_processes_give_one_root(start_bot: Callable[..., BotProcess], slack: SlackEmulator) -> None:
    a, b = start_bot(), start_bot()
    payload = notification(alert("SchemaDriftDetected", **DRIFT))
    for bot in (a, b, a, b):
        assert post(bot.url, payload).status_code == 200
    wait_thread(slack, "Kafka Connect", "Flink")
    assert len(roots(slack)) == 1


def test_connect_answering_html_gives_a_clear_line(pipeline_bot: BotProcess, slack: SlackEmulator,
                                                   connect_sim: ConnectSimulator) -> None:
    connect_sim.inject(500, body="<html><body>Bad gateway</body></html>", content_type="text/html", times=5)
    post(pipeline_bot.url, notification(alert("SchemaDriftDetected", **DRIFT)))
    replies = wait_thread(slack, "Kafka Connect", "Flink")
    line = next(r["text"] for r in replies if "Kafka Connect" in r["text"])
    assert "did not answer" in line and "HTTP 500" in line and connect_sim.url.split("//")[1] in line


def test_an_entry_that_keeps_failing_is_dead_lettered_and_reported(
        start_bot: Callable[..., BotProcess], slack: SlackEmulator, redis_client: Any) -> None:
    slack.inject("chat.postMessage", status=200, retry_after=None, error="fatal_error", times=2)
    bot = start_bot(WORKER_CLAIM_IDLE_SECONDS="0.3", WORKER_MAX_ATTEMPTS="2")
    assert post(bot.url, notification(alert("SchemaDriftDetected", **DRIFT))).status_code == 200
    report = slack.wait_for(lambda: [m for m in slack.messages(CHANNEL) if "dead-letter" in m["text"]],
                            timeout=15, what="the dead-letter report")
    assert "could not be processed after 2 attempts" in report[0]["text"]
    assert redis_client.xlen("dfo:alerts:dead") == 1
    assert redis_client.xpending("dfo:alerts", "dfo-workers")["pending"] == 0


def test_the_thread_shows_the_schema_diff_with_forensics_and_logs(
        start_bot: Callable[..., BotProcess], slack: SlackEmulator, drift_table: Any) -> None:
    drift_table.alter("ALTER TABLE orders ADD COLUMN unexpected_field VARCHAR(64) NULL")
    bot = start_bot(**drift_table.env, DOCKER_HOST="tcp://127.0.0.1:9")
    post(bot.url, notification(alert("SchemaDriftDetected", table=drift_table.table)))
    replies = wait_thread(slack, "*Schema*", "*Docker*")
    schema = next(r["text"] for r in replies if "*Schema*" in r["text"])
    assert "```diff" in schema and "+ unexpected_field" in schema
    assert "contract file v1" in schema
    assert "DDL forensics unavailable: binary logging is off" in schema or "ALTER TABLE" in schema
    docker = next(r["text"] for r in replies if "*Docker*" in r["text"])
    assert "did not answer" in docker and "127.0.0.1:9" in docker


def test_redis_down_gives_503_and_a_restart_loses_nothing(own_redis: Any, slack: SlackEmulator) -> None:
    from tests.conftest import free_port
    from tests.harness import bot_env

    bot = BotProcess(bot_env(own_redis.url, slack.api_url, free_port())).start()
    try:
        assert post(bot.url, notification(alert("SchemaDriftDetected", **DRIFT))).status_code == 200
        slack.wait_for(lambda: roots(slack), what="the first root")
        own_redis.stop()
        refused = post(bot.url, notification(alert("DiskAlmostFull", instance="db-1")))
        assert refused.status_code == 503 and "retry" in refused.json()["reason"]
        own_redis.start()
        accepted = post(bot.url, notification(alert("DiskAlmostFull", instance="db-1")))
        assert accepted.status_code == 200
        slack.wait_for(lambda: len(roots(slack)) == 2, timeout=20, what="the second incident after the restart")
        assert [("INC-1" in r["text"], "INC-2" in r["text"]) for r in roots(slack)] == [(True, False), (False, True)]
    finally:
        bot.stop()


def test_firing_again_within_the_window_reopens_and_after_it_opens_anew(
        start_bot: Callable[..., BotProcess], slack: SlackEmulator) -> None:
    first = alert("SchemaDriftDetected", **DRIFT)
    again = alert("SchemaDriftDetected", starts="2026-11-26T08:00:00Z", **DRIFT)
    bot = start_bot()
    post(bot.url, notification(first))
    root = slack.wait_for(lambda: roots(slack))[0]
    post(bot.url, notification({**first, "status": "resolved", "endsAt": "2026-11-26T07:10:00Z"}))
    slack.wait_for(lambda: (slack.message(CHANNEL, root["ts"]) or {}).get("text", "").startswith("[RESOLVED]"))
    post(bot.url, notification(again))
    slack.wait_for(lambda: any("reopened" in r["text"] for r in slack.replies(CHANNEL, root["ts"])),
                   what="the reopen line in the same thread")
    assert len(roots(slack)) == 1
    assert slack.wait_for(lambda: (m := slack.message(CHANNEL, root["ts"])) and m["text"].startswith("[FIRING]"))
    bot.stop()


def test_firing_again_after_the_window_opens_a_new_incident(start_bot: Callable[..., BotProcess],
                                                           slack: SlackEmulator) -> None:
    first = alert("SchemaDriftDetected", **DRIFT)
    bot = start_bot(INCIDENT_REOPEN_SECONDS="0")
    post(bot.url, notification(first))
    root = slack.wait_for(lambda: roots(slack))[0]
    post(bot.url, notification({**first, "status": "resolved", "endsAt": "2026-11-26T07:10:00Z"}))
    slack.wait_for(lambda: (slack.message(CHANNEL, root["ts"]) or {}).get("text", "").startswith("[RESOLVED]"))
    post(bot.url, notification(alert("SchemaDriftDetected", starts="2026-11-26T08:00:00Z", **DRIFT)))
    second = slack.wait_for(lambda: len(roots(slack)) == 2 and roots(slack)[1], what="a second incident")
    assert "INC-2" in second["text"]


def test_a_secret_in_an_alert_annotation_never_reaches_slack(bot: BotProcess, slack: SlackEmulator) -> None:
    leaky = alert("ConnectorTaskFailed", connector="mysql-oltp-orders")
    leaky["annotations"]["summary"] = "connect failed: jdbc:mysql://debezium:Sup3rSecretPw@mysql:3306/oltp"
    post(bot.url, notification(leaky))
    root = slack.wait_for(lambda: roots(slack))[0]
    assert "Sup3rSecretPw" not in str(root) and "debezium:********@mysql" in str(root["blocks"])


def test_a_deleted_root_gets_a_new_root_and_the_incident_carries_on(bot: BotProcess, slack: SlackEmulator,
                                                                     redis_client: Any) -> None:
    drift = alert("SchemaDriftDetected", **DRIFT)
    post(bot.url, notification(drift))
    old = slack.wait_for(lambda: roots(slack), what="INC-1's root")[0]["ts"]
    wait_thread(slack, "*Flink*", "*MySQL*", "*Docker*")       # the enrichment is done: the repeat edits
    slack.state.delete(CHANNEL, old)                          # someone deleted it; Slack has no undo
    post(bot.url, notification(drift))                        # a repeat: edits the root
    post(bot.url, notification(alert("FlinkJobRestarting", job_name="cdc_orders_enrich")))   # joins INC-1

    def new_root() -> dict[str, Any] | None:
        # Posted as kind `root-after:<old ts>` (its own post_once key); the root editor's next edit stamps
        # it `root`, and this must not wait for that edit (it may never be asked for).
        return next((m for m in slack.messages(CHANNEL) if "was deleted" in json.dumps(m.get("blocks"))
                     and m["metadata"]["event_payload"]["kind"].startswith("root")), None)

    root = slack.wait_for(new_root, what="the new root")
    assert "INC-1" in root["text"] and root["ts"] != old
    joined = slack.wait_for(lambda: [r for r in slack.replies(CHANNEL, root["ts"])
                                     if "FlinkJobRestarting" in r.get("text", "")], what="the new alert's line")
    assert len(joined) == 1
    assert len([m for m in slack.messages(CHANNEL) if "INC-1" in m.get("text", "")]) == 1   # one new root only
    assert redis_client.xlen("dfo:alerts:dead") == 0            # nothing dead-lettered
    assert json.loads(redis_client.get("dfo:incident:INC-1"))["root_ts"] == root["ts"]   # the incident's root now
