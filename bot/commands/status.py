"""`/dataflow status [connector]`: Kafka Connect connectors, Flink jobs and what discovery found, asked live."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from bot.backends import connect_client, flink_client
from bot.blocks.commands import combine, not_configured
from bot.blocks.common import escape
from bot.blocks.enrichment import Enrichment, connector_text, failure_text, flink_text
from bot.clients.connect import ConnectorStatus, check_name
from bot.commands.answer import answer
from bot.commands.registry import Invocation, Reply, subcommand
from bot.commands.target import resolve_incident
from bot.discovery import Discovery, discover
from bot.errors import BackendError, NotFoundError, UserInputError
from bot.graphs.incident import lag_status

if TYPE_CHECKING:
    from bot.deps import Deps


@subcommand("status", "[connector] [INC-n]", "Kafka Connect connectors, the pipeline's Flink jobs and their lag, live")
def run_status(deps: Deps, inv: Invocation, args: list[str]) -> Reply:
    target = resolve_incident(deps, inv, args, required=False)
    rest = target.rest
    if len(rest) > 1:
        raise UserInputError("`status` takes at most one connector name.", "Example: `/dataflow status my-conn`.")
    connector = check_name(rest[0]) if rest else None
    if connector is not None:
        items = connector_items(deps, connector)
    else:   # asked at once: a hung Connect costs one timeout, not one per question
        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="status") as pool:
            connectors = pool.submit(connector_items, deps, None)
            found = pool.submit(discover, deps.settings).result()
            items = connectors.result()
        items += [*flink_items(deps, found), lag_status(deps.settings), *discovery_items(found)]
    text, files = combine(items)
    return answer(deps, inv, target.incident, f"status {connector or ''}".strip(), text, files, note=target.note())


def connector_items(deps: Deps, name: str | None) -> list[Enrichment]:
    """Every connector (or the named one); Connect down or not configured is a line, not an error."""
    client = connect_client(deps.settings)
    if client is None:
        return [not_configured("Kafka Connect", "CONNECT_URL")]
    try:
        with client:
            statuses = client.statuses()
    except BackendError as exc:
        return [Enrichment("connect", failure_text(exc.backend, exc.where, exc.reason))]
    if name is None:
        return [connector_text(statuses[n]) for n in sorted(statuses)] or [
            Enrichment("connect", ":grey_question: *Kafka Connect*: no connector is deployed.")]
    return [connector_text(named(statuses, name))]


def named(statuses: dict[str, ConnectorStatus], name: str) -> ConnectorStatus:
    if name not in statuses:
        known = ", ".join(f"`{escape(n)}`" for n in sorted(statuses)) or "(none)"
        raise NotFoundError(f"no connector named {name}", f"Known connectors: {known}.")
    return statuses[name]


def known_jobs(deps: Deps, found: Discovery) -> list[str]:
    """The jobs the pipeline file names, then every other job Flink runs or ran."""
    named = [job for p in deps.lineage.pipelines for job in p.flink_jobs]
    return list(dict.fromkeys([*named, *found.job_names()]))


def flink_items(deps: Deps, found: Discovery) -> list[Enrichment]:
    """The newest run of every known Flink job; a job the pipeline file names but Flink lacks is said so."""
    client = flink_client(deps.settings)
    if client is None:
        return [not_configured("Flink", "FLINK_URL")]
    if found.jobs is None and (note := next((n for n in found.notes if n.about == "flink"), None)):
        # Discovery asked Flink a moment ago and got no answer: asking again would cost another timeout.
        client.close()
        return [Enrichment("flink", f":warning: *Flink* at `{escape(client.where)}`: {escape(note.text)}.")]
    names = known_jobs(deps, found)
    if not names:
        return [Enrichment("flink", ":grey_question: *Flink*: no job runs, and the pipeline file names none.")]
    try:
        with client:
            healths = client.find_jobs(names)
    except BackendError as exc:
        return [Enrichment("flink", failure_text(exc.backend, exc.where, exc.reason))]
    seen = {job.name for job in healths}
    missing = [Enrichment("flink", f":grey_question: *Flink*: no job named `{escape(n)}`.")
               for n in names if n not in seen]
    return [flink_text(job, deps.settings.display_tz) for job in healths] + missing


def discovery_items(found: Discovery) -> list[Enrichment]:
    """What the incidents' scope is discovered from: connectors -> tables/topics, Flink jobs."""
    lines = found.summary()
    if not lines:
        return []
    return [Enrichment("discovery", ":compass: *Discovered* (what an incident's scope is found from)\n"
                                    + "\n".join(f"• {escape(line)}" for line in lines))]
