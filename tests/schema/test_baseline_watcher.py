"""Baselines in real Redis (+ contract files), and the drift watcher against real MariaDB and Redis."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import redis

from bot.clients.mysql import connect
from bot.metrics import REGISTRY
from bot.pipeline import Lineage, Pipeline
from bot.schema.baseline import BaselineStore, current_key
from bot.schema.reader import read_table
from bot.schema.watcher import LOCK_KEY, DriftWatcher
from tests.schema.conftest import ROOT, run_sql


def store_for(redis_client: redis.Redis, tmp_path: Path, mysql_url: str) -> BaselineStore:
    def reader(table: str):  # type: ignore[no-untyped-def]
        schema, name = table.split(".")
        return read_table(connect(mysql_url), schema, name)
    return BaselineStore(redis_client, tmp_path, live_reader=reader)


def test_first_ensure_snapshots_once_then_history_grows(
        orders_db: str, mysql_url: str, redis_client: redis.Redis, tmp_path: Path) -> None:
    store = store_for(redis_client, tmp_path, mysql_url)
    table = f"{orders_db}.orders"
    assert store.get(table) is None
    live = read_table(connect(mysql_url), orders_db, "orders")
    assert live is not None
    first = store.ensure(table, live)
    again = store.ensure(table, live)
    assert (first.version, first.source, first.taken_by) == (1, "snapshot", "drift-watcher")
    assert again == first and len(store.history(table)) == 1
    run_sql("ALTER TABLE orders ADD COLUMN extra VARCHAR(10) NULL", orders_db)
    result = store.accept_drift(table, "U123")
    assert result.baseline.version == 2 and result.baseline.taken_by == "U123"
    assert "extra" in result.baseline.schema.names() and "Drift accepted" in result.message
    assert [b.version for b in store.history(table)] == [1, 2]
    assert store.get(table) == result.baseline
    assert result.baseline.taken_at.endswith("+00:00")


def test_contract_file_wins_and_accept_says_to_edit_it(
        orders_db: str, mysql_url: str, redis_client: redis.Redis, tmp_path: Path) -> None:
    (tmp_path / orders_db).mkdir()
    contract = tmp_path / orders_db / "orders.yml"
    contract.write_text((ROOT / "schemas" / "oltp" / "orders.yml").read_text())
    store = store_for(redis_client, tmp_path, mysql_url)
    table = f"{orders_db}.orders"
    got = store.get(table)
    assert got is not None and got.source == "contract" and got.schema.schema == orders_db
    result = store.accept_drift(table, "U1")
    assert str(contract) in result.message and "update it in the repo" in result.message
    assert store.get(table).source == "contract"  # type: ignore[union-attr]
    assert contract.read_text() == (ROOT / "schemas" / "oltp" / "orders.yml").read_text()


def test_bad_table_names_never_reach_the_filesystem(redis_client: redis.Redis, tmp_path: Path) -> None:
    store = BaselineStore(redis_client, tmp_path)
    from bot.errors import UserInputError
    with pytest.raises(UserInputError):
        store.get("../../etc.passwd")


def _gauge(name: str, schema: str, table: str) -> float | None:
    return REGISTRY.get_sample_value(name, {"schema": schema, "table": table})


def test_watcher_check_once_sets_gauges(
        orders_db: str, mysql_url: str, redis_client: redis.Redis, tmp_path: Path) -> None:
    lineage = Lineage(pipelines=[Pipeline(name="p", tables=[f"{orders_db}.orders", f"{orders_db}.gone"])])
    watcher = DriftWatcher(redis_client, mysql_url, lineage, BaselineStore(redis_client, tmp_path), 1)
    assert watcher.check_once() == {f"{orders_db}.orders": 0, f"{orders_db}.gone": -1}
    assert redis_client.exists(current_key(f"{orders_db}.orders"))
    run_sql("ALTER TABLE orders ADD COLUMN a INT NULL, ADD COLUMN b INT NULL", orders_db)
    assert watcher.check_once()[f"{orders_db}.orders"] == 2
    assert _gauge("dataflow_schema_drift_columns", orders_db, "orders") == 2
    assert _gauge("dataflow_schema_drift_check_success", orders_db, "orders") == 1
    assert _gauge("dataflow_schema_drift_check_success", orders_db, "gone") == 0


def test_watcher_mysql_down_marks_checks_failed(redis_client: redis.Redis, tmp_path: Path) -> None:
    from tests.conftest import free_port
    lineage = Lineage(pipelines=[Pipeline(name="p", tables=["nodb.nowhere"])])
    url = f"mysql://root@127.0.0.1:{free_port()}/"
    watcher = DriftWatcher(redis_client, url, lineage, BaselineStore(redis_client, tmp_path), 1)
    assert watcher.check_once() == {"nodb.nowhere": -1}
    assert _gauge("dataflow_schema_drift_check_success", "nodb", "nowhere") == 0


def test_lock_is_exclusive_and_released_only_by_its_owner(
        redis_client: redis.Redis, tmp_path: Path, mysql_url: str) -> None:
    lineage = Lineage(pipelines=[])
    one = DriftWatcher(redis_client, mysql_url, lineage, BaselineStore(redis_client, tmp_path), 1)
    two = DriftWatcher(redis_client, mysql_url, lineage, BaselineStore(redis_client, tmp_path), 1)
    assert one.acquire() and not two.acquire()
    assert one.acquire()  # renewal by the owner
    assert not two.release() and redis_client.exists(LOCK_KEY)
    assert one.release() and not redis_client.exists(LOCK_KEY)
    assert two.acquire()


def test_run_checks_while_holding_the_lock_and_releases_on_stop(
        orders_db: str, mysql_url: str, redis_client: redis.Redis, tmp_path: Path) -> None:
    lineage = Lineage(pipelines=[Pipeline(name="p", tables=[f"{orders_db}.orders"])])
    watcher = DriftWatcher(redis_client, mysql_url, lineage, BaselineStore(redis_client, tmp_path), 0.1)
    stop = threading.Event()
    thread = threading.Thread(target=watcher.run, args=(stop,), daemon=True)
    thread.start()
    seen = threading.Event()
    for _ in range(200):  # wait for the first snapshot; not a timing assertion
        if redis_client.exists(current_key(f"{orders_db}.orders")):
            seen.set()
            break
        stop.wait(0.05)
    assert seen.is_set() and redis_client.exists(LOCK_KEY)
    stop.set()
    thread.join(timeout=30)
    assert not thread.is_alive() and not redis_client.exists(LOCK_KEY)


class StopAfter(threading.Event):
    """A stop event that sets itself after n waits: lets run() loop a known number of times."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.left = n

    def wait(self, timeout: float | None = None) -> bool:
        self.left -= 1
        if self.left <= 0:
            self.set()
        return self.is_set()


def test_run_does_not_check_when_another_replica_holds_the_lock(
        orders_db: str, mysql_url: str, redis_client: redis.Redis, tmp_path: Path) -> None:
    redis_client.set(LOCK_KEY, "someone-else", px=60_000)
    lineage = Lineage(pipelines=[Pipeline(name="p", tables=[f"{orders_db}.orders"])])
    watcher = DriftWatcher(redis_client, mysql_url, lineage, BaselineStore(redis_client, tmp_path), 0.1)
    watcher.run(StopAfter(3))
    assert not redis_client.exists(current_key(f"{orders_db}.orders"))
    assert redis_client.get(LOCK_KEY) == "someone-else"
    redis_client.delete(LOCK_KEY)
    watcher.run(StopAfter(1))
    assert redis_client.exists(current_key(f"{orders_db}.orders"))
