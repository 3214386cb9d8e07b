"""Records every Slack surface the app registers, so a test can compare it with manifest.yml."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from slack_bolt import App

Listener = Callable[..., Any]


@dataclass
class Registrar:
    """Wraps Bolt's decorators; handlers register through it instead of the App directly."""

    app: App
    commands: set[str] = field(default_factory=set)
    events: set[str] = field(default_factory=set)
    actions: set[str] = field(default_factory=set)
    shortcuts: set[str] = field(default_factory=set)

    def command(self, name: str, func: Listener) -> None:
        self.commands.add(name)
        self.app.command(name)(func)

    def event(self, event_type: str, func: Listener) -> None:
        self.events.add(event_type)
        self.app.event(event_type)(func)

    def action(self, action_id: str | re.Pattern[str], func: Listener) -> None:
        self.actions.add(action_id if isinstance(action_id, str) else action_id.pattern)
        self.app.action(action_id)(func)

    def shortcut(self, callback_id: str, func: Listener) -> None:
        self.shortcuts.add(callback_id)
        self.app.shortcut(callback_id)(func)
