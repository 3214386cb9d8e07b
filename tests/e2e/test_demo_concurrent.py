"""Two demos at once, a demo beside a table it did not create, a demo stopped midway (issue 14, item 1).

Real `dataflow-bot demo` processes on the local MariaDB and this suite's Redis database. Each refusal is one
line and exit 2; neither run harms the other; what a run started is gone when it ends.
"""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pymysql
import pytest
import redis

from bot.sandbox.demo_lock import REDIS_LOCK
from tests.e2e.terminal import Terminal, demo_env
from tests.e2e.test_demo import _chaos
from tests.harness import BIN, REPO

pytestmark = pytest.mark.timeout(240)
DEMO = [str(BIN / "dataflow-bot"), "demo"]


def orders_comment() -> str | None:
    """oltp.orders' table comment, None when there is no such table."""
    conn = pymysql.connect(host="127.0.0.1", user="root", password="")
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT TABLE_COMMENT FROM information_schema.TABLES "
                        "WHERE TABLE_SCHEMA='oltp' AND TABLE_NAME='orders'")
            row = cur.fetchone()
    finally:
        conn.close()
    return None if row is None else str(row[0])


def durable(keys: set[bytes]) -> set[bytes]:
    """The run's records (incidents, baselines, timeline), not its short-lived locks and counters."""
    return {k for k in keys if k.startswith((b"dfo:incident", b"dfo:baseline", b"dfo:timeline", b"dfo:events"))}


def bot_keys(redis_url: str) -> set[bytes]:
    client = redis.Redis.from_url(redis_url)
    try:
        return set(client.scan_iter("dfo:*"))
    finally:
        client.close()


def run_demo(redis_url: str, out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*DEMO, "-o", str(out), *extra], cwd=REPO, env=demo_env(redis_url), capture_output=True,
                          text=True, timeout=150, check=False)


@pytest.fixture
def interactive_demo(redis_url: str) -> Iterator[Terminal]:
    """A demo that stays up (`--interactive`) at its prompt: the "other" run of these tests."""
    term = Terminal([*DEMO, "--interactive"], demo_env(redis_url))
    try:
        term.expect("demo> ", timeout=120)
        yield term
    finally:
        term.close()


def test_a_second_demo_refuses_in_one_line_and_leaves_the_running_one_intact(
        interactive_demo: Terminal, redis_url: str, tmp_path: Path) -> None:
    assert orders_comment() == "dataflow-demo"
    keys = durable(bot_keys(redis_url))
    assert any(k.startswith(b"dfo:incident") for k in keys), keys

    second = run_demo(redis_url, tmp_path)

    assert second.returncode == 2, second.stdout + second.stderr
    assert second.stderr.strip().count("\n") == 0
    assert second.stderr.startswith("Another demo is running against MySQL at 127.0.0.1:3306")
    assert "Traceback" not in second.stdout + second.stderr
    assert orders_comment() == "dataflow-demo" and bot_keys(redis_url) >= keys   # the first one's, untouched
    assert "INC-1" in interactive_demo.command("alice /dataflow summary")   # and it still works

    interactive_demo.send("quit")
    assert interactive_demo.wait() == 0
    assert orders_comment() is None and bot_keys(redis_url) == set()
    assert redis.Redis.from_url(redis_url).exists(REDIS_LOCK) == 0


def test_two_demos_started_together_one_succeeds_the_other_refuses_or_succeeds(
        redis_url: str, tmp_path: Path) -> None:
    procs = [subprocess.Popen([*DEMO, "-o", str(tmp_path / name)], cwd=REPO, env=demo_env(redis_url), text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for name in ("a", "b")]
    results = [(p.wait(timeout=150), *p.communicate(timeout=10)) for p in procs]

    codes = sorted(code for code, _, _ in results)
    assert codes in ([0, 0], [0, 2]), results
    for code, out, err in results:
        assert "Traceback" not in out + err
        if code == 0:
            assert "Postmortem written to" in out
        else:
            assert err.strip().count("\n") == 0 and "Another demo" in err
    assert orders_comment() is None and bot_keys(redis_url) == set()


def test_a_demo_refuses_a_redis_database_another_demo_holds(redis_url: str, tmp_path: Path) -> None:
    """Another demo on another MySQL server but this Redis database: its lock key says who holds it."""
    client = redis.Redis.from_url(redis_url)
    client.set(REDIS_LOCK, "pid 4242 on elsewhere, since 03:00:00", ex=60)
    client.set("dfo:incident:INC-7", "theirs")

    result = run_demo(redis_url, tmp_path)

    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.strip() == (
        "Another demo (pid 4242 on elsewhere, since 03:00:00) is using the Redis database 127.0.0.1:6379/"
        f"{redis_url.rsplit('/', 1)[1]}. Wait for it to finish, or give this one its own: "
        "DEMO_REDIS_URL=redis://…/<db>.")
    assert client.get("dfo:incident:INC-7") == b"theirs" and orders_comment() is None
    client.close()


def test_a_table_the_demo_did_not_create_is_refused_and_left_as_it_was(redis_url: str, tmp_path: Path) -> None:
    conn = pymysql.connect(host="127.0.0.1", user="root", password="", autocommit=True)
    with conn.cursor() as cur:
        cur.execute("CREATE DATABASE IF NOT EXISTS oltp")
        cur.execute("CREATE TABLE oltp.orders (id INT PRIMARY KEY) COMMENT='somebody else''s'")
    try:
        result = run_demo(redis_url, tmp_path)
        assert result.returncode == 2, result.stdout + result.stderr
        assert result.stderr.strip() == ("oltp.orders exists and was not created by the demo: refusing to touch "
                                         "it. Point MYSQL_URL at a scratch server, or drop the table yourself.")
        assert orders_comment() == "somebody else's"
        assert redis.Redis.from_url(redis_url).exists(REDIS_LOCK) == 0   # the lock went with the run
    finally:
        with conn.cursor() as cur:
            cur.execute("DROP TABLE IF EXISTS oltp.orders")
        conn.close()


def test_a_demo_stopped_midway_stops_what_it_started_and_says_so(interactive_demo: Terminal,
                                                                  redis_url: str) -> None:
    bot_pid = int(subprocess.run(["pgrep", "-P", str(interactive_demo.proc.pid)], capture_output=True,
                                 text=True, check=True).stdout.split()[0])
    interactive_demo.proc.send_signal(signal.SIGTERM)

    assert interactive_demo.wait() == 1
    assert interactive_demo.text.rstrip().endswith("Interrupted: the sandbox was stopped and cleaned up.")
    assert orders_comment() is None and bot_keys(redis_url) == set()
    assert redis.Redis.from_url(redis_url).exists(REDIS_LOCK) == 0
    assert subprocess.run(["kill", "-0", str(bot_pid)], capture_output=True, check=False).returncode != 0


def test_make_chaos_schema_drift_then_the_demo_runs(redis_url: str, tmp_path: Path) -> None:
    """The README's order: the chaos script seeds and drifts oltp.orders, then the demo takes it over."""
    applied = _chaos("--table oltp.orders --column unexpected_field")
    assert applied["action"] == "apply"

    result = run_demo(redis_url, tmp_path)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "Postmortem written to" in result.stdout
    assert orders_comment() is None and bot_keys(redis_url) == set()


def test_an_unreachable_redis_is_one_line_and_touches_nothing(tmp_path: Path) -> None:
    table = orders_comment()
    result = run_demo("redis://127.0.0.1:1/0", tmp_path)

    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.startswith("Redis at 127.0.0.1:1/0: ") and result.stderr.strip().count("\n") == 0
    assert "Traceback" not in result.stdout + result.stderr and orders_comment() == table
