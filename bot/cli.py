"""The `dataflow-bot` command line."""

from __future__ import annotations

import typer

from bot.config import load_settings
from bot.errors import ConfigError

app = typer.Typer(
    help="DataFlow ChatOps: Slack incident response for the MySQL → Debezium → Kafka → Flink pipeline.",
    no_args_is_help=True,
    add_completion=False,
)


def _fail(lines: list[str], code: int = 2) -> None:
    for line in lines:
        typer.echo(line, err=True)
    raise typer.Exit(code)


@app.command("check-config")
def check_config() -> None:
    """Print every setting, where it came from and whether its service answers; exit 2 on any problem."""
    from bot.checks import check, settings_lines

    try:
        settings = load_settings()
    except ConfigError as exc:
        _fail(exc.problems)
        return
    for line in settings_lines(settings):
        typer.echo(line)
    report = check(settings)
    typer.echo("")
    for probe in report.probes:
        mark = "ok  " if probe.ok else "FAIL"
        typer.echo(f"{mark} {probe.name:<14} {probe.where:<40} {probe.detail} ({probe.latency_ms:.0f} ms)")
    problems = report.problems + report.warnings
    if problems:
        typer.echo("")
        _fail(problems)
    typer.echo("\nconfiguration OK")


@app.command()
def serve() -> None:
    """Run the bot: HTTP mode when SLACK_SIGNING_SECRET is set, Socket Mode when SLACK_APP_TOKEN is set."""
    from bot.server import run

    try:
        settings = load_settings()
    except ConfigError as exc:
        _fail(exc.problems)
        return
    try:
        run(settings)
    except ConfigError as exc:
        _fail(exc.problems)


def main() -> None:  # pragma: no cover
    app()
