"""Recording facts the postmortem needs that are not Slack messages: the drift DDL from forensics."""

from __future__ import annotations

import time
from typing import Any

from bot.models import TimelineEvent
from bot.schema.forensics import DdlEvent, ForensicsResult
from bot.store import Store


def ddl_entry(event: DdlEvent) -> dict[str, Any]:
    return {"statement": event.statement, "time": event.time.isoformat() if event.time else None,
            "log_file": event.log_file, "position": event.position, "server_id": event.server_id}


def record_forensics(store: Store, incident_id: str, result: ForensicsResult, now: float | None = None) -> bool:
    """A `note` event holding the DDL found in the binlog; once per set of statements (idempotent)."""
    if not result.available or not result.statements:
        return False
    ddl = [ddl_entry(e) for e in result.statements]
    where = ",".join(f"{e.log_file}:{e.position}" for e in result.statements)
    text = f"DDL found in the binlog: {result.statements[-1].statement[:200]}"
    event = TimelineEvent(ts=now if now is not None else time.time(), kind="note", actor="bot", text=text,
                          source_id=f"forensics:{where}", data={"ddl": ddl})
    return store.add_event(incident_id, event)
