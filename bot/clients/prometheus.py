"""Prometheus HTTP API client: range queries (graphs) and instant queries (lag), nothing else.

Every call goes through the backend's breaker (bot/clients/breaker.py) with the client's timeout; every
transport or protocol failure is a BackendError("Prometheus", ...). Branches on the API's `status` and
`errorType` fields, never on message texts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import httpx

from bot.clients.breaker import breaker_for
from bot.clients.flink import safe_where, transport_reason
from bot.clients.http import json_client
from bot.errors import BackendError

BACKEND = "Prometheus"
MAX_POINTS = 11_000   # Prometheus refuses a range query of more than 11,000 points per series


@dataclass(frozen=True)
class Series:
    """One time series: its labels and its (unix seconds, value) points, oldest first."""

    labels: dict[str, str]
    points: tuple[tuple[float, float], ...]

    @property
    def last(self) -> float | None:
        return self.points[-1][1] if self.points else None


class PrometheusClient:
    def __init__(self, base_url: str, timeout: float = 5.0, transport: httpx.BaseTransport | None = None) -> None:
        self.where = safe_where(base_url)
        self._timeout = timeout
        self._http = json_client(base_url.rstrip("/"), timeout, transport)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> PrometheusClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def query_range(self, expr: str, start: float, end: float, step: float,
                    timeout: float | None = None) -> list[Series]:
        """GET /api/v1/query_range: the series of `expr` from start to end, one point per `step` seconds."""
        step = max(step, (end - start) / MAX_POINTS, 1.0)
        data = self._get("/api/v1/query_range", {"query": expr, "start": f"{start:.3f}", "end": f"{end:.3f}",
                                                 "step": f"{step:.3f}"}, timeout)
        if data.get("resultType") != "matrix":
            raise BackendError(BACKEND, self.where, f"expected a matrix, got {data.get('resultType')!r}")
        return [_series(item, item.get("values") or []) for item in data.get("result") or []]

    def query(self, expr: str, timeout: float | None = None) -> list[Series]:
        """GET /api/v1/query: the instant vector of `expr` now (each series one point)."""
        data = self._get("/api/v1/query", {"query": expr}, timeout)
        if data.get("resultType") != "vector":
            raise BackendError(BACKEND, self.where, f"expected a vector, got {data.get('resultType')!r}")
        return [_series(item, [item["value"]] if item.get("value") else []) for item in data.get("result") or []]

    def _get(self, path: str, params: dict[str, str], timeout: float | None) -> dict[str, Any]:
        limit = self._timeout if timeout is None else min(timeout, self._timeout)
        try:
            with breaker_for(BACKEND, self.where).call():
                resp = self._http.get(path, params=params, timeout=httpx.Timeout(limit))
        except httpx.TimeoutException:
            raise BackendError(BACKEND, self.where, f"timed out after {limit:.1f} s") from None
        except httpx.HTTPError as exc:
            raise BackendError(BACKEND, self.where, transport_reason(exc)) from None
        return _data(resp, self.where)


def _data(resp: httpx.Response, where: str) -> dict[str, Any]:
    """The `data` of a success answer; an error answer (4xx/5xx with status "error") names its errorType."""
    try:
        body = resp.json()
    except ValueError:
        raise BackendError(BACKEND, where, f"HTTP {resp.status_code}: not JSON") from None
    if not isinstance(body, dict):
        raise BackendError(BACKEND, where, f"HTTP {resp.status_code}: unexpected answer")
    if body.get("status") != "success" or not isinstance(body.get("data"), dict):
        kind = body.get("errorType") or "error"
        detail = str(body.get("error") or "").splitlines()[0][:200] if body.get("error") else ""
        raise BackendError(BACKEND, where, f"HTTP {resp.status_code} {kind}" + (f": {detail}" if detail else ""))
    return dict(body["data"])


def _series(item: dict[str, Any], values: list[Any]) -> Series:
    points = []
    for pair in values:
        try:
            t, v = float(pair[0]), float(pair[1])
        except (TypeError, ValueError, IndexError):
            continue
        if not math.isnan(v):   # "NaN" is a value Prometheus sends; nothing to draw or report
            points.append((t, v))
    labels = {str(k): str(v) for k, v in (item.get("metric") or {}).items()}
    return Series(labels, tuple(points))
