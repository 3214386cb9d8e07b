"""The real bot in Socket Mode: an xapp- token and no signing secret; Slack's requests come over a WebSocket."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.sandbox.slack_emulator import SlackEmulator
from tests.conftest import free_port
from tests.harness import CHANNEL, BotProcess, bot_env, run_cli

APP_TOKEN = "xapp-1-A0SANDBOX-1-sandbox"


def socket_env(redis_url: str, slack: SlackEmulator) -> dict[str, str]:
    env = bot_env(redis_url, slack.api_url, free_port(), SLACK_APP_TOKEN=APP_TOKEN)
    del env["SLACK_SIGNING_SECRET"]  # Socket Mode requests are not signed: nothing to verify with
    return env


@pytest.fixture
def socket_bot(redis_url: str, slack: SlackEmulator) -> Iterator[BotProcess]:
    assert slack.app_token == APP_TOKEN
    bot = BotProcess(socket_env(redis_url, slack)).start()
    # serve connects before it answers HTTP; request_url stays unset, so nothing can go by HTTP
    slack.socket_mode = True
    yield bot
    bot.stop()


def test_help_is_the_ack_payload(socket_bot: BotProcess, slack: SlackEmulator) -> None:
    from bot.commands import REGISTRY

    resp = slack.slash_command("U0ALICE", "help")
    assert resp.status_code == 200
    body = resp.json()
    assert body["response_type"] == "ephemeral"
    for name in REGISTRY:
        assert f"/dataflow {name}" in body["text"]
    [delivery] = slack.deliveries()
    assert delivery.envelope_type == "slash_commands"
    opens = slack.calls("apps.connections.open")
    assert len(opens) == 2          # serve's start-up check of the token, then the connection itself
    assert all(call.headers["Authorization"] == f"Bearer {APP_TOKEN}" for call in opens)


def test_unknown_subcommand_gets_a_clear_ephemeral_ack(socket_bot: BotProcess, slack: SlackEmulator) -> None:
    body = slack.slash_command("U0ALICE", "frobnicate now").json()
    assert body["response_type"] == "ephemeral"
    assert "Unknown subcommand `frobnicate`" in body["text"]
    assert "/dataflow help" in body["text"]


def test_mention_in_a_channel_answers_with_an_ephemeral(socket_bot: BotProcess, slack: SlackEmulator) -> None:
    from bot.commands.help import help_text

    slack.mention("U0BOB", CHANNEL, "help")
    eph = slack.wait_for(lambda: slack.ephemerals("U0BOB"), what="an ephemeral help for Bob")
    assert eph[0]["text"] == help_text()
    assert eph[0]["channel"] == CHANNEL
    assert {d.envelope_type for d in slack.deliveries()} == {"events_api"}
    assert all(d.status == 200 for d in slack.deliveries())


def test_check_config_needs_no_signing_secret_in_socket_mode(redis_url: str, slack: SlackEmulator) -> None:
    result = run_cli(["check-config"], socket_env(redis_url, slack))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SLACK_SIGNING_SECRET" not in result.stderr


def test_a_wrong_app_token_is_named_by_check_config_and_serve(redis_url: str, slack: SlackEmulator) -> None:
    env = socket_env(redis_url, slack)
    env["SLACK_APP_TOKEN"] = "xapp-1-A0OTHER-1-revoked"
    for command in (["check-config"], ["serve"]):
        result = run_cli(command, env)
        assert result.returncode == 2, command
        assert "SLACK_APP_TOKEN: unreachable" in result.stderr and "invalid_auth" in result.stderr
        assert "Traceback" not in result.stderr
