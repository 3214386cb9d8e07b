"""The revert planner (pure), its pre-check and its guarded execution against the real MariaDB."""

from __future__ import annotations

import time

import pytest

from bot.clients.mysql import connect
from bot.errors import NotFoundError
from bot.schema.diff import diff_schemas
from bot.schema.model import Column, ServerInfo, TableIndexes, TableSchema
from bot.schema.reader import read_table, server_info
from bot.schema.revert import (
    Refusal,
    RevertPlan,
    action_hash,
    algorithm_for,
    execute_revert,
    plan_for_column,
    plan_revert,
    precheck,
)
from tests.schema.conftest import columns_of, run_sql

MARIA = ServerInfo("10.11.6-MariaDB", "mariadb", (10, 11, 6), True, "ROW", "h:3306/server_id=1/10.11.6")


def server(flavor: str, version: tuple[int, int, int]) -> ServerInfo:
    return ServerInfo(".".join(map(str, version)), flavor, version, True, "ROW", "x")


def test_algorithm_choice() -> None:
    assert algorithm_for(server("mariadb", (10, 4, 0)))[0] == "ALGORITHM=INSTANT"
    assert algorithm_for(server("mariadb", (10, 3, 9)))[0] == "ALGORITHM=INPLACE, LOCK=NONE"
    assert algorithm_for(server("mysql", (8, 0, 30)))[0] == "ALGORITHM=INSTANT"
    assert algorithm_for(server("mysql", (8, 4, 0)))[0] == "ALGORITHM=INSTANT"
    clause, note = algorithm_for(server("mysql", (8, 0, 29)))
    assert clause == "ALGORITHM=INPLACE, LOCK=NONE" and "crash recovery" in note
    assert algorithm_for(server("mysql", (8, 0, 28)))[0] == "ALGORITHM=INPLACE, LOCK=NONE"


def _schema(*cols: Column) -> TableSchema:
    return TableSchema("oltp", "orders", cols)


BASE = _schema(Column("id", 1, "int", False, key="PRI"), Column("amount", 2, "int", False),
               Column("note", 3, "text", True))


def test_plan_revert_drops_only_safe_drifted_columns() -> None:
    now = _schema(Column("id", 1, "int", False, key="PRI"), Column("amount", 2, "bigint", False),
                  Column("extra", 3, "varchar(64)", True), Column("indexed", 4, "int", True, key="MUL"),
                  Column("fk_col", 5, "int", True))
    from bot.schema.model import ForeignKey
    indexes = TableIndexes(foreign_keys=(ForeignKey("fk_x", "oltp.orders", ("fk_col",), "oltp.c(id)"),))
    plans = {p.column: p for p in plan_revert(diff_schemas(BASE, now), indexes, BASE, MARIA)}
    extra = plans["extra"]
    assert isinstance(extra, RevertPlan)
    assert extra.sql == "ALTER TABLE `oltp`.`orders` DROP COLUMN `extra`, ALGORITHM=INSTANT"
    assert extra.action_hash == action_hash(extra.sql, MARIA.identity) and "MariaDB" in extra.algorithm_note
    assert isinstance(plans["note"], Refusal) and "Restore it from a backup" in plans["note"].reason
    assert isinstance(plans["amount"], Refusal) and "type changed" in plans["amount"].reason
    assert isinstance(plans["indexed"], Refusal) and "key MUL" in plans["indexed"].reason
    assert isinstance(plans["fk_col"], Refusal) and "foreign key fk_x" in plans["fk_col"].reason


def test_hash_depends_on_server_identity() -> None:
    assert action_hash("ALTER x", "a") != action_hash("ALTER x", "b")


def test_plan_for_column_checks_existence(orders_db: str, mysql_url: str) -> None:
    conn = connect(mysql_url)
    base = read_table(conn, orders_db, "orders")
    with pytest.raises(NotFoundError, match=f"no such table {orders_db}.nope"):
        plan_for_column(conn, orders_db, "nope", "x", base)
    with pytest.raises(NotFoundError, match="no such column ghost"):
        plan_for_column(conn, orders_db, "orders", "ghost", base)
    same = plan_for_column(conn, orders_db, "orders", "status", base)
    assert isinstance(same, Refusal) and "nothing to revert" in same.reason
    run_sql("ALTER TABLE orders ADD COLUMN unexpected_field VARCHAR(64) NULL", orders_db)
    assert isinstance(plan_for_column(conn, orders_db, "orders", "unexpected_field", None), Refusal)
    plan = plan_for_column(conn, orders_db, "orders", "unexpected_field", base)
    assert isinstance(plan, RevertPlan)
    assert plan.sql == f"ALTER TABLE `{orders_db}`.`orders` DROP COLUMN `unexpected_field`, ALGORITHM=INSTANT"


def _drifted_plan(orders_db: str, mysql_url: str) -> RevertPlan:
    conn = connect(mysql_url)
    base = read_table(conn, orders_db, "orders")
    run_sql("ALTER TABLE orders ADD COLUMN unexpected_field VARCHAR(64) NULL", orders_db)
    plan = plan_for_column(conn, orders_db, "orders", "unexpected_field", base)
    assert isinstance(plan, RevertPlan)
    return plan


def test_precheck_and_execute(orders_db: str, mysql_url: str) -> None:
    plan = _drifted_plan(orders_db, mysql_url)
    check = precheck(connect(mysql_url), plan)
    assert check.ok and check.column_exists and check.row_estimate is not None and check.sql == plan.sql
    result = execute_revert(mysql_url, plan, plan.action_hash)
    assert result.ok and result.executed and result.reason == "column dropped"
    assert "unexpected_field" not in [c[0] for c in columns_of(orders_db)]
    again = execute_revert(mysql_url, plan, plan.action_hash)
    assert not again.ok and not again.executed and "no longer exists" in again.reason


def test_execute_refuses_a_changed_hash_or_sql(orders_db: str, mysql_url: str) -> None:
    plan = _drifted_plan(orders_db, mysql_url)
    before = columns_of(orders_db)
    assert "differs from what was approved" in execute_revert(mysql_url, plan, "0" * 64).reason
    tampered = RevertPlan(plan.schema, plan.table, plan.column, plan.sql.replace("INSTANT", "COPY"),
                          plan.action_hash, plan.algorithm_note)
    assert not execute_revert(mysql_url, tampered, plan.action_hash).executed
    assert columns_of(orders_db) == before


def test_execute_refuses_when_the_column_got_indexed(orders_db: str, mysql_url: str) -> None:
    plan = _drifted_plan(orders_db, mysql_url)
    run_sql("CREATE INDEX idx_uf ON orders (unexpected_field)", orders_db)
    result = execute_revert(mysql_url, plan, plan.action_hash)
    assert not result.executed and "index idx_uf" in result.reason
    assert "unexpected_field" in [c[0] for c in columns_of(orders_db)]


def test_open_transaction_blocks_execution(orders_db: str, mysql_url: str) -> None:
    plan = _drifted_plan(orders_db, mysql_url)
    holder = connect(mysql_url)
    with holder.cursor() as cur:
        cur.execute("START TRANSACTION")
        cur.execute(f"SELECT * FROM `{orders_db}`.orders FOR UPDATE")
    try:
        visible_in_innodb_trx(mysql_url, holder.thread_id())
        check = precheck(connect(mysql_url), plan, max_trx_age_s=0)
        assert not check.ok and check.blocking_transactions
        assert any(t["thread_id"] == holder.thread_id() for t in check.blocking_transactions)
        result = execute_revert(mysql_url, plan, plan.action_hash, max_trx_age_s=0)
        assert not result.executed and "the ALTER would wait for it" in result.reason
    finally:
        holder.rollback()
        holder.close()
    assert "unexpected_field" in [c[0] for c in columns_of(orders_db)]


def visible_in_innodb_trx(mysql_url: str, thread_id: int) -> None:
    """InnoDB serves INNODB_TRX from a cache refreshed at most every 0.1 s (any session's query refreshes
    it): wait until the new transaction is in it, as it is for any transaction older than that."""
    conn = connect(mysql_url)
    try:
        for _ in range(100):
            with conn.cursor() as cur:
                cur.execute("SELECT COUNT(*) FROM information_schema.INNODB_TRX WHERE trx_mysql_thread_id = %s",
                            (thread_id,))
                row = cur.fetchone()
            if row and row[0]:
                return
            time.sleep(0.05)
        with conn.cursor() as cur:
            cur.execute("SELECT trx_mysql_thread_id, trx_state FROM information_schema.INNODB_TRX")
            trx = cur.fetchall()
            cur.execute("SELECT ID, COMMAND, STATE, INFO FROM information_schema.PROCESSLIST")
            procs = cur.fetchall()
    finally:
        conn.close()
    raise AssertionError(f"thread {thread_id}'s transaction never showed in INNODB_TRX: {trx} {procs}")


def test_lock_wait_timeout_is_applied(orders_db: str, mysql_url: str) -> None:
    """A transaction younger than the limit passes the pre-check; the ALTER then waits at most N s."""
    plan = _drifted_plan(orders_db, mysql_url)
    holder = connect(mysql_url)
    with holder.cursor() as cur:
        cur.execute("START TRANSACTION")
        cur.execute(f"SELECT * FROM `{orders_db}`.orders")
    try:
        result = execute_revert(mysql_url, plan, plan.action_hash, lock_wait_timeout=1, max_trx_age_s=3600)
        assert result.executed and not result.ok and "1205" in result.reason
    finally:
        holder.rollback()
        holder.close()
    assert server_info(connect(mysql_url)).flavor == "mariadb"


def test_a_user_without_process_cannot_see_transactions_so_the_revert_is_refused(orders_db: str,
                                                                                 mysql_url: str) -> None:
    plan = _drifted_plan(orders_db, mysql_url)
    user = f"np_{orders_db[-8:]}"
    run_sql(f"CREATE USER '{user}'@'%' IDENTIFIED BY 'pw'", orders_db)
    try:
        run_sql(f"GRANT SELECT, ALTER ON `{orders_db}`.* TO '{user}'@'%'", orders_db)
        check = precheck(connect(mysql_url.replace("root:@", f"{user}:pw@")), plan)
        assert not check.ok and any("PROCESS privilege" in r for r in check.reasons)
        assert "unexpected_field" in [c[0] for c in columns_of(orders_db)]
    finally:
        run_sql(f"DROP USER '{user}'@'%'", orders_db)
