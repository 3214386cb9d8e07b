"""Argument parsing of `schema` and `logs`: what is accepted, and how refusals read."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.commands.logs import DEFAULT_PATTERN, PATTERN_MAX, STACK_SERVICES, known_services, parse_logs_args
from bot.commands.schema import parse_schema_args
from bot.errors import NotFoundError, UserInputError
from bot.pipeline import Lineage, Pipeline
from bot.schema.model import IDENTIFIER

LINEAGE = Lineage(pipelines=[Pipeline(name="orders", tables=["oltp.orders"], log_services=["connect", "debezium-ui"])])
NOT_IDENTIFIER = st.text(min_size=0, max_size=70).filter(lambda s: not IDENTIFIER.fullmatch(s))


def test_schema_args_accept_a_watched_table_and_an_action() -> None:
    assert parse_schema_args(LINEAGE, ["oltp.orders"]) == ("oltp.orders", None)
    assert parse_schema_args(LINEAGE, ["oltp.orders", "BASELINE"]) == ("oltp.orders", "baseline")
    assert parse_schema_args(LINEAGE, ["oltp.orders", "accept"]) == ("oltp.orders", "accept")


def test_schema_args_unknown_table_lists_the_watched_ones() -> None:
    with pytest.raises(NotFoundError) as err:
        parse_schema_args(LINEAGE, ["oltp.customers"])
    assert str(err.value) == "no such table oltp.customers" and "`oltp.orders`" in err.value.hint


@pytest.mark.parametrize("args", [[], ["a.b", "baseline", "x"], ["oltp.orders", "drop"]])
def test_schema_args_wrong_shape_says_the_usage(args: list[str]) -> None:
    with pytest.raises(UserInputError):
        parse_schema_args(LINEAGE, args)


@given(name=NOT_IDENTIFIER)
def test_hostile_table_names_are_refused_escaped(name: str) -> None:
    for qualified in (f"oltp.{name}", f"{name}.orders"):
        with pytest.raises(UserInputError) as err:
            parse_schema_args(LINEAGE, [qualified])
        text = err.value.user_text()
        assert "refused:" in text or "is not `db.table`" in text
        assert "<" not in str(err.value) and ">" not in str(err.value)


def test_logs_services_come_from_the_lineage_and_the_stack() -> None:
    services = known_services(LINEAGE)
    assert services[:2] == ["connect", "debezium-ui"] and set(STACK_SERVICES) <= set(services)
    assert len(services) == len(set(services))


def test_logs_args_default_pattern_and_words_joined_as_one_literal() -> None:
    assert parse_logs_args(LINEAGE, ["connect"]) == ("connect", DEFAULT_PATTERN)
    assert parse_logs_args(LINEAGE, ["debezium-ui", "isn't", "known"]) == ("debezium-ui", "isn't known")


def test_logs_args_refuse_unknown_services_and_long_patterns() -> None:
    with pytest.raises(UserInputError) as err:
        parse_logs_args(LINEAGE, ["<!channel>"])
    assert "&lt;!channel&gt;" in str(err.value) and "`flink-jobmanager`" in err.value.hint
    with pytest.raises(UserInputError, match=f"the limit is {PATTERN_MAX}"):
        parse_logs_args(LINEAGE, ["connect", "x" * (PATTERN_MAX + 1)])
    with pytest.raises(UserInputError, match="Usage"):
        parse_logs_args(LINEAGE, [])
