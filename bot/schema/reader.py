"""Read live schemas from information_schema, normalised so MySQL 8 and MariaDB 10.11 agree.

The normalisers are pure; the readers take an open pymysql connection and run parameterised queries
(identifiers are values in information_schema, never spliced into SQL here).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

import pymysql

from bot.schema.model import Column, ForeignKey, Index, ServerInfo, TableIndexes, TableSchema

_INT_WIDTH = re.compile(r"\b(tinyint|smallint|mediumint|int|integer|bigint)\(\d+\)")
_CURRENT_TS = re.compile(r"current_timestamp(?:\(\))?|now\(\)", re.I)
_CURRENT_TS_PRECISION = re.compile(r"current_timestamp\((\d+)\)", re.I)

# Explicit lower-case aliases: MySQL 8's data-dictionary views label columns in upper case.
_COLUMNS_SQL = (
    "SELECT TABLE_SCHEMA AS table_schema, TABLE_NAME AS table_name, COLUMN_NAME AS column_name, "
    "ORDINAL_POSITION AS ordinal_position, COLUMN_TYPE AS column_type, IS_NULLABLE AS is_nullable, "
    "COLUMN_DEFAULT AS column_default, EXTRA AS extra, COLUMN_KEY AS column_key "
    "FROM information_schema.COLUMNS WHERE {where} "
    "ORDER BY TABLE_SCHEMA, TABLE_NAME, ORDINAL_POSITION"
)


def normalise_type(column_type: str) -> str:
    """Lower-case; integer display widths dropped (MySQL 8.0.17+ hides them) except tinyint(1)."""
    lowered = " ".join(str(column_type).lower().split())
    return _INT_WIDTH.sub(lambda m: m.group(0) if m.group(0) == "tinyint(1)" else m.group(1), lowered)


def normalise_default(raw: Any) -> str | None:
    """MariaDB quotes string defaults and writes NULL as the string 'NULL'; MySQL 8 does neither."""
    if raw is None:
        return None
    text = raw.decode() if isinstance(raw, bytes) else str(raw)
    if text.upper() == "NULL":
        return None
    if len(text) >= 2 and text[0] == text[-1] == "'":
        return text[1:-1].replace("''", "'").replace("\\\\", "\\")
    text = _CURRENT_TS_PRECISION.sub(r"CURRENT_TIMESTAMP(\1)", text)
    return _CURRENT_TS.sub("CURRENT_TIMESTAMP", text)


def normalise_extra(raw: Any) -> str:
    """DEFAULT_GENERATED (MySQL 8 only) dropped, lower-case, on update CURRENT_TIMESTAMP spelled alike."""
    words = [w for w in str(raw or "").lower().split() if w != "default_generated"]
    text = _CURRENT_TS_PRECISION.sub(r"CURRENT_TIMESTAMP(\1)", " ".join(words))
    return _CURRENT_TS.sub("CURRENT_TIMESTAMP", text)


def row_to_column(row: Mapping[str, Any]) -> Column:
    return Column(
        name=str(row["column_name"]),
        position=int(row["ordinal_position"]),
        type=normalise_type(row["column_type"]),
        nullable=str(row["is_nullable"]).upper() == "YES",
        default=normalise_default(row["column_default"]),
        extra=normalise_extra(row["extra"]),
        key=str(row["column_key"] or "").upper(),
    )


def rows_to_schemas(rows: Iterable[Mapping[str, Any]]) -> dict[tuple[str, str], TableSchema]:
    """Group COLUMNS rows (already ordered by position) into one TableSchema per table."""
    grouped: dict[tuple[str, str], list[Column]] = {}
    for row in rows:
        grouped.setdefault((str(row["table_schema"]), str(row["table_name"])), []).append(row_to_column(row))
    return {key: TableSchema(key[0], key[1], tuple(cols)) for key, cols in grouped.items()}


def read_tables(conn: pymysql.Connection[Any], tables: Iterable[tuple[str, str]]) -> dict[
        tuple[str, str], TableSchema]:
    """Columns of every requested (db, table) in ONE query; tables that do not exist are absent."""
    wanted = sorted(set(tables))
    if not wanted:
        return {}
    where = " OR ".join(["(TABLE_SCHEMA = %s AND TABLE_NAME = %s)"] * len(wanted))
    params = [part for pair in wanted for part in pair]
    with conn.cursor(pymysql.cursors.DictCursor) as cur:
        cur.execute(_COLUMNS_SQL.format(where=where), params)
        rows = cur.fetchall()
    return rows_to_schemas({k.lower(): v for k, v in row.items()} for row in rows)


def read_table(conn: pymysql.Connection[Any], schema: str, table: str) -> TableSchema | None:
    return read_tables(conn, [(schema, table)]).get((schema, table))


def read_indexes(conn: pymysql.Connection[Any], schema: str, table: str) -> TableIndexes:
    """Indexes (STATISTICS) and foreign keys on either side (KEY_COLUMN_USAGE) involving the table."""
    with conn.cursor() as cur:
        cur.execute(
            "SELECT INDEX_NAME AS index_name, COLUMN_NAME AS column_name, NON_UNIQUE AS non_unique "
            "FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s "
            "ORDER BY INDEX_NAME, SEQ_IN_INDEX", (schema, table))
        stats = cur.fetchall()
        cur.execute(
            "SELECT CONSTRAINT_NAME AS constraint_name, TABLE_SCHEMA AS table_schema, "
            "TABLE_NAME AS table_name, COLUMN_NAME AS column_name, "
            "REFERENCED_TABLE_SCHEMA AS ref_schema, REFERENCED_TABLE_NAME AS ref_table, "
            "REFERENCED_COLUMN_NAME AS ref_column FROM information_schema.KEY_COLUMN_USAGE "
            "WHERE REFERENCED_TABLE_NAME IS NOT NULL AND ((TABLE_SCHEMA = %s AND TABLE_NAME = %s) "
            "OR (REFERENCED_TABLE_SCHEMA = %s AND REFERENCED_TABLE_NAME = %s)) "
            "ORDER BY CONSTRAINT_NAME, ORDINAL_POSITION", (schema, table, schema, table))
        fks = cur.fetchall()
    return TableIndexes(_indexes(stats), _foreign_keys(fks, schema, table))


def _indexes(rows: Iterable[tuple[Any, ...]]) -> tuple[Index, ...]:
    cols: dict[str, list[str]] = {}
    unique: dict[str, bool] = {}
    for name, column, non_unique in rows:
        cols.setdefault(str(name), []).append(str(column))
        unique[str(name)] = int(non_unique) == 0
    return tuple(Index(name, tuple(c), unique[name]) for name, c in cols.items())


def _foreign_keys(rows: Iterable[tuple[Any, ...]], schema: str, table: str) -> tuple[ForeignKey, ...]:
    """Each FK with this table's columns in it: the referencing side or the referenced side."""
    found: dict[tuple[str, str], tuple[list[str], str]] = {}
    for name, t_schema, t_name, column, r_schema, r_table, r_column in rows:
        owner = f"{t_schema}.{t_name}"
        mine = [str(column)] if (t_schema, t_name) == (schema, table) else []
        if (r_schema, r_table) == (schema, table):
            mine.append(str(r_column))
        cols, _ = found.setdefault((str(name), owner), ([], f"{r_schema}.{r_table}"))
        cols.extend(c for c in mine if c not in cols)
    return tuple(ForeignKey(n, owner, tuple(c), ref) for (n, owner), (c, ref) in found.items())


def parse_version(version: str) -> tuple[str, tuple[int, int, int]]:
    """('mariadb'|'mysql', (major, minor, patch)) from SELECT VERSION()."""
    flavor = "mariadb" if "mariadb" in version.lower() else "mysql"
    match = re.match(r"(?:5\.5\.5-)?(\d+)\.(\d+)\.(\d+)", version)
    numbers = (int(match.group(1)), int(match.group(2)), int(match.group(3))) if match else (0, 0, 0)
    return flavor, numbers


def server_info(conn: pymysql.Connection[Any]) -> ServerInfo:
    with conn.cursor() as cur:
        cur.execute("SELECT VERSION(), @@log_bin, @@binlog_format, @@server_id, @@hostname, @@port")
        row = cur.fetchone()
    assert row is not None
    version, log_bin, binlog_format, server_id, hostname, port = row
    flavor, numbers = parse_version(str(version))
    return ServerInfo(
        version=str(version), flavor=flavor, version_tuple=numbers,
        log_bin=str(log_bin).upper() in ("1", "ON"), binlog_format=str(binlog_format),
        identity=f"{hostname}:{port}/server_id={server_id}/{version}",
    )


def table_exists(conn: pymysql.Connection[Any], schema: str, table: str) -> bool:
    with conn.cursor() as cur:
        cur.execute("SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s",
                    (schema, table))
        return cur.fetchone() is not None
