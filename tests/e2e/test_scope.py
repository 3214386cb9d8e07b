"""What an incident concerns, found from the alert, the pipeline file and the pipeline itself (issue #12).

The real bot process against the Kafka Connect and Flink simulators over HTTP and real Redis: the
connector an alert names is the one whose status reaches the thread and whose restart is proposed, even
when the pipeline file names another; with no pipeline file at all, Connect's connector configs say which
connector captures the alert's table.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import pytest

from bot.sandbox.connect_sim import ConnectSimulator
from bot.sandbox.flink_sim import FlinkSimulator
from bot.sandbox.slack_emulator import SlackEmulator
from tests.e2e.alerting import alert, notification, post
from tests.e2e.conftest import SCHEMA_TRACE, DriftTable
from tests.e2e.test_alert_intake import wait_thread
from tests.e2e.test_runbook import ALICE, BOB, button_message, text_in_thread
from tests.harness import CHANNEL, BotProcess

MYSQL_CDC = "io.debezium.connector.mysql.MySqlConnector"
SECRET = "s3cret-from-connect-config"


def debezium(**config: str) -> dict[str, str]:
    return {"connector.class": MYSQL_CDC, "tasks.max": "1", "database.hostname": "127.0.0.1",
            "database.user": "debezium", "database.password": SECRET, **config}


@pytest.fixture
def cdc_connect() -> Iterator[ConnectSimulator]:
    """Connect with connectors the pipeline file does not name: one captures oltp.orders and FAILED."""
    with ConnectSimulator(restart_delay=0.2) as sim:
        sim.add_connector("oltp-orders-cdc", debezium(**{"table.include.list": "oltp.orders",
                                                         "topic.prefix": "dbserver1"}))
        sim.fail_task("oltp-orders-cdc", 0, SCHEMA_TRACE)
        sim.add_connector("billing-cdc", debezium(**{"database.include.list": "billing",
                                                     "topic.prefix": "billing"}))
        yield sim


@pytest.fixture
def cdc_flink() -> Iterator[FlinkSimulator]:
    with FlinkSimulator() as sim:
        jid = sim.add_job("cdc-orders-enrich")
        sim.fail_and_restart(jid, "java.lang.RuntimeException",
                             "java.lang.RuntimeException: Failed to deserialize Debezium record at offset 19")
        yield sim


def _blocks(message: dict[str, object]) -> str:
    return json.dumps(message.get("blocks"))


def test_the_connector_and_job_the_alert_names_win_over_the_pipeline_file(
        start_bot: Callable[..., BotProcess], slack: SlackEmulator, cdc_connect: ConnectSimulator,
        cdc_flink: FlinkSimulator) -> None:
    bot = start_bot(CONNECT_URL=cdc_connect.url, FLINK_URL=cdc_flink.url, APPROVERS=f"{ALICE},{BOB}")
    labels = dict(connector="oltp-orders-cdc", table="oltp.orders", job_name="cdc_orders_enrich")
    assert post(bot.url, notification(alert("ConnectorTaskFailed", **labels))).status_code == 200
    replies = wait_thread(slack, "`oltp-orders-cdc`", "`cdc-orders-enrich`")
    texts = "\n".join(r["text"] for r in replies)
    line = next(r["text"] for r in replies if "`oltp-orders-cdc`" in r["text"] and "Kafka Connect" in r["text"])
    assert "FAILED" in line and "schema" in line.lower()
    # the pipeline file's connector is not in Connect: said once, not asked for
    assert "`mysql-oltp-orders` is named by the alert or the pipeline file" in texts
    assert "does not exist" not in texts and "billing-cdc" not in texts
    # job_name="cdc_orders_enrich" is how Prometheus writes the job cdc-orders-enrich
    assert "RESTART" in next(r["text"] for r in replies if "`cdc-orders-enrich`" in r["text"]).upper()
    assert SECRET not in str(slack.messages(CHANNEL)) + texts

    slack.slash_command(ALICE, "run restart-connector")
    request = button_message(slack, "approve_step")
    assert "/connectors/oltp-orders-cdc/restart" in _blocks(request)
    slack.click(BOB, CHANNEL, request["ts"], "approve_step")
    text_in_thread(slack, "is RUNNING again", timeout=30)
    assert cdc_connect.status("oltp-orders-cdc")["tasks"][0]["state"] == "RUNNING"


def test_without_a_pipeline_file_connect_says_which_connector_captures_the_table(
        start_bot: Callable[..., BotProcess], slack: SlackEmulator, drift_table: DriftTable) -> None:
    with ConnectSimulator(restart_delay=0.2) as sim:
        sim.add_connector("shop-cdc", debezium(**{"database.include.list": drift_table.db, "topic.prefix": "shop"}))
        sim.fail_task("shop-cdc", 0, SCHEMA_TRACE)
        sim.add_connector("billing-cdc", debezium(**{"database.include.list": "billing", "topic.prefix": "billing"}))
        env = {**drift_table.env, "PIPELINE_FILE": ""}
        bot = start_bot(**env, CONNECT_URL=sim.url, APPROVERS=f"{ALICE},{BOB}")
        assert post(bot.url, notification(alert("SchemaDriftDetected", table=drift_table.table))).status_code == 200
        replies = wait_thread(slack, "`shop-cdc`", "*Schema*")
        texts = "\n".join(r["text"] for r in replies)
        assert "FAILED" in next(r["text"] for r in replies if "`shop-cdc`" in r["text"])
        assert "billing-cdc" not in texts
        assert f"`{drift_table.table}`" in next(r["text"] for r in replies if "*Schema*" in r["text"])

        slack.slash_command(ALICE, "run restart-connector")   # its pre-check diffs the discovered table
        request = button_message(slack, "approve_step")
        assert "/connectors/shop-cdc/restart" in _blocks(request)
        assert not [e for e in slack.ephemerals(ALICE) if "needs a" in e["text"]]


def test_a_connect_that_is_down_gives_a_thread_from_what_is_known(
        start_bot: Callable[..., BotProcess], slack: SlackEmulator) -> None:
    bot = start_bot(CONNECT_URL="http://127.0.0.1:9", PIPELINE_FILE="")
    assert post(bot.url, notification(alert("SchemaDriftDetected", table="oltp.orders"))).status_code == 200
    replies = wait_thread(slack, "Kafka Connect")
    line = next(r["text"] for r in replies if "Kafka Connect" in r["text"])
    assert "could not be discovered" in line and "connection refused" in line
