"""Drive the local real stack from tests: bring it up once, read its URLs, stop and restart one piece.

The stack is the project's own (scripts/stack/stack.py); these helpers only call its command line and read
the files it writes under STACK_DIR, so a test sees the stack exactly as `make stack-up` leaves it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import httpx
import pytest
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.errors import KafkaError

from bot.sandbox.real_stack import RealStack

REPO = Path(__file__).resolve().parents[2]
STACK_PY = REPO / "scripts" / "stack" / "stack.py"
UP_TIMEOUT_S = 420.0
PIECES = ("mariadb", "broker", "connect", "flink-jobmanager", "flink-taskmanager", "prometheus", "alertmanager")


T = TypeVar("T")


def poll(check: Callable[[], T], timeout: float, what: str, interval: float = 0.5) -> T:
    """check() until it returns something truthy; fails naming `what` (and the last answer) after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not after {timeout:.0f} s (last: {found!r})", pytrace=False)
        time.sleep(interval)


def stack_dir() -> Path:
    return Path(os.environ.get("STACK_DIR") or REPO / ".stack")


def stack(*args: str, timeout: float = UP_TIMEOUT_S) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(STACK_PY), *args], cwd=REPO, capture_output=True, text=True,
                          timeout=timeout, check=False)


def ensure_up() -> dict[str, str]:
    """The stack's env (stack.json) once every piece is up; starting what is down. Fails, never skips."""
    if stack("status", "--check", timeout=60).returncode != 0:
        up = stack("up")
        if up.returncode != 0:
            pytest.fail(f"the local real stack did not come up (make stack-install stack-up):\n"
                        f"{(up.stdout + up.stderr)[-3000:]}", pytrace=False)
    info = stack_dir() / "stack.json"
    return dict(json.loads(info.read_text())["env"])


def pid_of(piece: str) -> int | None:
    try:
        return int((stack_dir() / "run" / f"{piece}.pid").read_text().split()[0])
    except (OSError, ValueError):
        return None


def stop_piece(piece: str, timeout: float = 30.0) -> None:
    """SIGTERM to the piece's process group (it runs in its own session), then wait until it is gone."""
    pid = pid_of(piece)
    if pid is None:
        return
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)
    os.killpg(pid, signal.SIGKILL)


def start_all() -> None:
    """`stack.py up` starts only what is down (and resubmits the Flink job if it is gone)."""
    up = stack("up")
    if up.returncode != 0:
        pytest.fail(f"stack.py up failed:\n{(up.stdout + up.stderr)[-3000:]}", pytrace=False)


def topic_row_ids(bootstrap: str, topic: str, timeout_ms: int = 5000) -> list[int]:
    """The `id` of every change event on a Debezium topic (partition 0, from its start), read over the
    broker's Kafka API: what reached the topic, whatever any consumer made of it."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None,
                             consumer_timeout_ms=timeout_ms, request_timeout_ms=15000)
    try:
        partition = TopicPartition(topic, 0)
        consumer.assign([partition])
        consumer.seek_to_beginning(partition)
        ids = []
        for message in consumer:   # ends after timeout_ms without a new message
            payload = json.loads(message.value)["payload"] if message.value else None
            row = (payload.get("after") or payload.get("before")) if payload else None
            if row and "id" in row:
                ids.append(int(row["id"]))
        return ids
    finally:
        consumer.close()


def delete_topics(bootstrap: str, topics: list[str]) -> None:
    """Best effort: a test's own topics (Tansu keeps them in memory until the broker stops anyway)."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=15000)
    try:
        admin.delete_topics(topics, timeout_ms=15000)
    except KafkaError:
        pass
    finally:
        admin.close()


def row_reaches_topic(real: RealStack, within: float) -> bool:
    """A new order, and whether its change event is on the CDC topic within `within` seconds."""
    real.insert_order()
    row = int(str(real.sql(f"SELECT MAX(id) FROM {real.table}")[0][0]))
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if row in topic_row_ids(real.env["KAFKA_BOOTSTRAP_SERVERS"], real.topic, timeout_ms=2000):
            return True
        time.sleep(1)
    return False


def ensure_streaming(real: RealStack) -> None:
    """The stack's connector streams changes, not only says RUNNING. Seen here: after MariaDB restarted,
    the task stayed RUNNING and read nothing for ~100 s, until Debezium's keepalive thread reconnected its
    binlog client; a restart of the task reconnects at once."""
    if row_reaches_topic(real, within=20):
        return
    url = f"{real.env['CONNECT_URL']}/connectors/{real.connector}/restart"
    httpx.post(url, params={"includeTasks": "true", "onlyFailed": "false"}, timeout=30).raise_for_status()
    if not row_reaches_topic(real, within=60):
        pytest.fail(f"{real.connector} says RUNNING but no new row reaches {real.topic}", pytrace=False)
