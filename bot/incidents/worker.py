"""The alert workers: fold each Alertmanager notification into incidents and post what a human needs first.

A worker posts the root message and the thread lines about alerts joining or resolving, and nothing slow:
enrichment (every backend call) is queued on the enrichment stream for its own workers, and refreshes of
the root message are coalesced by the root editor. So a hung backend or another incident's enrichment
never delays the next incident's root. Several workers run per process (ALERT_WORKERS); the stream's
consumer group hands each entry to one of them.
"""

from __future__ import annotations

import threading
from typing import Any

from bot.deps import Deps
from bot.incidents import consumer
from bot.incidents.consumer import Fields, StreamConsumer
from bot.incidents.fold import fold_notification
from bot.incidents.payload import AMNotification
from bot.incidents.publish import publish_fold
from bot.log import get_logger
from bot.store import ALERT_STREAM, DEAD_STREAM, WORKER_GROUP

log = get_logger(__name__)
ATTEMPTS = ALERT_STREAM + ":attempts"


def alert_consumer(deps: Deps) -> StreamConsumer:
    return StreamConsumer(
        stream=ALERT_STREAM, group=WORKER_GROUP,
        handle=lambda entry_id, fields: handle_notification(
            deps, AMNotification.model_validate_json(fields["payload"]), entry_id),
        on_dead=lambda entry_id, fields, reason: dead_letter(deps, entry_id, fields, reason),
        max_attempts=deps.settings.worker_max_attempts, claim_idle_s=deps.settings.worker_claim_idle_seconds,
        redact=deps.redactor.text,
    )


def alert_worker(deps: Deps, stop: threading.Event, name: str = "alerts") -> None:
    """The loop of one alert worker thread."""
    alert_consumer(deps).run(deps.store.r, stop, name)


def ensure_group(r: Any) -> None:
    consumer.ensure_group(r, ALERT_STREAM, WORKER_GROUP)


def next_entries(deps: Deps, consumer: str) -> list[tuple[str, Fields]]:
    return alert_consumer(deps).next_entries(deps.store.r, consumer)


def process_entry(deps: Deps, entry_id: str, fields: Fields) -> None:
    alert_consumer(deps).process(deps.store.r, entry_id, fields)


def handle_notification(deps: Deps, notification: AMNotification, entry_id: str) -> None:
    channel = deps.settings.incident_channel or ""
    folds = fold_notification(deps.store, deps.lineage, notification, entry_id, channel,
                              deps.settings.incident_reopen_seconds)
    for fold in folds:
        publish_fold(deps, fold, entry_id)


def dead_letter(deps: Deps, entry_id: str, fields: Fields, reason: str) -> None:
    deps.store.r.xadd(DEAD_STREAM, {**fields, "original_id": entry_id, "reason": reason})
    log.error("alert entry dead-lettered", entry=entry_id, reason=reason)
    try:
        deps.slack.chat_postMessage(
            channel=deps.settings.incident_channel or "",
            text=(f":warning: An Alertmanager notification (stream entry `{entry_id}`) could not be processed "
                  f"after {deps.settings.worker_max_attempts} attempts and was moved to the dead-letter stream "
                  f"`{DEAD_STREAM}`. Check the bot's logs for entry {entry_id}."),
        )
    except Exception as exc:  # Slack itself may be the reason; the entry is safe in the dead-letter stream
        log.error("could not report dead letter in Slack", error=deps.redactor.text(repr(exc)))
