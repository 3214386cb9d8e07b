"""`/dataflow logs <service> [pattern]`: grep a Compose service's recent container logs (a literal)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.blocks.common import escape
from bot.blocks.enrichment import Enrichment, failure_text, logs_text
from bot.clients.docker_logs import ContainerLogs
from bot.commands.answer import answer
from bot.commands.registry import Invocation, Reply, subcommand
from bot.commands.target import resolve_incident
from bot.errors import BackendError, UserInputError
from bot.pipeline import Lineage

if TYPE_CHECKING:
    from bot.deps import Deps

# The services of docker-compose.yml whose logs matter in an incident (one-shot init jobs left out).
STACK_SERVICES = ("mysql", "kafka", "connect", "flink-jobmanager", "flink-taskmanager", "prometheus",
                  "alertmanager", "grafana", "redis", "bot")
DEFAULT_PATTERN = "schema"
PATTERN_MAX = 100
MATCH_LIMIT = 200


@subcommand("logs", "<service> [pattern] [INC-n]",
            f"recent log lines of a service containing a literal pattern (default `{DEFAULT_PATTERN}`)")
def run_logs(deps: Deps, inv: Invocation, args: list[str]) -> Reply:
    target = resolve_incident(deps, inv, args, required=False)
    service, pattern = parse_logs_args(deps.lineage, target.rest)
    try:
        item = grep_service(deps, service, pattern)
    except BackendError as exc:
        item = Enrichment("logs", failure_text(exc.backend, exc.where, exc.reason))
    return answer(deps, inv, target.incident, f"logs {service} {pattern}", item.text,
                  [item.file] if item.file else [], note=target.note())


def known_services(lineage: Lineage) -> list[str]:
    named = [s for p in lineage.pipelines for s in p.log_services]
    return list(dict.fromkeys([*named, *STACK_SERVICES]))


def parse_logs_args(lineage: Lineage, rest: list[str]) -> tuple[str, str]:
    """(service, pattern): a known service; the rest of the words are one literal pattern."""
    if not rest:
        raise UserInputError("Usage: `/dataflow logs &lt;service&gt; [pattern]`.", "Example: `/dataflow logs connect schema`.")
    services = known_services(lineage)
    if rest[0] not in services:
        shown = ", ".join(f"`{s}`" for s in services)
        raise UserInputError(f"Unknown service `{escape(rest[0][:64])}`.", f"Services: {shown}.")
    pattern = " ".join(rest[1:]) or DEFAULT_PATTERN
    if len(pattern) > PATTERN_MAX:
        raise UserInputError(f"The pattern is {len(pattern)} characters long; the limit is {PATTERN_MAX}.")
    return rest[0], pattern


def grep_service(deps: Deps, service: str, pattern: str) -> Enrichment:
    logs = ContainerLogs(deps.settings.docker_host, timeout=deps.settings.enrich_timeout_seconds)
    try:
        excerpt = logs.grep(service, pattern=pattern, limit=MATCH_LIMIT)
    finally:
        logs.close()
    lines = [f"{line.timestamp.isoformat() if line.timestamp else '-'} {line.text}" for line in excerpt.lines]
    return logs_text(excerpt.container, service, pattern, lines, excerpt.scanned)
