"""Thread replies with what the backends say. Pure: client results in, (text, file) out."""

from __future__ import annotations

from dataclasses import dataclass

from bot.blocks.common import clip, escape, fmt_time
from bot.clients.connect import ConnectorStatus
from bot.clients.flink_parse import JobHealth
from bot.debezium import classify_trace

INLINE_LINES = 15


@dataclass(frozen=True)
class Enrichment:
    """One thread reply: a short text, and the long content as a file when there is any."""

    backend: str
    text: str
    file: tuple[str, str] | None = None   # (filename, content)
    # What a common cause looks like from here ("Connect worker", "10.0.0.5:8083"): a storm summary names
    # the facts every incident of the storm has in common (bot/incidents/storm.py).
    facts: tuple[tuple[str, str], ...] = ()


# Slack shows a message of up to about 4,000 characters whole (longer ones are cut in the client, and at
# 40,000 by the API); the enrichment's replies go in as few messages as fit, each under this.
MESSAGE_CHARS = 3900
SEPARATOR = "\n\n"


def pack(texts: list[str], limit: int = MESSAGE_CHARS) -> list[list[int]]:
    """The indexes of `texts` grouped, in order, into as few thread messages as fit under `limit` characters
    once joined by SEPARATOR (a text longer than that is a message on its own). Slack lets a bot post about
    one message per second in a channel: on an incident day, six replies per incident are six seconds."""
    groups: list[list[int]] = []
    size = 0
    for index, text in enumerate(texts):
        if groups and size + len(SEPARATOR) + len(text) <= limit:
            groups[-1].append(index)
            size += len(SEPARATOR) + len(text)
        else:
            groups.append([index])
            size = len(text)
    return groups


def failure_text(backend: str, where: str, reason: str) -> str:
    return f":warning: *{backend}* at `{escape(where)}` did not answer: {escape(reason)}."


def connector_text(status: ConnectorStatus) -> Enrichment:
    icon = ":large_green_circle:" if status.is_healthy else ":red_circle:"
    lines = [f"{icon} *Kafka Connect* — `{escape(status.name)}` ({status.type}): connector *{status.state}* "
             f"on `{escape(status.worker_id)}`"]
    lines += [f"• task {t.id}: *{t.state}* on `{escape(t.worker_id)}`" for t in status.tasks]
    traces = [t.trace for t in status.failed_tasks if t.trace] + ([status.trace] if status.trace else [])
    if traces:
        diagnosis = classify_trace(traces[0])
        lines.append(f"*Diagnosis*: {escape(diagnosis.title)}" + (f" (table `{diagnosis.table}`)" if diagnosis.table else ""))
        if diagnosis.key_lines:
            lines.append("```" + clip("\n".join(diagnosis.key_lines), 1800) + "```")
        lines.append(f"*Suggested step*: `{diagnosis.suggested_step}` — {escape(diagnosis.advice)}")
    file = (f"connect-trace-{status.name}.txt", "\n\n".join(traces)) if traces else None
    facts = [("Connect worker", t.worker_id) for t in status.failed_tasks if t.worker_id]
    if traces:
        facts.append(("Connect error", classify_trace(traces[0]).title))
    return Enrichment("connect", "\n".join(lines), file, tuple(dict.fromkeys(facts)))


def flink_text(job: JobHealth, tz: str) -> Enrichment:
    icon = ":large_green_circle:" if job.healthy else ":red_circle:"
    # numRestarts lags (Flink's 10 s metric cache): shown as a hint, the verdict comes from state and history.
    restarts = "unknown" if job.num_restarts is None else str(job.num_restarts)
    lines = [f"{icon} *Flink* — `{escape(job.name)}` (`{job.jid}`): *{job.state}*, restarts: {restarts}"]
    if job.verdict is not None:
        lines.append(f"*Health*: {escape(job.verdict.summary())}")
    if job.last_exception:
        exc = job.last_exception
        when = f" at {fmt_time(exc.timestamp / 1000, tz)}" if exc.timestamp else ""
        where = f" on `{escape(exc.endpoint)}`" if exc.endpoint else ""
        task = f" in `{escape(exc.task_name)}`{where}" if exc.task_name else ""
        lines.append(f"*Last exception*{when}{task}: `{escape(clip(exc.message, 300))}`")
        if exc.root_cause and exc.root_cause != exc.message:
            lines.append(f"*Root cause*: `{escape(clip(exc.root_cause, 300))}`")
    if job.last_checkpoint:
        cp = job.last_checkpoint
        when = f" at {fmt_time(cp.latest_ack_timestamp / 1000, tz)}" if cp.latest_ack_timestamp else ""
        lines.append(f"*Last checkpoint*: #{cp.id} {cp.status}{when}")
    else:
        lines.append("*Last checkpoint*: none reported")
    failing = not job.healthy and job.last_exception is not None and job.last_exception.name != "unknown"
    facts = (("Flink error", job.last_exception.name),) if failing and job.last_exception else ()
    return Enrichment("flink", "\n".join(lines), facts=facts)


def logs_text(container: str, service: str, pattern: str, lines: list[str], scanned: int) -> Enrichment:
    head = (f":page_facing_up: *Logs* — `{escape(container)}` (service `{escape(service)}`): "
            f"{len(lines)} line(s) matching `{escape(pattern)}` in the last {scanned} line(s)")
    if not lines:
        return Enrichment("logs", head + ".")
    shown = lines[-INLINE_LINES:]
    body = head + (f"; the last {len(shown)}:" if len(lines) > len(shown) else ":")
    body += "\n```" + clip("\n".join(shown), 2500) + "```"
    file = (f"{service}-logs-{pattern}.txt", "\n".join(lines)) if len(lines) > len(shown) else None
    return Enrichment("logs", body, file)
