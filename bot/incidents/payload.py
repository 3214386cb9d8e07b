"""Alertmanager webhook payload (version "4"): parsing and correlation keys. Pure."""

from __future__ import annotations

import hashlib
import hmac
import json
from base64 import b64decode
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.pipeline import Lineage

ZERO_TIME = "0001-01-01T00:00:00Z"


class AMAlert(BaseModel):
    model_config = ConfigDict(extra="allow")

    status: Literal["firing", "resolved"]
    labels: dict[str, str]
    annotations: dict[str, str] = Field(default_factory=dict)
    startsAt: str
    endsAt: str = ZERO_TIME
    generatorURL: str = ""
    fingerprint: str = Field(min_length=1, max_length=64)

    @property
    def alertname(self) -> str:
        return self.labels.get("alertname", "(no alertname)")

    @property
    def ends_at(self) -> str | None:
        """None for the zero time Alertmanager sends on firing alerts."""
        return None if self.endsAt.startswith("0001-01-01") else self.endsAt

    @property
    def summary(self) -> str:
        return self.annotations.get("summary") or self.annotations.get("description") or ""


class AMNotification(BaseModel):
    model_config = ConfigDict(extra="allow")

    version: Literal["4"]
    groupKey: str
    truncatedAlerts: int = Field(default=0, ge=0)
    status: Literal["firing", "resolved"]
    receiver: str = ""
    groupLabels: dict[str, str] = Field(default_factory=dict)
    commonLabels: dict[str, str] = Field(default_factory=dict)
    commonAnnotations: dict[str, str] = Field(default_factory=dict)
    externalURL: str = ""
    alerts: list[AMAlert] = Field(min_length=1)


class InvalidPayload(ValueError):
    """A notification that will never be valid: answer 4xx so that Alertmanager does not retry it."""


def parse_notification(body: bytes) -> AMNotification:
    try:
        raw = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidPayload(f"body is not JSON: {exc}") from exc
    if not isinstance(raw, dict):
        raise InvalidPayload("body must be a JSON object (Alertmanager webhook, version 4)")
    if raw.get("version") != "4":
        raise InvalidPayload(f"unsupported webhook version {raw.get('version')!r}; expected \"4\"")
    try:
        return AMNotification.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise InvalidPayload(f"{where}: {first['msg']} ({exc.error_count()} problem(s) in all)") from exc


def authorized(header: str | None, token: str) -> bool:
    """Bearer <token>, or basic auth whose password is the token; compared in constant time."""
    if not header or not token:
        return False
    scheme, _, value = header.partition(" ")
    candidate = value.strip()
    if scheme.lower() == "basic":
        try:
            candidate = b64decode(candidate, validate=True).decode("utf-8").partition(":")[2]
        except (ValueError, UnicodeDecodeError):
            return False
    elif scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(candidate.encode(), token.encode())


def correlation_key(lineage: Lineage, labels: dict[str, str], group_key: str) -> tuple[str, str | None]:
    """Alerts about the same pipeline share an incident, whatever their alertname or groupKey."""
    pipeline = lineage.for_labels(labels)
    if pipeline is not None:
        return f"pipeline:{pipeline.name}", pipeline.name
    return "group:" + hashlib.sha256(group_key.encode()).hexdigest()[:16], None


def parse_time(value: str | None) -> datetime | None:
    """RFC3339 with nanoseconds (Go) -> aware datetime; Python keeps microseconds."""
    if not value or value.startswith("0001-01-01"):
        return None
    text = value.replace("Z", "+00:00")
    if "." in text:
        head, _, rest = text.partition(".")
        digits = "".join(ch for ch in rest if ch.isdigit())
        tz = rest[len(digits):]
        text = f"{head}.{digits[:6].ljust(6, '0')}{tz}"
    try:
        return datetime.fromisoformat(text).astimezone(UTC)
    except ValueError:
        return None
