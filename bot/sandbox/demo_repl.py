"""`dataflow-bot demo --interactive`: the sandbox stays up, and you act as Alice or Bob."""

from __future__ import annotations

import json
import shlex

from rich.console import Console

from bot.sandbox.demo import CHANNEL, Drill
from bot.sandbox.stack import ALICE, BOB, SandboxStack

USERS = {"alice": ALICE, "bob": BOB}
HELP = """[bold]You are in the sandbox.[/] Alice is on call; Bob is the approver (APPROVERS).
  [cyan]alice /dataflow runbook schema-drift[/]   a slash command, as Alice (answers go to the incident thread)
  [cyan]alice click run_step:rollback-schema[/]   click the newest button with that action_id in the thread
  [cyan]bob click approve_step[/]                 …as Bob, who may approve
  [cyan]alice mention status[/]                   @dataflow status, inside the incident thread
  [cyan]bob say looks like a deploy did it[/]     a message in the thread (it goes into the timeline)
  [cyan]thread[/]   print the thread     [cyan]ephemeral[/]   what only you saw     [cyan]quit[/]
The bot's HTTP API is at {bot}; its log is {log}."""


def repl(stack: SandboxStack, console: Console) -> int:
    drill = Drill(stack, console)
    drill.started = ""
    drill.say("Chaos: drift applied", drill.apply_drift()["ddl"])
    drill.started = "2000-01-01T00:00:00Z"
    drill.alert("firing")
    drill.root_ts = stack.slack.wait_for(lambda: next((m["ts"] for m in stack.slack.messages(CHANNEL)
                                                       if "INC-" in m.get("text", "")), None), what="the root")
    console.print(HELP.format(bot=stack.bot_url, log=stack.workdir / "bot.log"))
    while True:
        try:
            line = input("demo> ").strip()
        except (EOFError, KeyboardInterrupt):
            return 0
        if line in ("quit", "exit"):
            return 0
        try:
            _one(drill, console, line)
        except (AssertionError, ValueError, KeyError) as exc:
            console.print(f"[red]{exc}[/]")


def _one(drill: Drill, console: Console, line: str) -> None:
    words = shlex.split(line)
    if not words:
        return
    if words == ["thread"]:
        drill.show_thread()
        return
    if words[0] not in USERS or len(words) < 2:
        raise ValueError("start with alice or bob, or type thread / quit")
    user, verb, rest = USERS[words[0]], words[1], words[2:]
    if verb == "/dataflow":
        console.print(drill.slack.slash_command(user, " ".join(rest)).json().get("text", ""))
    elif verb == "click" and rest:
        drill.click(user, rest[0])
    elif verb == "mention":
        drill.slack.mention(user, CHANNEL, " ".join(rest), thread_ts=drill.root_ts)
    elif verb == "say":
        drill.slack.post_user_message(user, CHANNEL, " ".join(rest), thread_ts=drill.root_ts)
    elif verb == "ephemeral":
        console.print(json.dumps([e["text"] for e in drill.slack.ephemerals(user)][-5:], indent=2))
    else:
        raise ValueError(f"unknown action {verb!r}")
