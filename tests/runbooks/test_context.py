"""A step's parameters come from the incident's scope (pure: no services)."""

from __future__ import annotations

import pytest

from bot.errors import UserInputError
from bot.models import Incident
from bot.runbooks.context import StepContext
from bot.scope import Scope

INC = Incident(id="INC-7", number=7, correlation_key="group:x", title="t", channel="C1", opened_at=1.0,
               last_seen_at=1.0, labels={"connector": "from-label"})


def ctx(scope: Scope, args: list[str] | None = None) -> StepContext:
    return StepContext(deps=None, incident=INC, scope=scope, user="U1", args=args or [])  # type: ignore[arg-type]


def test_the_first_name_of_each_kind_is_the_target() -> None:
    scope = Scope(tables=("shop.orders", "shop.items"), connectors=("oltp-orders-cdc", "mysql-oltp-orders"),
                  flink_jobs=("cdc-orders-enrich",), topics=("shop.shop.orders",))
    params = {"c": "{connector}", "t": "{table}", "j": "{job}", "p": "{topic}", "s": "{service}", "i": "{incident}"}
    assert ctx(scope).resolve(params, "x") == {"c": "oltp-orders-cdc", "t": "shop.orders", "j": "cdc-orders-enrich",
                                               "p": "shop.shop.orders", "s": "connect", "i": "INC-7"}


def test_arguments_override_and_a_scope_table_is_recognised() -> None:
    scope = Scope(tables=("shop.orders", "shop.items"))
    assert ctx(scope, ["shop.items", "extra_col"]).resolve({"t": "{table}", "c": "{column}"}, "x") == {
        "t": "shop.items", "c": "extra_col"}
    assert ctx(scope, ["connector=other"]).resolve({"c": "{connector}"}, "x") == {"c": "other"}


def test_a_missing_target_says_how_to_pass_it() -> None:
    with pytest.raises(UserInputError) as info:
        ctx(Scope()).resolve({"c": "{connector}"}, "restart-connector")
    assert "connector=&lt;value&gt;" in info.value.user_text()   # escaped for Slack: shown as typed
    assert ctx(Scope()).resolve({"c": "{connector?}"}, "x") == {"c": ""}
