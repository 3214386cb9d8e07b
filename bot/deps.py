"""The clients bundle handed to handlers through Bolt's context (context["deps"])."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from slack_sdk import WebClient

from bot.config import Settings
from bot.health import HealthBoard
from bot.pipeline import Lineage, load_lineage
from bot.redact import Redactor
from bot.slack_client import build_web_client
from bot.store import Store, connect_redis


@dataclass
class Deps:
    settings: Settings
    store: Store
    slack: WebClient
    lineage: Lineage
    redactor: Redactor
    # Slow work (I/O, runbook steps) runs here, never on Bolt's listener threads: a slow step
    # must not delay the 3-second ack of the next click.
    jobs: ThreadPoolExecutor
    bot_user_id: str = ""
    health: HealthBoard = field(default_factory=HealthBoard)   # kept by bot.health.health_prober


def known_secrets(settings: Settings) -> list[str]:
    values = [
        settings.slack_bot_token,
        settings.slack_signing_secret,
        settings.slack_app_token,
        settings.alert_webhook_token,
        settings.mysql_url,
    ]
    found = [v.get_secret_value() for v in values if v is not None]
    if settings.mysql_url is not None:
        from bot.clients.mysql import parse_mysql_url

        try:   # the password as MySQL sees it: %-escapes decoded
            password = str(parse_mysql_url(settings.mysql_url.get_secret_value())["password"])
        except ValueError:
            password = ""
        if password:
            found.append(password)
    return found


def build_deps(settings: Settings) -> Deps:
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else ""
    redactor = Redactor(known_secrets(settings))
    return Deps(
        settings=settings,
        store=Store(connect_redis(settings.redis_url)),
        slack=build_web_client(token, settings.slack_api_url, redactor),
        lineage=load_lineage(settings.pipeline_file),
        redactor=redactor,
        jobs=ThreadPoolExecutor(max_workers=settings.job_threads, thread_name_prefix="dfo-job"),
    )
