"""What the P3 storm sends: Alertmanager webhook notifications, one group per pipeline. Pure.

Two shapes (`mode`), both `alerts` notifications in `seconds`, interleaved across the pipelines so the
arrival rate is even:
- "repeats" (default, the shape issue #16 measured): each pipeline's group is re-sent alerts/pipelines
  times carrying its one firing alert, as Alertmanager's repeat notifications do (a fast repeat_interval);
  for the bot each is a repeat of a known alert.
- "growing": the k-th notification of a group carries k distinct alerts (instance=worker-1..k), as
  Alertmanager re-sends a group whose alert list grows; for the bot each brings one new alert.
A late notification about one more pipeline, unrelated to the others, is sent `late_at` s in.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Literal

ALERTNAME = "DebeziumConnectorTaskFailed"
STARTS_AT = "2026-11-26T07:00:00.123456789Z"
ZERO_TIME = "0001-01-01T00:00:00Z"
LATE = "storm-late"


@dataclass(frozen=True)
class StormPlan:
    alerts: int = 2000
    pipelines: int = 50
    seconds: float = 10.0
    mode: Literal["repeats", "growing"] = "repeats"
    late_at: float | None = 15.0

    def names(self) -> list[str]:
        """The storm's pipelines (without the late one)."""
        return [pipeline(i) for i in range(self.pipelines)]


@dataclass(frozen=True)
class Send:
    at: float                 # seconds after the storm starts
    pipeline: str
    body: dict[str, Any]


def pipeline(i: int) -> str:
    return f"storm-{i:03d}"


def connector(name: str) -> str:
    return f"{name}-conn"


def pipelines_config(plan: StormPlan) -> dict[str, Any]:
    """PIPELINE_FILE content: each pipeline owns one connector, so its alerts fold into one incident."""
    names = [*plan.names(), LATE]
    return {"pipelines": [{"name": n, "tables": [f"storm.{n.replace('-', '_')}"], "connectors": [connector(n)],
                           "flink_jobs": [f"{n}-job"]} for n in names]}


def alert(name: str, instance: int) -> dict[str, Any]:
    labels = {"alertname": ALERTNAME, "severity": "critical", "connector": connector(name),
              "pipeline": name, "instance": f"worker-{instance}"}
    fingerprint = hashlib.sha256(json.dumps(labels, sort_keys=True).encode()).hexdigest()[:16]
    return {"status": "firing", "labels": labels, "startsAt": STARTS_AT, "endsAt": ZERO_TIME,
            "annotations": {"summary": f"Connector task of {name} failed on worker-{instance}"},
            "generatorURL": "http://prometheus:9090/graph?g0.expr=up", "fingerprint": fingerprint}


def notification(name: str, alerts: list[dict[str, Any]]) -> dict[str, Any]:
    """As Alertmanager 0.25 sends it for `group_by: [pipeline]`."""
    return {"receiver": "dataflow-bot", "status": "firing", "alerts": alerts, "version": "4",
            "groupLabels": {"pipeline": name}, "commonLabels": {"alertname": ALERTNAME, "pipeline": name},
            "commonAnnotations": {}, "externalURL": "http://alertmanager:9093", "truncatedAlerts": 0,
            "groupKey": f'{{}}:{{pipeline="{name}"}}'}


def schedule(plan: StormPlan) -> list[Send]:
    """Every POST of the storm (and the late one), in send order."""
    sends = []
    names = plan.names()
    for k in range(plan.alerts):
        name = names[k % plan.pipelines]
        round_ = k // plan.pipelines + 1      # the how-many-th notification of this group
        alerts = [alert(name, 1)] if plan.mode == "repeats" else [alert(name, j) for j in range(1, round_ + 1)]
        sends.append(Send(k * plan.seconds / plan.alerts, name, notification(name, alerts)))
    if plan.late_at is not None:
        sends.append(Send(plan.late_at, LATE, notification(LATE, [alert(LATE, 1)])))
    return sorted(sends, key=lambda s: s.at)
