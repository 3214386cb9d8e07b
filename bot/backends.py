"""Clients for the configured backends, built from Settings (None when a backend is not configured)."""

from __future__ import annotations

from typing import Any

from bot.clients.connect import ConnectClient
from bot.clients.flink import FlinkClient
from bot.config import Settings
from bot.errors import ConfigError
from bot.schema.baseline import BaselineStore


def connect_client(settings: Settings) -> ConnectClient | None:
    return ConnectClient(settings.connect_url, timeout=settings.enrich_timeout_seconds) if settings.connect_url else None


def flink_client(settings: Settings) -> FlinkClient | None:
    if not settings.flink_url:
        return None
    return FlinkClient(settings.flink_url, timeout=settings.enrich_timeout_seconds,
                       stable_seconds=settings.flink_stable_seconds)



def baseline_store(settings: Settings, redis_client: Any) -> BaselineStore:
    """Baselines live in the bot's Redis; contract files in SCHEMA_CONTRACTS_DIR win over snapshots."""
    return BaselineStore(redis_client, settings.schema_contracts_dir)


def require_connect(settings: Settings) -> ConnectClient:
    client = connect_client(settings)
    if client is None:
        raise ConfigError(["CONNECT_URL is not set: the bot cannot reach Kafka Connect"])
    return client


def require_flink(settings: Settings) -> FlinkClient:
    client = flink_client(settings)
    if client is None:
        raise ConfigError(["FLINK_URL is not set: the bot cannot reach Flink"])
    return client
