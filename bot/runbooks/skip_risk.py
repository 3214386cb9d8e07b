"""A connector that went RUNNING again after failing on a change event may have skipped that event.

Observed on the real stack (Debezium 3.0.7, reference difference 10): after "Error processing row in
orders, internal schema size 7, but row size 8", a plain restart resumed *past* that row and went RUNNING;
the row never reached the topic. Whoever restarted it (the bot's restart step, or an engineer through
Connect's REST API), RUNNING again is not clean. Two signals, both on the incident's timeline:
- the bot's restart step records a note (record_skip_risk);
- a Kafka Connect reply the bot posted showed a task FAILED on a change event: when that connector is
  RUNNING now, it was restarted, by the bot or not (running_again).
validate-data and the postmortem read them and must not call such a recovery clean.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from bot.backends import connect_client
from bot.debezium import TraceDiagnosis, classify_trace
from bot.errors import BackendError, NotFoundError
from bot.models import Incident, TimelineEvent

if TYPE_CHECKING:
    from bot.deps import Deps

SKIP_RISK = "skip_risk"

# What bot/blocks/enrichment.py connector_text() writes: a header per connector, a line per task, the
# trace's exception lines in a code block (tests/runbooks/test_skip_risk.py builds them with it).
_CONNECT_REPLY = re.compile(r"\*Kafka Connect\* — `(?P<name>[^`]+)`")
_FAILED_TASK = re.compile(r"^• task \d+: \*FAILED\*", re.M)
_CODE = re.compile(r"```(?P<body>.*?)```", re.S)


def record_skip_risk(deps: Deps, inc: Incident, connector: str, failure: str,
                     restarted_by: str = "the bot's restart step") -> None:
    deps.store.add_event(inc.id, TimelineEvent(
        ts=time.time(), kind="note", actor="bot", key=True, source_id=f"{SKIP_RISK}:{connector}:{time.time_ns()}",
        text=f"`{connector}` RUNNING again after failing on a change event ({failure}): that event may have "
             f"been skipped (restarted by {restarted_by})",
        data={SKIP_RISK: True, "connector": connector, "failure": failure, "restarted_by": restarted_by}))


def noted_skip_risks(events: list[TimelineEvent]) -> dict[str, str]:
    """Connector -> the failure it resumed after, for every skip-risk note on the timeline."""
    return {str(e.data.get("connector")): str(e.data.get("failure", "")) for e in events
            if e.kind == "note" and e.data.get(SKIP_RISK)}


def change_event_failures_seen(events: list[TimelineEvent]) -> dict[str, str]:
    """Connector -> the title of the change-event failure a Kafka Connect reply of the bot showed for it
    (enrichment, `status`, the connector-status step), the first one seen."""
    seen: dict[str, str] = {}
    for event in events:
        if event.kind != "bot_post":
            continue
        for name, block in _connector_blocks(event.text):
            diagnosis = _failure_in(block)
            if diagnosis is not None and diagnosis.on_change_event:
                seen.setdefault(name, diagnosis.title)
    return seen


def skip_risks(events: list[TimelineEvent]) -> dict[str, str]:
    """Connector -> the failure: every connector that failed on a change event during the incident. One of
    these that is RUNNING now went past that event, or may have (the postmortem checks it live)."""
    return {**change_event_failures_seen(events), **noted_skip_risks(events)}


@dataclass(frozen=True)
class SkipRisk:
    connector: str
    failure: str
    state: Literal["RUNNING", "unknown"]
    detail: str = ""   # why the state is unknown


def running_again(deps: Deps, inc: Incident) -> list[SkipRisk]:
    """The incident's connectors that failed on a change event and are RUNNING now, asked live (or whose
    state cannot be known: not clean either). A restart the bot did not make is noted on the timeline."""
    events = deps.store.events(inc.id)
    noted, risks = noted_skip_risks(events), skip_risks(events)
    found = []
    for name, failure in sorted(risks.items()):
        state, detail = _live_state(deps, name)
        if state == "RUNNING" and name not in noted:
            record_skip_risk(deps, inc, name, failure, restarted_by="someone outside the bot")
        if state != "not running":
            found.append(SkipRisk(name, failure, state, detail))
    return found


def _live_state(deps: Deps, name: str) -> tuple[Literal["RUNNING", "not running", "unknown"], str]:
    client = connect_client(deps.settings)
    if client is None:
        return "unknown", "CONNECT_URL is not set"
    try:
        with client:
            healthy = client.status(name).is_healthy
    except NotFoundError:
        return "not running", ""
    except BackendError as exc:
        return "unknown", exc.reason
    return ("RUNNING" if healthy else "not running"), ""


def _connector_blocks(text: str) -> Iterator[tuple[str, str]]:
    """(connector, the text about it) for each Kafka Connect header in a message."""
    headers = list(_CONNECT_REPLY.finditer(text))
    ends = [h.start() for h in headers[1:]] + [len(text)]
    for header, end in zip(headers, ends, strict=False):   # no header: nothing
        yield header.group("name"), text[header.end():end]


def _failure_in(block: str) -> TraceDiagnosis | None:
    if not _FAILED_TASK.search(block):
        return None
    code = _CODE.search(block)
    return classify_trace(code.group("body")) if code else None
