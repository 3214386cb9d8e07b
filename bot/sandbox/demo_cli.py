"""The `demo` command: run the drill, print the thread, write the postmortem; or stay up (--interactive)."""

from __future__ import annotations

import time
from pathlib import Path

from rich.console import Console

from bot.sandbox.demo import CHANNEL, Drill
from bot.sandbox.demo_repl import repl
from bot.sandbox.stack import SandboxStack


def run_real_demo(redis_url: str, out_dir: Path, keep: bool) -> int:
    """The drill on the local real stack (`make stack-up`); only Slack is emulated."""
    from bot.sandbox.real_drill import RealDrill
    from bot.sandbox.real_stack import RealStack

    console = Console()
    started = time.monotonic()
    stack, failed = RealStack(redis_url), True
    console.print(f"[bold]DataFlow ChatOps demo on the real stack[/]  MariaDB, Connect + Debezium, Flink, "
                  f"Prometheus, Alertmanager from {stack.env['STACK_DIR']} · Redis {redis_url}")
    try:
        stack.start()
        drill = RealDrill(stack, console)
        drill.say("Real stack answers; bot up", f"bot {stack.bot_url} · Slack emulator {stack.slack.url}")
        try:
            drill.run()
        except (AssertionError, RuntimeError) as exc:   # a step that did not happen: show where it stopped
            drill.show_thread()
            console.print(f"[bold red]✘[/] The drill stopped: {str(exc).splitlines()[0]}")
            for note in stack.slack.ephemerals()[-3:]:
                console.print(f"  Private answer to {note['user']}: {note['text'][:300]}", markup=False)
            console.print(f"  The bot's log: {stack.workdir / 'bot.log'}")
            return 1
        path = drill.postmortem(out_dir)
        drill.show_thread()
        console.print(f"[bold green]✔[/] Postmortem written to [bold]{path}[/]")
        console.print(f"Done in {time.monotonic() - started:.1f} s.")
        failed = False
        return 0
    finally:
        stack.stop(keep_data=keep, keep_logs=failed)   # a failed run keeps the bot's log it pointed to


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


__all__ = ["CHANNEL", "run_demo", "run_real_demo"]
