"""The `dataflow-bot` command line."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from bot.config import load_settings, read_settings
from bot.errors import ConfigError, DataflowError

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

    settings, malformed = read_settings()
    if malformed:   # everything that can be said without probing, at once; values at their defaults unprobed
        _fail(malformed + settings.problems())
        return
    for line in settings_lines(settings):
        typer.echo(line)
    report = check(settings)
    typer.echo("")
    for probe in report.probes:
        mark = "ok  " if probe.ok else "FAIL"
        typer.echo(f"{mark} {probe.name:<14} {probe.where:<40} {probe.detail} ({probe.latency_ms:.0f} ms)")
    typer.echo(f"\npipeline file: {report.lineage or '(invalid)'}")
    if report.discovered:
        typer.echo("discovered:")
        for line in report.discovered:
            typer.echo(f"  {line}")
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


@app.command()
def postmortem(
    incident: str = typer.Argument(..., help="The incident, e.g. INC-12."),
    output: Path | None = typer.Option(None, "-o", "--output", help="Write the Markdown here instead of stdout."),
) -> None:
    """Print (or write) the incident's postmortem draft: the same bytes as the thread upload and HTTP."""
    from bot.commands.registry import split_incident_arg
    from bot.deps import build_deps, known_secrets
    from bot.errors import NotFoundError
    from bot.log import configure_logging
    from bot.postmortem.export import export_markdown

    _, incident_id = split_incident_arg([incident])
    if incident_id is None:
        _fail([f"{incident!r} is not an incident id (expected INC-<n>, e.g. INC-12)"])
        return
    try:
        settings = load_settings()
        configure_logging(settings.log_level, settings.log_format, known_secrets(settings))  # stderr, not stdout
        deps = build_deps(settings)
        markdown = export_markdown(deps, incident_id)
    except (ConfigError, NotFoundError) as exc:
        _fail(exc.problems if isinstance(exc, ConfigError) else [str(exc)])
        return
    data = markdown.encode("utf-8")
    if output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    output.write_bytes(data)
    typer.echo(f"wrote {output} ({len(data)} bytes)", err=True)


@app.command()
def demo(
    keep: bool = typer.Option(False, "--keep", help="Leave the demo table and Redis keys in place afterwards"),
    interactive: bool = typer.Option(False, "--interactive", help="Keep the sandbox up and drive it yourself"),
    output: Path = typer.Option(Path("demo-output"), "-o", "--output", help="Where to write the postmortem"),
    mysql_url: str = typer.Option("mysql://root@127.0.0.1:3306/", envvar="MYSQL_URL", help="A scratch MySQL/MariaDB"),
    redis_url: str = typer.Option("redis://127.0.0.1:6379/15", envvar="DEMO_REDIS_URL",
                                  help="The demo's Redis database (only its dfo:* keys are touched)"),
    stack: str = typer.Option("sandbox", "--stack",
                              help="sandbox (simulators, seconds) or real (the local real stack: make stack-up)"),
) -> None:
    """Run the schema-drift drill: in the sandbox (Slack emulator, simulators, the real bot, MariaDB), or on
    the local real stack with --stack real (only Slack emulated)."""
    from bot.sandbox.demo_cli import DemoFailed, one_line, run_demo, run_real_demo

    if stack not in ("sandbox", "real"):
        _fail([f"--stack {stack!r}: expected `sandbox` or `real`."])
        return
    if stack == "real" and interactive:
        _fail(["--interactive runs in the sandbox only; drop --stack real or --interactive."])
        return
    try:
        code = (run_real_demo(redis_url, output, keep) if stack == "real"
                else run_demo(mysql_url, redis_url, output, keep, interactive))
    except DataflowError as exc:   # refused before anything was touched (busy, bad settings): exit 2
        _fail([one_line(exc)])
        return
    except DemoFailed as exc:      # a step failed; what the run started is already stopped
        _fail([str(exc)], code=1)
        return
    raise typer.Exit(code)


def main() -> None:  # pragma: no cover
    app()
