"""Enrichment on its own workers: the alert worker queues an incident here and goes on to the next alert.

The queue is a Redis stream with its own consumer group, so what is queued survives a restart and each
entry is enriched by one worker (ENRICH_WORKERS per process). A retried entry posts nothing twice: every
reply is posted once per kind (ThreadPoster.post_once).
"""

from __future__ import annotations

import threading

from bot.deps import Deps
from bot.incidents.consumer import Fields, StreamConsumer
from bot.incidents.enrich import enrich_incident
from bot.incidents.poster import ThreadPoster
from bot.log import get_logger
from bot.slack_pacing import Priority, slack_priority
from bot.store import ENRICH_GROUP, ENRICH_STREAM, Store

log = get_logger(__name__)


def queue_enrichment(store: Store, incident_id: str, entry_id: str) -> None:
    store.r.xadd(ENRICH_STREAM, {"incident": incident_id, "entry": entry_id})


def enrich_consumer(deps: Deps) -> StreamConsumer:
    return StreamConsumer(
        stream=ENRICH_STREAM, group=ENRICH_GROUP,
        handle=lambda _entry_id, fields: enrich_entry(deps, fields),
        on_dead=lambda entry_id, fields, reason: give_up(deps, fields, reason),
        max_attempts=deps.settings.worker_max_attempts, claim_idle_s=deps.settings.worker_claim_idle_seconds,
        redact=deps.redactor.text,
    )


def enrich_worker(deps: Deps, stop: threading.Event, name: str = "enrich") -> None:
    """The loop of one enrichment worker thread."""
    enrich_consumer(deps).run(deps.store.r, stop, name)


def enrich_entry(deps: Deps, fields: Fields) -> None:
    inc = deps.store.incident(fields["incident"])
    if inc is None:
        log.warning("enrichment for an unknown incident skipped", incident=fields["incident"])
        return
    with slack_priority(Priority.ENRICH):
        enrich_incident(deps, ThreadPoster(deps), inc, fields["entry"])


def give_up(deps: Deps, fields: Fields, reason: str) -> None:
    """Said in the thread, so nobody waits for an answer that is not coming."""
    log.error("enrichment given up", incident=fields.get("incident"), reason=reason)
    inc = deps.store.incident(fields.get("incident", ""))
    if inc is None:
        return
    with slack_priority(Priority.ENRICH):
        ThreadPoster(deps).reply(
            inc, f"enrich-given-up:{fields.get('entry')}",
            f":warning: Could not gather the backends' status for {inc.id} ({reason}; see the bot's logs). "
            "`/dataflow status` asks them again.")
