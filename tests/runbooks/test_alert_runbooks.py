"""Every alert the rules can fire names a bot runbook that exists and lists it (issue #15); the alerts about
the bot's own checks name only the document."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from bot.runbooks.model import load_runbooks

RULES = Path(__file__).resolve().parents[2] / "monitoring" / "prometheus" / "rules"
ABOUT_THE_BOT = {"DataflowBotDown", "SchemaDriftCheckFailing"}   # no bot runbook can act on the bot itself


def alert_rules() -> list[dict[str, Any]]:
    return [rule for path in sorted(RULES.glob("*.yml")) for group in yaml.safe_load(path.read_text())["groups"]
            for rule in group["rules"] if "alert" in rule]


def test_every_alert_names_a_runbook_that_lists_it() -> None:
    books = load_runbooks()
    for rule in alert_rules():
        name = rule["alert"]
        if name in ABOUT_THE_BOT:
            assert "runbook" not in rule["annotations"], name
            continue
        book = books.get(rule["annotations"].get("runbook", ""))
        assert book is not None, f"{name}: names no runbook of the bot ({sorted(books)})"
        assert name in book.alerts, f"{name}: runbook {book.name} does not list it"


def test_every_runbook_answers_alerts_the_rules_can_fire() -> None:
    fired = {rule["alert"] for rule in alert_rules()}
    for book in load_runbooks().values():
        assert set(book.alerts) <= fired, (book.name, set(book.alerts) - fired)
