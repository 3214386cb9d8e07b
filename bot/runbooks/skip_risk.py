"""A connector that went RUNNING again after failing on a change event may have skipped that event.

Recorded on the incident's timeline by the restart step; read by validate-data and the postmortem, which
must not call such a recovery clean.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from bot.models import Incident, TimelineEvent

if TYPE_CHECKING:
    from bot.deps import Deps

SKIP_RISK = "skip_risk"


def record_skip_risk(deps: Deps, inc: Incident, connector: str, failure: str) -> None:
    deps.store.add_event(inc.id, TimelineEvent(
        ts=time.time(), kind="note", actor="bot", key=True, source_id=f"{SKIP_RISK}:{connector}:{time.time_ns()}",
        text=f"`{connector}` RUNNING again after failing on a change event ({failure}): that event may have "
             "been skipped", data={SKIP_RISK: True, "connector": connector, "failure": failure}))


def skip_risks(events: list[TimelineEvent]) -> dict[str, str]:
    """Connector -> the failure it resumed after, for every skip risk on the timeline."""
    return {str(e.data.get("connector")): str(e.data.get("failure", "")) for e in events
            if e.kind == "note" and e.data.get(SKIP_RISK)}
