"""Plain data for the schema-drift feature: columns, tables, indexes, server facts, identifiers."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property

from bot.blocks.common import escape
from bot.errors import UserInputError

# Allowlist stricter than MySQL's own rules on purpose (reliability §5.1): quoting would be enough,
# but a name outside this set in a drift/revert request is far more likely an attack or a typo.
IDENTIFIER = re.compile(r"[A-Za-z0-9_$]{1,64}")  # always fullmatch: `$` would accept "a\n"


@dataclass(frozen=True)
class Column:
    name: str
    position: int
    type: str
    nullable: bool
    default: str | None = None
    extra: str = ""
    key: str = ""


@dataclass(frozen=True)
class TableSchema:
    schema: str
    table: str
    columns: tuple[Column, ...]

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.table}"

    def column(self, name: str) -> Column | None:
        return self._by_name.get(name)

    @cached_property
    def _by_name(self) -> dict[str, Column]:
        """Built once: a diff looks every column up, and tables run to a thousand columns."""
        return {c.name: c for c in self.columns}

    def names(self) -> list[str]:
        return [c.name for c in self.columns]


@dataclass(frozen=True)
class Index:
    name: str
    columns: tuple[str, ...]
    unique: bool


@dataclass(frozen=True)
class ForeignKey:
    """A foreign key that involves the table: `columns` are this table's columns in it."""

    name: str
    table: str  # the table that owns the constraint, db.t
    columns: tuple[str, ...]
    referenced: str  # db.t(col, ...)


@dataclass(frozen=True)
class TableIndexes:
    indexes: tuple[Index, ...] = ()
    foreign_keys: tuple[ForeignKey, ...] = ()

    def uses(self, column: str) -> list[str]:
        """What makes a column unsafe to drop, one phrase each ("index idx_a", "foreign key fk_b")."""
        found = [f"index {i.name}" for i in self.indexes if column in i.columns]
        return found + [f"foreign key {f.name}" for f in self.foreign_keys if column in f.columns]


@dataclass(frozen=True)
class ServerInfo:
    version: str
    flavor: str  # "mariadb" | "mysql"
    version_tuple: tuple[int, int, int]
    log_bin: bool
    binlog_format: str
    identity: str = ""  # host:port/server_id, binds an approval hash to one server
    extra: dict[str, str] = field(default_factory=dict)


def validate_identifier(name: str, what: str = "identifier") -> str:
    """The name unchanged, or UserInputError saying why it is refused."""
    if not isinstance(name, str) or not IDENTIFIER.fullmatch(name):
        shown = escape(repr(name)[:80])
        raise UserInputError(
            f"refused: {what} {shown} is not a plain identifier",
            hint="Names must be 1-64 characters from A-Z a-z 0-9 _ $ (no quotes, spaces or dots).",
        )
    return name


def quote_identifier(name: str) -> str:
    """Backtick-quote with doubling (Skeema's EscapeIdentifier); validate first, this is the last line."""
    return "`" + name.replace("`", "``") + "`"


def split_table(qualified: str) -> tuple[str, str]:
    """'db.table' -> ('db', 'table'), both validated."""
    schema, dot, table = qualified.partition(".")
    if not dot:
        raise UserInputError(f"refused: table {escape(repr(qualified[:80]))} must be written db.table")
    return validate_identifier(schema, "database name"), validate_identifier(table, "table name")
