"""The chaos drill's DDL: add an unexpected column, or drop one that drift added. Shared by the script
(scripts/chaos/simulate_schema_drift.py) and the runbook's drill steps."""

from __future__ import annotations

import re

from bot.errors import UserInputError
from bot.schema.model import TableSchema, quote_identifier, validate_identifier

# Simple types only: the value is spliced into DDL, so it must match one of these exactly.
_TYPES = [r"VARCHAR\(([1-9]\d{0,4})\)", r"CHAR\(([1-9]\d{0,2})\)", r"TINYINT", r"SMALLINT", r"INT",
          r"BIGINT", r"TEXT", r"DECIMAL\(([1-9]\d?),(\d\d?)\)", r"DATE", r"DATETIME", r"TIMESTAMP",
          r"BOOLEAN", r"DOUBLE"]
_TYPE = re.compile(r"(?:" + "|".join(_TYPES) + r")(?: UNSIGNED)?(?: NOT NULL| NULL)?", re.I)
DEFAULT_TYPE = "VARCHAR(64) NULL"


class DrillRefused(UserInputError):
    """The drill will not do this (bad type, column exists, column is in the baseline...)."""


def column_type(raw: str) -> str:
    normalised = " ".join(raw.split()).upper()
    if not _TYPE.fullmatch(normalised):
        raise DrillRefused(f"type {raw!r} is not allowed; use e.g. VARCHAR(64), INT, BIGINT, TEXT, "
                           "DECIMAL(12,2), DATETIME, BOOLEAN (optionally NULL/NOT NULL)")
    return normalised


def add_column_ddl(live: TableSchema, column: str, type_: str = DEFAULT_TYPE) -> str:
    validate_identifier(column, "column name")
    if live.column(column) is not None:
        raise DrillRefused(f"column {column} already exists in {live.qualified}: nothing to apply")
    return (f"ALTER TABLE {quote_identifier(live.schema)}.{quote_identifier(live.table)} "
            f"ADD COLUMN {quote_identifier(column)} {column_type(type_)}")


def drop_column_ddl(live: TableSchema, column: str, baseline_columns: set[str]) -> str:
    validate_identifier(column, "column name")
    if live.column(column) is None:
        raise DrillRefused(f"column {column} does not exist in {live.qualified}: nothing to revert")
    if column in baseline_columns:
        raise DrillRefused(f"column {column} is part of the baseline of {live.qualified}: drift did not add it, "
                           "refusing to drop it")
    return (f"ALTER TABLE {quote_identifier(live.schema)}.{quote_identifier(live.table)} "
            f"DROP COLUMN {quote_identifier(column)}")
