"""`/dataflow help`: generated from the registry."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.commands.registry import REGISTRY, Invocation, Reply, subcommand, usage_line

if TYPE_CHECKING:
    from bot.deps import Deps


def help_text() -> str:
    lines = ["*DataFlow ChatOps* — incident response for the CDC pipeline. Subcommands:"]
    lines += [
        f"• {usage_line(sub)} — {sub.summary}" for sub in sorted(REGISTRY.values(), key=lambda s: s.name)
    ]
    lines.append(
        "Slash commands cannot be used inside threads: in an incident thread, mention me instead "
        "(`@DataFlow status`) and the incident is the thread's. Outside a thread, add `INC-n` or the "
        "channel's latest open incident is used."
    )
    return "\n".join(lines)


@subcommand("help", "", "this list", slow=False)
def run_help(deps: Deps, inv: Invocation, args: list[str]) -> Reply:
    return Reply(text=help_text())
