"""The `demo` command: run the drill, print the thread, write the postmortem; or stay up (--interactive)."""

from __future__ import annotations

import time
from pathlib import Path

from rich.console import Console

from bot.sandbox.demo import CHANNEL, Drill
from bot.sandbox.demo_repl import repl
from bot.sandbox.stack import SandboxStack


def run_demo(mysql_url: str, redis_url: str, out_dir: Path, keep: bool, interactive: bool) -> int:
    console = Console()
    started = time.monotonic()
    stack = SandboxStack(mysql_url, redis_url)
    console.print(f"[bold]DataFlow ChatOps demo[/]  MySQL {mysql_url.split('@')[-1]} · Redis {redis_url}")
    try:
        stack.start()
        drill = Drill(stack, console)
        drill.say("Sandbox up", f"Slack emulator {stack.slack.url} · bot {stack.bot_url}")
        if interactive:
            return repl(stack, console)
        drill.run()
        path = drill.postmortem(out_dir)
        drill.show_thread()
        console.print(f"[bold green]✔[/] Postmortem written to [bold]{path}[/]")
        console.print(f"Done in {time.monotonic() - started:.1f} s."
                      + (f" Kept: the sandbox's data and {stack.workdir}." if keep else ""))
        return 0
    finally:
        stack.stop(keep_data=keep)


__all__ = ["CHANNEL", "run_demo"]
