"""Reader against the real MariaDB, normalisers on MySQL 8 and MariaDB spellings, and the client."""

from __future__ import annotations

import pytest

from bot.clients.mysql import connect, parse_mysql_url
from bot.errors import BackendError
from bot.schema.baseline import load_contract
from bot.schema.diff import diff_schemas
from bot.schema.reader import (
    normalise_default,
    normalise_extra,
    normalise_type,
    parse_version,
    read_indexes,
    read_table,
    read_tables,
    server_info,
)
from tests.conftest import free_port
from tests.schema.conftest import ROOT, run_sql


@pytest.mark.parametrize(("raw", "expected"), [
    ("int(11)", "int"), ("bigint(20) unsigned", "bigint unsigned"), ("BIGINT UNSIGNED", "bigint unsigned"),
    ("tinyint(1)", "tinyint(1)"), ("tinyint(4)", "tinyint"), ("varchar(64)", "varchar(64)"),
    ("decimal(12,2)", "decimal(12,2)"), ("smallint(5) unsigned zerofill", "smallint unsigned zerofill"),
])
def test_normalise_type(raw: str, expected: str) -> None:
    assert normalise_type(raw) == expected


@pytest.mark.parametrize(("raw", "expected"), [
    (None, None), ("NULL", None), ("'pending'", "pending"), ("pending", "pending"), ("'it''s'", "it's"),
    ("current_timestamp()", "CURRENT_TIMESTAMP"), ("CURRENT_TIMESTAMP", "CURRENT_TIMESTAMP"),
    ("current_timestamp(3)", "CURRENT_TIMESTAMP(3)"), ("0", "0"), ("''", ""),
])
def test_normalise_default(raw: str | None, expected: str | None) -> None:
    assert normalise_default(raw) == expected


@pytest.mark.parametrize(("raw", "expected"), [
    ("DEFAULT_GENERATED on update CURRENT_TIMESTAMP", "on update CURRENT_TIMESTAMP"),
    ("on update current_timestamp()", "on update CURRENT_TIMESTAMP"),
    ("DEFAULT_GENERATED", ""), ("auto_increment", "auto_increment"), (None, ""),
    ("VIRTUAL GENERATED", "virtual generated"),
])
def test_normalise_extra(raw: str | None, expected: str) -> None:
    assert normalise_extra(raw) == expected


def test_parse_version() -> None:
    assert parse_version("10.11.19-MariaDB-0+deb12u1") == ("mariadb", (10, 11, 19))
    assert parse_version("8.0.36") == ("mysql", (8, 0, 36))
    assert parse_version("5.5.5-10.4.1-MariaDB") == ("mariadb", (10, 4, 1))


def test_demo_table_matches_its_contract(orders_db: str, mysql_url: str) -> None:
    conn = connect(mysql_url)
    live = read_table(conn, orders_db, "orders")
    contract = load_contract(ROOT / "schemas" / "oltp" / "orders.yml", f"{orders_db}.orders")
    assert live is not None
    assert diff_schemas(contract.schema, live).changes == ()
    updated = live.column("updated_at")
    assert updated is not None and updated.extra == "on update CURRENT_TIMESTAMP"
    assert updated.default == "CURRENT_TIMESTAMP" and not updated.nullable


def test_read_tables_reads_several_tables_and_skips_missing(orders_db: str, mysql_url: str) -> None:
    run_sql("CREATE TABLE other (a INT NULL, b VARCHAR(5) NOT NULL DEFAULT 'x')", orders_db)
    conn = connect(mysql_url)
    found = read_tables(conn, [(orders_db, "orders"), (orders_db, "other"), (orders_db, "missing")])
    assert set(found) == {(orders_db, "orders"), (orders_db, "other")}
    other = found[(orders_db, "other")]
    assert [(c.name, c.position, c.type, c.nullable, c.default) for c in other.columns] == [
        ("a", 1, "int", True, None), ("b", 2, "varchar(5)", False, "x")]
    assert read_table(conn, orders_db, "missing") is None


def test_indexes_and_foreign_keys_on_both_sides(orders_db: str, mysql_url: str) -> None:
    run_sql("CREATE TABLE refunds (id INT PRIMARY KEY, order_id BIGINT UNSIGNED, "
            "CONSTRAINT fk_refund_order FOREIGN KEY (order_id) REFERENCES orders (id))", orders_db)
    conn = connect(mysql_url)
    orders = read_indexes(conn, orders_db, "orders")
    assert "index idx_orders_customer_id" in orders.uses("customer_id")
    assert "foreign key fk_refund_order" in orders.uses("id")
    assert orders.uses("status") == []
    refunds = read_indexes(conn, orders_db, "refunds")
    assert "foreign key fk_refund_order" in refunds.uses("order_id")


def test_server_info(mysql_url: str) -> None:
    info = server_info(connect(mysql_url))
    assert info.flavor == "mariadb" and info.version_tuple >= (10, 0, 0)
    assert info.identity and info.binlog_format


def test_parse_mysql_url() -> None:
    kwargs = parse_mysql_url("mysql://app:p%40ss@db.example:3307/oltp")
    assert kwargs == {"host": "db.example", "port": 3307, "user": "app", "password": "p@ss", "database": "oltp"}
    assert parse_mysql_url("mysql://root@127.0.0.1/")["port"] == 3306
    with pytest.raises(ValueError):
        parse_mysql_url("postgres://x@y/")


def test_connect_failure_names_host_never_password() -> None:
    port = free_port()  # nothing listens there
    with pytest.raises(BackendError) as err:
        connect(f"mysql://root:hunter2secret@127.0.0.1:{port}/", timeout=2)
    assert err.value.where == f"127.0.0.1:{port}"
    assert "hunter2secret" not in str(err.value)


def test_wrong_password_is_a_backend_error(mysql_url: str, mysql_db: str) -> None:
    user = f"u{mysql_db[2:10]}"
    run_sql(f"CREATE USER '{user}'@'%' IDENTIFIED BY 'rightpass'")
    try:
        with pytest.raises(BackendError) as err:
            connect(f"mysql://{user}:wrongpass77@127.0.0.1:3306/")
        assert "wrongpass77" not in str(err.value) and "1045" in err.value.reason
    finally:
        run_sql(f"DROP USER '{user}'@'%'")

