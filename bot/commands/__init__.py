"""/dataflow subcommands. Importing this package registers every one of them."""

from bot.commands import graph as _graph  # noqa: F401
from bot.commands import help as _help  # noqa: F401
from bot.commands import incidents as _incidents  # noqa: F401
from bot.commands import lifecycle as _lifecycle  # noqa: F401
from bot.commands import logs as _logs  # noqa: F401
from bot.commands import postmortem as _postmortem  # noqa: F401
from bot.commands import roles as _roles  # noqa: F401
from bot.commands import runbook as _runbook  # noqa: F401
from bot.commands import schema as _schema  # noqa: F401
from bot.commands import status as _status  # noqa: F401
from bot.commands import summary as _summary  # noqa: F401
from bot.commands.registry import REGISTRY, Invocation, Reply, Subcommand, lookup

__all__ = ["REGISTRY", "Invocation", "Reply", "Subcommand", "lookup"]
