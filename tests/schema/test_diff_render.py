"""The pure diff and its renderers."""

from __future__ import annotations

import json

import pytest

from bot.schema.diff import BREAKING, COMPATIBLE, diff_schemas, is_widening
from bot.schema.model import Column, TableSchema
from bot.schema.render import MAX_CHARS, diff_to_json, render_diff_text


def col(name: str, position: int, type_: str = "int", nullable: bool = True, default: str | None = None,
        extra: str = "", key: str = "") -> Column:
    return Column(name, position, type_, nullable, default, extra, key)


BASE = TableSchema("oltp", "orders", (
    col("id", 1, "bigint unsigned", False, extra="auto_increment", key="PRI"),
    col("status", 2, "varchar(16)", False, "pending"),
    col("amount", 3, "decimal(10,2)", False),
    col("note", 4, "text"),
))


def live(*columns: Column) -> TableSchema:
    return TableSchema("oltp", "orders", columns)


def test_identical_schemas_have_no_changes() -> None:
    diff = diff_schemas(BASE, BASE)
    assert diff.changes == () and diff.verdict == "none"
    assert "matches its baseline" in render_diff_text(diff)


def test_added_nullable_column_is_compatible_and_not_null_without_default_breaking() -> None:
    diff = diff_schemas(BASE, live(*BASE.columns, col("extra1", 5, "varchar(64)"),
                                   col("extra2", 6, "int", nullable=False)))
    kinds = {(c.column, c.kind, c.verdict) for c in diff.changes}
    assert kinds == {("extra1", "added", COMPATIBLE), ("extra2", "added", BREAKING)}
    assert diff.verdict == BREAKING and diff.drifted_columns() == ["extra1", "extra2"]


def test_removed_column_is_breaking_and_no_order_change_is_implied() -> None:
    diff = diff_schemas(BASE, live(BASE.columns[0], BASE.columns[1], col("note", 3, "text")))
    assert [(c.kind, c.column, c.verdict) for c in diff.changes] == [("removed", "amount", BREAKING)]


@pytest.mark.parametrize(("before", "after", "verdict"), [
    ("varchar(16)", "varchar(64)", COMPATIBLE), ("varchar(64)", "varchar(16)", BREAKING),
    ("int", "bigint", COMPATIBLE), ("bigint", "int", BREAKING), ("int", "int unsigned", BREAKING),
    ("int unsigned", "bigint", COMPATIBLE), ("int unsigned", "int", BREAKING),
    ("decimal(10,2)", "decimal(12,2)", COMPATIBLE), ("decimal(10,2)", "decimal(10,3)", BREAKING),
    ("text", "mediumtext", COMPATIBLE), ("char(3)", "varchar(3)", COMPATIBLE),
    ("varchar(3)", "char(3)", BREAKING), ("int", "varchar(10)", BREAKING),
    ("enum('a','b')", "enum('a','b','c')", COMPATIBLE), ("enum('a','b')", "enum('b','a')", BREAKING),
    ("float", "double", COMPATIBLE), ("datetime", "datetime(3)", COMPATIBLE),
])
def test_type_changes(before: str, after: str, verdict: str) -> None:
    assert is_widening(before, after) is (verdict == COMPATIBLE)
    diff = diff_schemas(live(col("c", 1, before)), live(col("c", 1, after)))
    assert [(c.kind, c.verdict) for c in diff.changes] == [("type", verdict)]


def test_nullability_default_key_and_extra() -> None:
    base = live(col("a", 1, nullable=False), col("b", 2), col("c", 3), col("d", 4, "int", False, key="PRI"),
                col("e", 5))
    now = live(col("a", 1, nullable=True), col("b", 2, nullable=False), col("c", 3, default="5"),
               col("d", 4, "int", False), col("e", 5, nullable=False, default="0"))
    got = {(c.column, c.kind): c.verdict for c in diff_schemas(base, now).changes}
    assert got == {("a", "nullability"): BREAKING, ("b", "nullability"): BREAKING,
                   ("c", "default"): COMPATIBLE, ("d", "key"): BREAKING,
                   ("e", "nullability"): COMPATIBLE, ("e", "default"): COMPATIBLE}


def test_order_change_detected_only_for_real_moves() -> None:
    moved = live(BASE.columns[0], col("amount", 2, "decimal(10,2)", False),
                 col("status", 3, "varchar(16)", False, "pending"), col("note", 4, "text"))
    diff = diff_schemas(BASE, moved)
    assert {c.kind for c in diff.changes} == {"order"} and diff.verdict == COMPATIBLE
    inserted = live(BASE.columns[0], col("new", 2), *[col(c.name, c.position + 1, c.type, c.nullable,
                                                           c.default) for c in BASE.columns[1:]])
    assert {c.kind for c in diff_schemas(BASE, inserted).changes} == {"added"}


def test_render_text_and_json() -> None:
    now = live(*BASE.columns[:2], col("amount", 3, "decimal(8,2)", False), col("unexpected_field", 4,
                                                                                 "varchar(64)"))
    diff = diff_schemas(BASE, now)
    text = render_diff_text(diff)
    assert text.splitlines()[0].startswith("*Schema drift on `oltp.orders`: BREAKING*")
    assert "```diff" in text and text.endswith("```")
    assert "\n+ unexpected_field varchar(64) NULL" in text
    assert "\n- note text NULL" in text
    assert "\n~ amount type: decimal(10,2) → decimal(8,2)" in text
    data = diff_to_json(diff)
    json.dumps(data)
    assert data["verdict"] == BREAKING and {c["kind"] for c in data["changes"]} == {"added", "removed", "type"}


def test_render_is_capped_and_escaped() -> None:
    many = live(*BASE.columns, *[col(f"c{i}_<x>&```", 10 + i, "varchar(64)") for i in range(200)])
    text = render_diff_text(diff_schemas(BASE, many))
    assert len(text) <= MAX_CHARS
    assert "more change(s) not shown" in text
    assert "<x>" not in text and "&lt;x&gt;&amp;" in text
    assert text.count("```") == 2
