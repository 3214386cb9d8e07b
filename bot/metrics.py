"""Every Prometheus metric the bot exports on GET /metrics (one registry, defined once here)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

HTTP_REQUESTS = Counter(
    "dataflow_http_requests_total",
    "HTTP requests served, by route and status.",
    ["route", "status"],
    registry=REGISTRY,
)
HTTP_LATENCY = Histogram(
    "dataflow_http_request_duration_seconds",
    "HTTP request latency, by route.",
    ["route"],
    registry=REGISTRY,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
SLACK_REQUESTS_REFUSED = Counter(
    "dataflow_slack_requests_refused_total",
    "Requests to /slack/events refused before any work, by reason (bad signature, stale, replay...).",
    ["reason"],
    registry=REGISTRY,
)
SLACK_CALLS = Counter(
    "dataflow_slack_api_calls_total",
    "Slack Web API calls, by method and outcome (ok, error code).",
    ["method", "outcome"],
    registry=REGISTRY,
)
SLACK_RATE_LIMITED = Counter(
    "dataflow_slack_rate_limited_total",
    "429 answers from Slack, by method: each was waited out and the call sent again.",
    ["method"],
    registry=REGISTRY,
)
SLACK_LATENCY = Histogram(
    "dataflow_slack_api_call_duration_seconds",
    "Slack Web API call latency, by method.",
    ["method"],
    registry=REGISTRY,
)
ALERTS_RECEIVED = Counter(
    "dataflow_alert_notifications_total",
    "Alertmanager notifications, by outcome.",
    ["outcome"],
    registry=REGISTRY,
)
STREAM_ENTRIES = Counter(
    "dataflow_stream_entries_total",
    "Stream entries processed, by outcome (acked, retried, held, dead).",
    ["outcome"],
    registry=REGISTRY,
)
ENRICHMENT = Histogram(
    "dataflow_enrichment_duration_seconds",
    "Time to fetch one enrichment, by backend and outcome.",
    ["backend", "outcome"],
    registry=REGISTRY,
)
SCHEMA_DRIFT_COLUMNS = Gauge(
    "dataflow_schema_drift_columns",
    "Columns that differ from the baseline, per watched table.",
    ["schema", "table"],
    registry=REGISTRY,
)
SCHEMA_DRIFT_CHECK_OK = Gauge(
    "dataflow_schema_drift_check_success",
    "1 when the last drift check of a table succeeded.",
    ["schema", "table"],
    registry=REGISTRY,
)
RUNBOOK_STEPS = Counter(
    "dataflow_runbook_steps_total",
    "Runbook steps run, by step and outcome.",
    ["step", "outcome"],
    registry=REGISTRY,
)
