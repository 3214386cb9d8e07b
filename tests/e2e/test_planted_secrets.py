"""Secrets planted in every input the bot relays never come out: not in Slack, the logs (INFO and DEBUG),
the postmortem or /healthz.

Inputs: the connector's config and FAILED trace (Kafka Connect), a Flink exception, container logs (Docker),
alert labels and annotations, what people type (a command argument, a message in the thread) and the bot's
own CONNECT_URL with credentials in it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import httpx
import pytest

from bot.sandbox.connect_sim import ConnectSimulator
from bot.sandbox.docker_sim import DockerEngineSimulator
from bot.sandbox.flink_sim import FlinkSimulator
from bot.sandbox.slack_emulator import SlackEmulator
from tests.e2e.alerting import alert, notification, post
from tests.e2e.test_alert_intake import roots, wait_thread
from tests.harness import CHANNEL, WEBHOOK_TOKEN, BotProcess
from tests.security.corpus import CORPUS, leaks, planted_text

CONNECT_URL_SECRET = "connect-url-plant-pw-0023"


@pytest.fixture
def leaky_backends() -> Iterator[tuple[ConnectSimulator, FlinkSimulator, DockerEngineSimulator]]:
    with ConnectSimulator() as connect, FlinkSimulator() as flink, DockerEngineSimulator() as docker:
        config = {"connector.class": "io.debezium.connector.mysql.MySqlConnector", "tasks.max": "1"}
        config.update({f"plant.{i}": p.text for i, p in enumerate(CORPUS)})
        connect.add_connector("mysql-oltp-orders", config)
        connect.fail_task("mysql-oltp-orders", 0, "org.apache.kafka.connect.errors.ConnectException: "
                          "schema isn't known to this connector\n" + planted_text())
        jid = flink.add_job("cdc-orders-enrich")
        flink.fail_and_restart(jid, "org.apache.flink.util.FlinkRuntimeException",
                               "org.apache.flink.util.FlinkRuntimeException: bad record\n" + planted_text())
        docker.add_container("dataflow-connect-1", "connect")
        for p in CORPUS:
            docker.append_log("dataflow-connect-1", f"ERROR schema {p.text}", stream="stderr")
        yield connect, flink, docker


def _outputs(bot: BotProcess, slack: SlackEmulator) -> dict[str, str]:
    postmortem = httpx.get(bot.url + "/incidents/INC-1/postmortem.md", timeout=30,
                           headers={"Authorization": f"Bearer {WEBHOOK_TOKEN}"})
    assert postmortem.status_code == 200
    healthz = httpx.get(bot.url + "/healthz", timeout=10).text
    slack_side = json.dumps([c.args for c in slack.calls()]) + json.dumps(slack.files(), default=str)
    bot.stop()
    return {"slack": slack_side + json.dumps(slack.response_posts()), "postmortem": postmortem.text,
            "healthz": healthz, "logs": bot.logs()}


@pytest.mark.parametrize("level", ["INFO", "DEBUG"])
def test_no_planted_secret_leaves_the_bot(
        level: str, start_bot: Callable[..., BotProcess], slack: SlackEmulator,
        leaky_backends: tuple[ConnectSimulator, FlinkSimulator, DockerEngineSimulator]) -> None:
    connect, flink, docker = leaky_backends
    connect_url = connect.url.replace("http://", f"http://dataflow:{CONNECT_URL_SECRET}@")
    bot = start_bot(CONNECT_URL=connect_url, FLINK_URL=flink.url, DOCKER_HOST=docker.docker_host,
                    LOG_LEVEL=level)
    leaky = alert("SchemaDriftDetected", table="oltp.orders", note=CORPUS[0].text)
    leaky["annotations"] = {"summary": CORPUS[4].text, "description": planted_text()}
    assert post(bot.url, notification(leaky)).status_code == 200
    wait_thread(slack, "Kafka Connect", "Flink", "*Logs*")
    root = roots(slack)[0]["ts"]
    slack.post_user_message("U0ALICE", CHANNEL, "found it: " + planted_text(), thread_ts=root)
    slack.slash_command("U0ALICE", f"runbook {CORPUS[2].text}")
    for command in ("status", "logs connect schema", "run connector-status"):
        slack.slash_command("U0ALICE", command)
    slack.wait_for(lambda: sum("Connector status" in m.get("text", "") for m in slack.replies(CHANNEL, root)),
                   what="the connector-status step's result")
    outputs = _outputs(bot, slack)
    found = {where: leaks(text) + ([CONNECT_URL_SECRET] if CONNECT_URL_SECRET in text else [])
             for where, text in outputs.items()}
    assert found == {"slack": [], "postmortem": [], "healthz": [], "logs": []}
    assert "********" in outputs["slack"] and "********" in outputs["postmortem"]   # they were there, masked
