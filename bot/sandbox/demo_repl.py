"""`dataflow-bot demo --interactive`: the sandbox stays up, and you act as Alice or Bob.

Each action prints what the bot did in answer (new or edited thread messages, private answers), rendered
as Slack shows them. Everything the bot or a user wrote is printed as text, never as Rich markup.
"""

from __future__ import annotations

import shlex
import time
from typing import Any

import httpx
from rich.console import Console
from rich.markup import escape
from rich.text import Text

from bot.sandbox.demo import CHANNEL, Drill, DrillStalled
from bot.sandbox.demo_view import (
    Seen,
    ephemeral_lines,
    newest_with_button,
    news,
    no_button_text,
    only_progress,
    snapshot,
)
from bot.sandbox.slack_render import message_lines
from bot.sandbox.stack import ALICE, BOB, SandboxStack
from bot.text.mrkdwn import to_plain

USERS = {"alice": ALICE, "bob": BOB}
ANSWER_WAIT_S = 10.0   # how long an action waits for the bot's first answer before saying there is none yet
QUIET_S = 0.8          # then: no further change for this long means the answer is complete
SETTLE_MAX_S = 8.0
HELP = """[bold]You are in the sandbox.[/] Alice is on call; Bob is the approver (APPROVERS).
  [cyan]alice /dataflow runbook schema-drift[/]   a slash command, as Alice (answers go to the incident thread)
  [cyan]alice click run_step:rollback-schema[/]   click the newest button with that action_id in the thread
  [cyan]bob click approve_step[/]                 …as Bob, who may approve
  [cyan]alice mention status[/]                   @dataflow status, inside the incident thread
  [cyan]bob say looks like a deploy did it[/]     a message in the thread (it goes into the timeline)
  [cyan]thread[/]   print the thread     [cyan]ephemeral[/]   what only Alice or Bob saw ([cyan]alice ephemeral[/]: hers)
  [cyan]help[/]     this text            [cyan]quit[/]
The bot's HTTP API is at {bot}; its log is {log}."""


class Session:
    """The REPL's state: the drill (thread, clicks) and how to show what the bot answered."""

    def __init__(self, drill: Drill, console: Console) -> None:
        self.drill, self.console, self.slack = drill, console, drill.slack
        self.names = drill.workspace_names()

    def plain(self, text: str) -> str:
        return to_plain(text, self.names)

    def show(self, lines: list[str]) -> None:
        self.console.print(Text("\n".join(lines)), soft_wrap=True)   # Text: `[pattern]`, `[Approve]` are content

    def seen(self, user: str) -> Seen:
        return snapshot(self.drill.thread(), self.slack.ephemerals(user))

    def answer_to(self, user: str, before: Seen) -> None:
        """Wait for the bot's answer to one action, then for it to settle; print it, or say there is none."""
        def current() -> list[str]:
            return news(before, self.drill.thread(), self.slack.ephemerals(user),
                        self.slack.state.display_name(user), self.render, self.plain)

        def waiting() -> bool:
            return only_progress(before, self.drill.thread(), self.slack.ephemerals(user))

        deadline, lines = time.monotonic() + ANSWER_WAIT_S, current()
        while (not lines or waiting()) and time.monotonic() < deadline:
            time.sleep(0.1)
            lines = current()
        settle_until, quiet_since = time.monotonic() + SETTLE_MAX_S, time.monotonic()
        while lines and time.monotonic() < settle_until and time.monotonic() - quiet_since < QUIET_S:
            time.sleep(0.1)
            latest = current()
            if latest != lines:
                lines, quiet_since = latest, time.monotonic()
        self.show(lines or [f"No answer from the bot within {ANSWER_WAIT_S:.0f} s (yet): type `thread` to look again."])

    def render(self, msg: dict[str, Any]) -> list[str]:
        return message_lines(self.slack.state, msg, self.plain)

    def click(self, user: str, action_id: str) -> None:
        """Click the newest such button now; a button that is gone is said at once, not waited for."""
        message = newest_with_button(self.drill.thread(), action_id)
        if message is None:
            self.show([no_button_text(action_id, self.drill.thread())])
            return
        before = self.seen(user)
        self.show([f"{self.slack.state.display_name(user)} clicks {action_id}."])
        self.slack.click(user, CHANNEL, message["ts"], action_id)
        self.answer_to(user, before)

    def ephemerals(self, user: str | None) -> None:
        shown = self.slack.ephemerals(user)[-5:]
        lines: list[str] = []
        for e in shown:
            lines.append(f"Only {self.slack.state.display_name(e['user'])} saw:")
            lines += [f"  > {line}" for line in ephemeral_lines(e, self.plain)]
        self.show(lines or ["Nothing private so far."])

    def one(self, line: str) -> None:
        words = shlex.split(line)
        if not words:
            return
        if words == ["thread"]:
            self.drill.show_thread()
        elif words == ["help"]:
            self.console.print(help_text(self.drill.stack))
        elif words == ["ephemeral"]:
            self.ephemerals(None)
        elif words[0] in USERS and len(words) >= 2:
            self.act(USERS[words[0]], words[1], words[2:])
        else:
            raise ValueError("start with alice or bob, or type thread / ephemeral / help / quit")

    def act(self, user: str, verb: str, rest: list[str]) -> None:
        if verb == "ephemeral" and not rest:
            self.ephemerals(user)
        elif verb == "click" and len(rest) == 1:
            self.click(user, rest[0])
        elif verb in ("/dataflow", "mention", "say") and rest:
            before = self.seen(user)
            self.send(user, verb, " ".join(rest))
            self.answer_to(user, before)
        else:
            raise ValueError(f"{verb} {' '.join(rest)}: not understood; type help for the actions".replace("  ", " "))

    def send(self, user: str, verb: str, text: str) -> None:
        if verb == "/dataflow":
            self.slack.slash_command(user, text)
        elif verb == "mention":
            self.slack.mention(user, CHANNEL, text, thread_ts=self.drill.root_ts)
        else:
            self.slack.post_user_message(user, CHANNEL, text, thread_ts=self.drill.root_ts)


def help_text(stack: SandboxStack) -> str:
    return HELP.format(bot=escape(stack.bot_url), log=escape(str(stack.workdir / "bot.log")))


def repl(stack: SandboxStack, console: Console) -> int:
    drill = Drill(stack, console)
    drill.say("Chaos: drift applied", drill.drift()["ddl"])   # waits until the simulators show it
    drill.say("Kafka Connect task FAILED, Flink restarting", "the simulators follow MySQL")
    drill.open_incident()
    drill.wait_text("*Kafka Connect*")   # the enrichment, so the thread shown reads as complete
    drill.wait_text("*Schema*")
    drill.say("Alert fired: one incident thread, enriched")
    drill.show_thread()
    session = Session(drill, console)
    console.print(help_text(stack))
    while True:
        try:
            line = input("demo> ").strip()
        except (EOFError, KeyboardInterrupt):
            return 0
        if line in ("quit", "exit"):
            return 0
        try:
            session.one(line)
        except (ValueError, DrillStalled, httpx.HTTPError) as exc:   # one line, and the prompt again
            console.print(Text(str(exc).splitlines()[0] if str(exc) else type(exc).__name__, style="red"))
