"""manifest.yml and the code must agree: every command, shortcut, event and interactivity."""

from __future__ import annotations

from pathlib import Path

import yaml

from bot.app import build_app
from bot.config import Settings
from bot.deps import build_deps

REPO = Path(__file__).resolve().parents[2]
EVENT_SCOPES = {"app_mention": "app_mentions:read", "message.channels": "channels:history",
                "message.groups": "groups:history", "reaction_added": "reactions:read"}


def _surfaces(redis_url: str):  # type: ignore[no-untyped-def]
    settings = Settings(slack_bot_token="xoxb-test", slack_signing_secret="s", incident_channel="C0INCIDENT",
                        alert_webhook_token="t", redis_url=redis_url,
                        pipeline_file=REPO / "config" / "pipelines.yml", _env_file=None)
    return build_app(settings, build_deps(settings)).extensions["surfaces"]


def _manifest() -> dict:  # type: ignore[type-arg]
    return yaml.safe_load((REPO / "manifest.yml").read_text())


def test_commands_shortcuts_and_events_match_the_code(redis_url: str) -> None:
    surfaces, manifest = _surfaces(redis_url), _manifest()
    features, settings = manifest["features"], manifest["settings"]
    assert {c["command"] for c in features["slash_commands"]} == surfaces.commands
    assert {s["callback_id"] for s in features.get("shortcuts", [])} == surfaces.shortcuts
    manifest_events = {e.split(".")[0] for e in settings["event_subscriptions"]["bot_events"]}
    assert manifest_events == surfaces.events
    interactive = bool(surfaces.actions or surfaces.shortcuts)
    assert settings["interactivity"]["is_enabled"] is interactive


def test_every_event_and_the_command_have_their_scope() -> None:
    manifest = _manifest()
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    for event in manifest["settings"]["event_subscriptions"]["bot_events"]:
        assert EVENT_SCOPES[event] in scopes, event
    assert "commands" in scopes and "chat:write" in scopes
    assert len(scopes) == len(manifest["oauth_config"]["scopes"]["bot"])   # no duplicates


def test_request_urls_point_at_slack_events() -> None:
    manifest = _manifest()
    urls = [c["url"] for c in manifest["features"]["slash_commands"]]
    urls += [manifest["settings"]["event_subscriptions"]["request_url"],
             manifest["settings"]["interactivity"]["request_url"]]
    assert all(url.endswith("/slack/events") for url in urls)
    assert len(manifest["display_information"]["name"]) <= 35
