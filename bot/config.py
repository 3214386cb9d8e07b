"""Settings: every environment variable of the contract, read from the environment and `.env`."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.errors import ConfigError

_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{2,}$")
_APPROVER_ID = re.compile(r"^[UWS][A-Z0-9]{2,}$")
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class Settings(BaseSettings):
    """All settings. README.md documents each one with its default; keep them in step."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"
    incident_channel: str | None = None
    # Where an incident goes on when its channel is archived or deleted (bot/incidents/channels.py).
    fallback_channel: str | None = None
    approvers: Annotated[list[str], NoDecode] = Field(default_factory=list)
    alert_webhook_token: SecretStr | None = None
    redis_url: str = "redis://127.0.0.1:6379/0"
    mysql_url: SecretStr | None = None
    connect_url: str | None = None
    flink_url: str | None = None
    docker_host: str | None = None
    pipeline_file: Path | None = Path("config/pipelines.yml")   # optional: see bot/pipeline.load_lineage
    schema_contracts_dir: Path = Path("schemas")
    bot_host: str = "127.0.0.1"
    bot_port: int = Field(default=3000, ge=0, le=65535)
    display_tz: str = "UTC"
    alertmanager_url: str | None = None
    # Links in the incident's root message (bot/blocks/links.py); unset: that link is left out.
    grafana_url: str | None = None
    runbook_base_url: str | None = None      # relative runbook_url annotations are resolved against it
    # Graphs in the incident thread and lag in status/enrichment (bot/graphs/); unset: a line says why not.
    prometheus_url: str | None = None
    log_level: str = "INFO"
    log_format: str = Field(default="auto", pattern="^(auto|console|json)$")
    enrich_timeout_seconds: float = Field(default=5.0, gt=0)
    worker_claim_idle_seconds: float = Field(default=30.0, gt=0)
    worker_max_attempts: int = Field(default=5, ge=1)
    alert_workers: int = Field(default=4, ge=1)
    enrich_workers: int = Field(default=4, ge=1)
    root_edit_interval_seconds: float = Field(default=3.0, ge=0)
    health_probe_interval_seconds: float = Field(default=15.0, gt=0)
    storm_threshold: int = Field(default=5, ge=2)
    storm_window_seconds: float = Field(default=60.0, gt=0)
    slack_post_lock_seconds: float = Field(default=60.0, gt=0)
    incident_reopen_seconds: float = Field(default=3600.0, ge=0)
    approval_ttl_seconds: float = Field(default=1800.0, gt=0)
    approval_reminder_seconds: float = Field(default=300.0, ge=0)       # 0: no reminder
    approved_start_deadline_seconds: float = Field(default=30.0, gt=0)
    reconcile_interval_seconds: float = Field(default=15.0, gt=0)
    step_heartbeat_ttl_seconds: float = Field(default=30.0, gt=0)
    flink_stable_seconds: float = Field(default=30.0, gt=0)
    drift_watch_interval_seconds: float = Field(default=60.0, ge=0)
    job_threads: int = Field(default=16, ge=1)
    http_threads: int = Field(default=16, ge=1)

    @field_validator("approvers", mode="before")
    @classmethod
    def _split_approvers(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("approvers")
    @classmethod
    def _approver_ids(cls, value: list[str]) -> list[str]:
        bad = [v for v in value if not _APPROVER_ID.match(v)]
        if bad:
            raise ValueError(f"not Slack user or user-group IDs: {', '.join(bad)} (expected U…, W… or S…)")
        return value

    @field_validator("pipeline_file", mode="before")
    @classmethod
    def _no_pipeline_file(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("incident_channel", "fallback_channel")
    @classmethod
    def _channel_id(cls, value: str | None) -> str | None:
        if value is not None and not _CHANNEL_ID.match(value):
            raise ValueError(f"{value!r} is not a channel ID (expected C…/G…, not a #name)")
        return value

    @field_validator("slack_api_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        _require_url(value, ("http", "https"))
        return value if value.endswith("/") else value + "/"

    @field_validator("connect_url", "flink_url", "alertmanager_url", "grafana_url", "prometheus_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value:
            _require_url(value, ("http", "https"))
            return value.rstrip("/")
        return None

    @field_validator("runbook_base_url")
    @classmethod
    def _base_url(cls, value: str | None) -> str | None:
        """A directory: `docs/runbook.md` resolves under it, not beside its last path segment."""
        if value:
            _require_url(value, ("http", "https"))
            return value if value.endswith("/") else value + "/"
        return None

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: str) -> str:
        _require_url(value, ("redis", "rediss", "unix"))
        return value

    @field_validator("mysql_url")
    @classmethod
    def _mysql_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and value.get_secret_value():
            _require_url(value.get_secret_value(), ("mysql",))
            return value
        return None

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        if value.upper() not in _LOG_LEVELS:
            raise ValueError(f"unknown log level {value!r} (one of {', '.join(_LOG_LEVELS)})")
        return value.upper()

    @field_validator("display_tz")
    @classmethod
    def _tz(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r} (use an IANA name like Europe/Paris)") from exc
        return value

    @property
    def socket_mode(self) -> bool:
        return self.slack_app_token is not None

    def problems(self) -> list[str]:
        """Static problems (missing or malformed), one line each, naming the variable."""
        found: list[str] = []
        token = _secret(self.slack_bot_token)
        if not token:
            found.append("SLACK_BOT_TOKEN: missing (the bot token, xoxb-…, from the app's OAuth page)")
        elif not token.startswith("xoxb-"):
            found.append("SLACK_BOT_TOKEN: malformed (a bot token starts with xoxb-)")
        app_token = _secret(self.slack_app_token)
        if app_token and not app_token.startswith("xapp-"):
            found.append("SLACK_APP_TOKEN: malformed (an app-level token starts with xapp-)")
        if not app_token and not _secret(self.slack_signing_secret):
            found.append("SLACK_SIGNING_SECRET: missing (needed in HTTP mode; or set SLACK_APP_TOKEN)")
        if not self.incident_channel:
            found.append("INCIDENT_CHANNEL: missing (the channel ID where incident threads are opened)")
        if not _secret(self.alert_webhook_token):
            found.append("ALERT_WEBHOOK_TOKEN: missing (the bearer token Alertmanager sends to POST /alerts)")
        return found


def _secret(value: SecretStr | None) -> str:
    return value.get_secret_value() if value is not None else ""


def _require_url(value: str, schemes: tuple[str, ...]) -> None:
    parts = urlsplit(value)
    if parts.scheme not in schemes or not (parts.netloc or parts.scheme == "unix"):
        raise ValueError(f"not a {'/'.join(schemes)} URL")


def env_name(field: str) -> str:
    return field.upper()


def load_settings(**overrides: Any) -> Settings:
    """Settings from env and .env; ConfigError listing every problem at once when one is malformed:
    the malformed ones and, read with those at their defaults, the missing ones."""
    settings, malformed = read_settings(**overrides)
    if malformed:
        raise ConfigError(malformed + settings.problems())
    return settings


def read_settings(**overrides: Any) -> tuple[Settings, list[str]]:
    """The settings with each malformed value replaced by its default, and one line per malformed
    variable in plain words, so that one bad value never hides the other problems."""
    try:
        return Settings(**overrides), []
    except ValidationError as exc:
        lines, defaults = [], {}
        for err in exc.errors():
            field = str(err["loc"][0]) if err["loc"] else ""
            lines.append(f"{env_name(field) or 'settings'}: malformed ({_plain(err, field)})")
            if field in Settings.model_fields:
                defaults[field] = Settings.model_fields[field].get_default(call_default_factory=True)
        return Settings(**{**overrides, **defaults}), lines


_EXAMPLES = {"bot_port": "3000", "log_format": "auto, console or json"}


def _plain(err: Any, field: str) -> str:
    """Pydantic's error in the words an operator expects, with the expected form; never the value (it may
    be a secret)."""
    kind, ctx = err["type"], err.get("ctx") or {}
    example = _EXAMPLES.get(field)
    if kind == "int_parsing":
        return f"expected a whole number, e.g. {example or 30}"
    if kind == "float_parsing":
        return "expected a number of seconds, e.g. 30 or 2.5"
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        words = {"greater_than_equal": "at least", "greater_than": "more than",
                 "less_than_equal": "at most", "less_than": "less than"}[kind]
        bound = next(iter(ctx.values()), "")
        bound = int(bound) if isinstance(bound, float) and bound.is_integer() else bound
        return f"must be {words} {bound}" + (f", e.g. {example}" if example else "")
    if kind == "string_pattern_mismatch":
        return f"expected {example}" if example else f"expected the form {ctx.get('pattern')}"
    if kind == "value_error":
        return str(err["msg"]).removeprefix("Value error, ")
    return str(err["msg"])


def setting_source(field: str, env_file: Path = Path(".env")) -> str:
    """Where a setting came from: the environment, the .env file, or its default."""
    name = env_name(field)
    if name in os.environ or field in os.environ:
        return "env"
    if env_file.exists():
        for line in env_file.read_text(encoding="utf-8").splitlines():
            if line.strip().split("=", 1)[0].strip().upper() == name:
                return ".env"
    return "default"
