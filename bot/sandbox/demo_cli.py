"""The `demo` command: run the drill, print the thread, write the postmortem; or stay up (--interactive)."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

import httpx
import pymysql
import redis
from rich.console import Console
from rich.markup import escape

from bot.clients.mysql import where
from bot.errors import DataflowError
from bot.sandbox.demo import CHANNEL, Drill, DrillStalled
from bot.sandbox.demo_lock import redis_where
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
        except (AssertionError, RuntimeError, DrillStalled) as exc:   # a step that did not happen: where it stopped
            drill.show_thread()
            console.print(f"[bold red]✘[/] The drill stopped: {escape(str(exc).splitlines()[0])}")
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


class DemoFailed(Exception):
    """The demo could not go on: one line for the user, exit 1."""


# What can go wrong once the sandbox is being set up, besides our own typed errors: a backend that stops
# answering (MySQL, Redis, the bot's HTTP port), a step that did not happen. Each becomes one line.
STOPPERS: tuple[type[BaseException], ...] = (DrillStalled, httpx.HTTPError, redis.RedisError, pymysql.MySQLError,
                                             OSError)


def bot_log(stack: SandboxStack) -> Path:
    return stack.workdir / "bot.log"


def log_hint(stack: SandboxStack) -> str:
    return f" The bot's log: {bot_log(stack)}" if bot_log(stack).exists() else ""


def one_line(exc: BaseException) -> str:
    text = exc.user_text() if isinstance(exc, DataflowError) else (str(exc) or type(exc).__name__)
    return " ".join(text.split())


class Terminated(BaseException):
    """SIGTERM arrived: unwinds through everything (the REPL's prompt too), so the sandbox is stopped."""


@contextmanager
def terminated_unwinds() -> Iterator[None]:
    """SIGTERM (`kill`, `timeout`, a closed terminal) unwinds like an exception, so that what this run
    started is stopped and cleaned up instead of orphaned."""
    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise Terminated

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run_demo(mysql_url: str, redis_url: str, out_dir: Path, keep: bool, interactive: bool) -> int:
    """0 when the drill ran; DataflowError (exit 2) when refused before anything was touched; DemoFailed
    (exit 1) when a step failed. Whatever happens, what this run started is stopped."""
    console = Console()
    stack = SandboxStack(mysql_url, redis_url)
    console.print(f"[bold]DataFlow ChatOps demo[/]  MySQL {escape(where(mysql_url))} · "
                  f"Redis {escape(redis_where(redis_url))}")
    failed = True
    with terminated_unwinds():
        try:
            code = _drive(stack, console, out_dir, keep, interactive)
            failed = False
            return code
        except STOPPERS as exc:
            raise DemoFailed(f"The demo stopped: {one_line(exc)}.{log_hint(stack)}") from None
        except (KeyboardInterrupt, Terminated):
            raise DemoFailed("Interrupted: the sandbox was stopped and cleaned up.") from None
        finally:   # a failed run keeps the bot's log its message points to, if the bot got to write one
            stack.stop(keep_data=keep, keep_logs=failed and bot_log(stack).exists())


def _drive(stack: SandboxStack, console: Console, out_dir: Path, keep: bool, interactive: bool) -> int:
    started = time.monotonic()
    stack.start()
    drill = Drill(stack, console)
    drill.say("Sandbox up", f"Slack emulator {stack.slack.url} · bot {stack.bot_url}")
    if interactive:
        return repl(stack, console)
    drill.run()
    path = drill.postmortem(out_dir)
    drill.show_thread()
    console.print(f"[bold green]✔[/] Postmortem written to [bold]{escape(str(path))}[/]")
    console.print(f"Done in {time.monotonic() - started:.1f} s."
                  + (f" Kept: the sandbox's data and {stack.workdir}." if keep else ""), markup=False)
    return 0


__all__ = ["CHANNEL", "DemoFailed", "one_line", "run_demo", "run_real_demo"]
