"""The drift watcher loop of `serve`: it says why it is off and returns, or runs until stopped."""

from __future__ import annotations

import threading
from pathlib import Path

import redis

from bot.config import Settings
from bot.deps import Deps, build_deps
from bot.schema.watch_loop import drift_watcher, why_off
from bot.schema.watcher import LOCK_KEY

REPO = Path(__file__).resolve().parents[2]


def deps_with(redis_url: str, **settings: object) -> Deps:
    # Everything explicit: a MYSQL_URL in the developer's environment must not change the outcome.
    base: dict[str, object] = dict(redis_url=redis_url, mysql_url=None, pipeline_file=REPO / "config" / "pipelines.yml",
                                   schema_contracts_dir=REPO / "schemas")
    return build_deps(Settings(_env_file=None, **{**base, **settings}))  # type: ignore[call-arg]


def test_why_off_names_the_variable(redis_url: str) -> None:
    assert why_off(deps_with(redis_url, drift_watch_interval_seconds=0,
                             mysql_url="mysql://root:@127.0.0.1:3306/")) == "DRIFT_WATCH_INTERVAL_SECONDS is 0"
    assert why_off(deps_with(redis_url, drift_watch_interval_seconds=5)) == "MYSQL_URL is not set"
    assert why_off(deps_with(redis_url, drift_watch_interval_seconds=5,
                             mysql_url="mysql://root:@127.0.0.1:3306/")) is None


def test_the_loop_returns_at_once_when_off(redis_url: str, redis_client: redis.Redis) -> None:
    drift_watcher(deps_with(redis_url, drift_watch_interval_seconds=0), threading.Event())
    assert redis_client.get(LOCK_KEY) is None


def test_the_loop_holds_the_lock_while_running_and_stops_on_the_event(redis_url: str, redis_client: redis.Redis,
                                                                     mysql_url: str) -> None:
    deps = deps_with(redis_url, drift_watch_interval_seconds=0.2, mysql_url=mysql_url)
    stop = threading.Event()
    thread = threading.Thread(target=drift_watcher, args=(deps, stop))
    thread.start()
    try:
        for _ in range(200):
            if redis_client.get(LOCK_KEY):
                break
            stop.wait(0.02)
        assert redis_client.get(LOCK_KEY)
    finally:
        stop.set()
        thread.join()
    assert redis_client.get(LOCK_KEY) is None  # released on the way out
