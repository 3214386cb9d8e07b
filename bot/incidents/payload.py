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
RFC3339 = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$"
# Alertmanager's webhook nests four levels (notification > alerts > alert > labels); anything much
# deeper is not from Alertmanager, and walking it must never cost a recursion.
MAX_DEPTH = 8


class AMAlert(BaseModel):
    # Strict: Alertmanager sends strings where strings belong; a number there is not Alertmanager.
    model_config = ConfigDict(extra="allow", strict=True)

    status: Literal["firing", "resolved"]
    labels: dict[str, str]
    annotations: dict[str, str] = Field(default_factory=dict)
    startsAt: str = Field(pattern=RFC3339)
    endsAt: str = Field(default=ZERO_TIME, pattern=RFC3339)
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
    model_config = ConfigDict(extra="allow", strict=True)

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


def _no_constants(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def _unstorable(raw: object) -> str | None:
    """Why a parsed body cannot be stored as it is (too deep, not valid Unicode), or None. Iterative."""
    stack: list[tuple[object, str, int]] = [(raw, "body", 0)]
    while stack:
        value, where, depth = stack.pop()
        if depth > MAX_DEPTH:
            return f"{where}: nested deeper than {MAX_DEPTH} levels (Alertmanager sends 4)"
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                return f"{where}: invalid Unicode (a lone surrogate escape such as \\ud800)"
        elif isinstance(value, dict):
            stack += [(k, f"{where} (a key)", depth + 1) for k in value]
            stack += [(v, f"{where}.{k}"[:120], depth + 1) for k, v in value.items()]
        elif isinstance(value, list):
            stack += [(v, f"{where}.{i}", depth + 1) for i, v in enumerate(value)]
    return None


def parse_notification(body: bytes) -> AMNotification:
    try:
        raw = json.loads(body, parse_constant=_no_constants)
    except RecursionError as exc:
        raise InvalidPayload(f"body is nested deeper than {MAX_DEPTH} levels (Alertmanager sends 4)") from exc
    except ValueError as exc:  # not JSON, not UTF-8, NaN/Infinity, an integer of thousands of digits
        raise InvalidPayload(f"body is not JSON: {str(exc)[:200]}") from exc
    if (problem := _unstorable(raw)) is not None:
        raise InvalidPayload(problem)
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
