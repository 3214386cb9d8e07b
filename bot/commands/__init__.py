"""/dataflow subcommands. Importing this package registers every one of them."""

from bot.commands import help as _help  # noqa: F401
from bot.commands.registry import REGISTRY, Invocation, Reply, Subcommand, lookup

__all__ = ["REGISTRY", "Invocation", "Reply", "Subcommand", "lookup"]
