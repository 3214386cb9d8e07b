"""What `check-config` prints and `serve` refuses to start on: one line per problem, naming the variable."""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import SecretStr
from slack_sdk.errors import SlackApiError

from bot.config import Settings, env_name, setting_source
from bot.discovery import discover
from bot.errors import ConfigError
from bot.health import Probe, backend_probes, describe_failure
from bot.pipeline import load_lineage
from bot.redact import Redactor
from bot.slack_client import build_web_client

ESSENTIAL = {"SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_API_URL", "REDIS_URL", "PIPELINE_FILE"}


@dataclass
class Report:
    problems: list[str] = field(default_factory=list)  # essential: serve refuses to start
    warnings: list[str] = field(default_factory=list)  # a backend down: serve starts and says so
    probes: list[Probe] = field(default_factory=list)
    bot_user_id: str = ""
    discovered: list[str] = field(default_factory=list)  # connectors -> tables/topics, Flink jobs
    lineage: str = ""                                     # which pipeline file, if any


def masked(value: object) -> str:
    if isinstance(value, SecretStr):
        raw = value.get_secret_value()
        return f"{raw[:5]}…({len(raw)} chars)" if raw.startswith(("xoxb-", "xapp-")) else "********"
    if value is None:
        return "(unset)"
    if isinstance(value, list):
        return ",".join(map(str, value)) or "(none)"
    return str(value)


def settings_lines(settings: Settings) -> list[str]:
    return [
        f"{env_name(name):<32} {masked(getattr(settings, name)):<40} [{_source(settings, name)}]"
        for name in Settings.model_fields
    ]


def _source(settings: Settings, name: str) -> str:
    """env, .env or default; "unset" for a setting with no value at all (a required one is a problem too)."""
    source = setting_source(name)
    return "unset" if source == "default" and getattr(settings, name) is None else source


def slack_probe(settings: Settings) -> tuple[Probe, str]:
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else ""
    client = build_web_client(token, settings.slack_api_url, Redactor(), timeout=5)
    try:
        resp = client.auth_test()
        return Probe(
            "slack", "SLACK_BOT_TOKEN", settings.slack_api_url, True, 0, f"bot {resp.get('user_id')}"
        ), str(resp.get("user_id", ""))
    except SlackApiError as exc:
        error = exc.response.get("error", "error") if exc.response is not None else "error"
        return Probe("slack", "SLACK_BOT_TOKEN", settings.slack_api_url, False, 0, f"auth.test: {error}"), ""
    except Exception as exc:
        probe = Probe("slack", "SLACK_API_URL", settings.slack_api_url, False, 0, describe_failure(exc))
        return probe, ""


def app_token_probe(settings: Settings) -> Probe:
    """Socket Mode: the app-level token must open a connection (a one-time URL; we do not connect)."""
    token = settings.slack_app_token.get_secret_value() if settings.slack_app_token else ""
    try:
        build_web_client(token, settings.slack_api_url, Redactor(), timeout=5).apps_connections_open(app_token=token)
        return Probe("slack-socket", "SLACK_APP_TOKEN", settings.slack_api_url, True, 0, "apps.connections.open ok")
    except SlackApiError as exc:
        error = exc.response.get("error", "error") if exc.response is not None else "error"
        return Probe("slack-socket", "SLACK_APP_TOKEN", settings.slack_api_url, False, 0,
                     f"apps.connections.open: {error}")
    except Exception as exc:
        return Probe("slack-socket", "SLACK_API_URL", settings.slack_api_url, False, 0, describe_failure(exc))


def check(settings: Settings) -> Report:
    report = Report(problems=settings.problems())
    try:
        lineage = load_lineage(settings.pipeline_file)
        report.lineage = (f"{settings.pipeline_file}: {len(lineage.pipelines)} pipeline(s)" if lineage.pipelines
                          else "none: each incident's scope comes from its alerts and discovery")
    except ConfigError as exc:
        report.problems.extend(exc.problems)
    report.discovered = discover(settings).summary()
    report.probes = backend_probes(settings, timeout=2.0)
    if settings.slack_bot_token and not any(p.startswith("SLACK_BOT_TOKEN") for p in report.problems):
        slack, report.bot_user_id = slack_probe(settings)
        report.probes.insert(0, slack)
    if settings.slack_app_token and not any(p.startswith("SLACK_APP_TOKEN") for p in report.problems):
        report.probes.insert(1, app_token_probe(settings))
    for probe in report.probes:
        if not probe.ok:
            line = f"{probe.variable}: unreachable ({probe.name} at {probe.where}: {probe.detail})"
            (report.problems if probe.variable in ESSENTIAL else report.warnings).append(line)
    return report
