"""Property tests: hostile identifiers are refused clearly and the database is left unchanged."""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import os
from pathlib import Path
from types import ModuleType
from unittest import mock

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from bot.clients.mysql import connect
from bot.errors import UserInputError
from bot.schema.diff import diff_schemas
from bot.schema.drill import _TYPE as DRILL_TYPE
from bot.schema.model import IDENTIFIER, Column, TableIndexes, TableSchema, quote_identifier
from bot.schema.reader import read_table
from bot.schema.revert import Refusal, plan_for_column, plan_revert
from tests.schema.conftest import ROOT, columns_of
from tests.schema.test_revert import MARIA

HOSTILE = st.one_of(
    st.sampled_from(["", "a`b", "a'b", 'a"b', "a;b", "a b", "a.b", "x`; DROP TABLE t; --", "naïve", "日本",
                     "a\nb", "abc\n", "a" * 65, "a\x00b", "-- x", "a)b"]),
    st.text(min_size=1, max_size=80).filter(lambda s: not IDENTIFIER.fullmatch(s)),
)
FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("chaos_script", ROOT / "scripts/chaos/simulate_schema_drift.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


CHAOS = _script()


@given(HOSTILE)
def test_quote_identifier_doubles_backticks(name: str) -> None:
    quoted = quote_identifier(name)
    assert quoted.startswith("`") and quoted.endswith("`")
    assert quoted[1:-1].replace("``", "").count("`") == 0


@given(column=HOSTILE)
def test_planner_refuses_hostile_column(column: str) -> None:
    base = TableSchema("oltp", "orders", (Column("id", 1, "int", False, key="PRI"),))
    live = TableSchema("oltp", "orders", (*base.columns, Column(column, 2, "int", True)))
    [result] = plan_revert(diff_schemas(base, live), TableIndexes(), base, MARIA)
    assert isinstance(result, Refusal) and "is not a plain identifier" in result.reason


@given(table=HOSTILE)
def test_planner_refuses_hostile_table(table: str) -> None:
    base = TableSchema("oltp", table, (Column("id", 1, "int", False),))
    live = TableSchema("oltp", table, (*base.columns, Column("extra", 2, "int", True)))
    [result] = plan_revert(diff_schemas(base, live), TableIndexes(), base, MARIA)
    assert isinstance(result, Refusal) and "table name" in result.reason


@FAST
@given(name=HOSTILE, where=st.sampled_from(["schema", "table", "column"]))
def test_plan_for_column_refuses_and_changes_nothing(orders_db: str, mysql_url: str, name: str,
                                                     where: str) -> None:
    conn = connect(mysql_url)
    before = columns_of(orders_db)
    base = read_table(conn, orders_db, "orders")
    args = {"schema": orders_db, "table": "orders", "column": "status", where: name}
    with pytest.raises(UserInputError, match="is not a plain identifier"):
        plan_for_column(conn, args["schema"], args["table"], args["column"], base)
    assert columns_of(orders_db) == before


@pytest.fixture
def chaos_env(orders_db: str, tmp_path: Path) -> dict[str, str]:
    pipelines = tmp_path / "p.yml"
    pipelines.write_text(f"pipelines:\n  - name: t\n    tables: [{orders_db}.orders]\n")
    return {"MYSQL_URL": "mysql://root@127.0.0.1:3306/", "PIPELINE_FILE": str(pipelines),
            "SCHEMA_CONTRACTS_DIR": str(ROOT / "schemas")}


@FAST
@given(name=HOSTILE, where=st.sampled_from(["table", "column", "type"]), revert=st.booleans())
def test_chaos_script_refuses_and_changes_nothing(orders_db: str, chaos_env: dict[str, str], name: str,
                                                  where: str, revert: bool) -> None:
    # A type hypothesis happens to spell like an allowed one is not hostile: skip it before running.
    assume(where != "type" or not DRILL_TYPE.fullmatch(" ".join(name.split()).upper()))
    before = columns_of(orders_db)
    args = {"table": f"{orders_db}.orders", "column": "c_new", "type": "INT"}
    args[where] = name if where != "table" else f"{orders_db}.{name}"
    argv = [f"--table={args['table']}", f"--column={args['column']}", f"--type={args['type']}"]
    out = io.StringIO()
    with mock.patch.dict(os.environ, chaos_env), contextlib.redirect_stdout(out):
        code = CHAOS.main([*argv, *(["--revert"] if revert else [])])
    assert code == 2, out.getvalue()
    assert json.loads(out.getvalue())["error"]
    assert columns_of(orders_db) == before
