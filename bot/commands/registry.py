"""The registry of /dataflow subcommands: help is generated from it, so it can never disagree."""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from bot.blocks.common import escape
from bot.errors import UserInputError

if TYPE_CHECKING:
    from bot.deps import Deps

_INCIDENT_ID = re.compile(r"^INC-(\d{1,9})$", re.IGNORECASE)


@dataclass(frozen=True)
class Invocation:
    """One command, whatever the surface: `/dataflow …`, `@bot …` or a button."""

    user_id: str
    channel_id: str
    text: str
    surface: Literal["slash", "mention", "button"] = "slash"
    thread_ts: str | None = None  # set when it came from inside a thread

    @property
    def words(self) -> list[str]:
        try:
            return shlex.split(self.text)
        except ValueError as exc:
            raise UserInputError(f"could not read `{self.text}`: {exc}", "Check your quotes.") from exc


@dataclass(frozen=True)
class Reply:
    text: str
    blocks: list[dict[str, Any]] | None = None
    where: Literal["ephemeral", "thread"] = "ephemeral"
    channel: str | None = None
    thread_ts: str | None = None
    metadata: dict[str, Any] | None = None
    files: list[tuple[str, str]] = field(default_factory=list)  # (filename, content) to upload


Handler = Callable[["Deps", Invocation, list[str]], Reply]


@dataclass(frozen=True)
class Subcommand:
    name: str
    usage: str  # arguments after the name, e.g. "<db.table> [baseline|accept]"
    summary: str
    run: Handler
    slow: bool = True  # slow ones run after the ack, on the job pool


REGISTRY: dict[str, Subcommand] = {}


def subcommand(name: str, usage: str, summary: str, slow: bool = True) -> Callable[[Handler], Handler]:
    def register(func: Handler) -> Handler:
        REGISTRY[name] = Subcommand(name, usage, summary, func, slow)
        return func

    return register


def lookup(words: list[str]) -> tuple[Subcommand, list[str]]:
    if not words:
        return REGISTRY["help"], []
    name = words[0].lower()
    if name not in REGISTRY:
        known = ", ".join(f"`{n}`" for n in sorted(REGISTRY))
        raise UserInputError(
            f"Unknown subcommand `{escape(words[0][:60])}`.", f"Known subcommands: {known}. Try `/dataflow help`."
        )
    return REGISTRY[name], words[1:]


def split_incident_arg(args: list[str]) -> tuple[list[str], str | None]:
    """Pull an `INC-n` argument out of args (anywhere), normalised to upper case."""
    rest, found = [], None
    for arg in args:
        match = _INCIDENT_ID.match(arg)
        if match and found is None:
            found = f"INC-{int(match.group(1))}"
        else:
            rest.append(arg)
    return rest, found


def usage_line(sub: Subcommand, prefix: str = "/dataflow") -> str:
    """Escaped for Slack: `<service>` sent raw is read as a link or mention and vanishes."""
    return f"`{prefix} {sub.name}{' ' + escape(sub.usage) if sub.usage else ''}`"
