"""Clients for the configured backends, built from Settings (None when a backend is not configured)."""

from __future__ import annotations

from bot.clients.connect import ConnectClient
from bot.clients.flink import FlinkClient
from bot.config import Settings


def connect_client(settings: Settings) -> ConnectClient | None:
    return ConnectClient(settings.connect_url, timeout=settings.enrich_timeout_seconds) if settings.connect_url else None


def flink_client(settings: Settings) -> FlinkClient | None:
    return FlinkClient(settings.flink_url, timeout=settings.enrich_timeout_seconds) if settings.flink_url else None
