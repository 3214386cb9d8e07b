"""Helpers for the /dataflow subcommand tests: answers as the user sees them, the incident thread."""

from __future__ import annotations

from typing import Any

import httpx

from bot.sandbox.slack_emulator import SlackEmulator
from tests.e2e.alerting import alert, notification, post
from tests.e2e.test_alert_intake import roots
from tests.harness import CHANNEL


def ask(slack: SlackEmulator, user: str, text: str) -> str:
    """Run `/dataflow text` as `user`; the private answer after the "Working on" ack."""
    before = len(slack.ephemerals(user))
    slack.slash_command(user, text)

    def answered() -> list[dict[str, Any]]:
        return [e for e in slack.ephemerals(user)[before:] if "Working on" not in e["text"]]

    return str(slack.wait_for(answered, what=f"the answer to `{text}`")[-1]["text"])


def command_replies(slack: SlackEmulator, root_ts: str) -> list[dict[str, Any]]:
    """The thread's replies that answer a command (message metadata kind "command")."""
    return [r for r in slack.replies(CHANNEL, root_ts)
            if (r.get("metadata") or {}).get("event_payload", {}).get("kind") == "command"]


def ask_in_thread(slack: SlackEmulator, user: str, text: str, root_ts: str) -> str:
    before = len(command_replies(slack, root_ts))
    slack.slash_command(user, text)
    replies = slack.wait_for(lambda: command_replies(slack, root_ts)[before:], what=f"`{text}` in the thread")
    return str(replies[-1]["text"])


def open_incident(slack: SlackEmulator, bot_url: str, alertname: str = "SchemaDriftDetected",
                  **labels: str) -> str:
    """Fire an alert and return the ts of the incident's root message."""
    count = len(roots(slack))
    assert post(bot_url, notification(alert(alertname, **labels))).status_code == 200
    return str(slack.wait_for(lambda: roots(slack)[count:], what="the root message")[0]["ts"])


def gauge(bot_url: str, schema: str, table: str) -> str | None:
    """The value of dataflow_schema_drift_columns for the table on this bot's /metrics, if exported."""
    prefix = f'dataflow_schema_drift_columns{{schema="{schema}",table="{table}"}} '
    lines = httpx.get(bot_url + "/metrics", timeout=5).text.splitlines()
    return next((line[len(prefix):] for line in lines if line.startswith(prefix)), None)
