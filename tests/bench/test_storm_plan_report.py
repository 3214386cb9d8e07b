"""The storm's plan and its report (pure): what is sent, and how visibility, roots and duplicates are read."""

from __future__ import annotations

import json
from typing import Any

from bench.storm_plan import LATE, StormPlan, schedule
from bench.storm_report import duplicates, names, roots, summarise, update_allowance, visible_at
from bot.sandbox.slack_faults import RecordedCall


def call(at: float, method: str = "chat.postMessage", limited: bool = False, **args: Any) -> RecordedCall:
    return RecordedCall(method, args, {}, at=at, limited=limited)


def root(at: float, incident: str, pipeline: str, limited: bool = False) -> RecordedCall:
    meta = json.dumps({"event_type": "dataflow_incident", "event_payload": {"incident_id": incident, "kind": "root"}})
    return call(at, limited=limited, text=f"[FIRING] {incident} Alert — {pipeline}", metadata=meta)


def test_repeats_send_one_alert_per_group_interleaved() -> None:
    sends = schedule(StormPlan(alerts=6, pipelines=3, seconds=3.0, late_at=10.0))
    assert [s.pipeline for s in sends] == ["storm-000", "storm-001", "storm-002"] * 2 + [LATE]
    assert [s.at for s in sends] == [0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 10.0]
    assert all(len(s.body["alerts"]) == 1 for s in sends)
    assert sends[0].body["alerts"] == sends[3].body["alerts"]            # the same alert, repeated
    assert len({s.body["groupKey"] for s in sends}) == 4


def test_growing_groups_carry_one_more_alert_each_time() -> None:
    sends = schedule(StormPlan(alerts=6, pipelines=2, seconds=1.0, mode="growing", late_at=None))
    assert [len(s.body["alerts"]) for s in sends] == [1, 1, 2, 2, 3, 3]
    fingerprints = [a["fingerprint"] for a in sends[4].body["alerts"]]
    assert len(set(fingerprints)) == 3


def test_whole_word_names() -> None:
    assert names("[FIRING] INC-1 x — storm-001", "storm-001") and names("INC-1 open", "INC-1")
    assert not names("storm-0011", "storm-001") and not names("INC-12", "INC-1")


def test_visible_by_own_root_or_summary_line_not_by_thread_or_429() -> None:
    pipelines = ["storm-000", "storm-001", "storm-002"]
    calls = [
        root(1.0, "INC-1", "storm-000", limited=True),                          # refused: not shown
        root(2.0, "INC-1", "storm-000"),
        call(3.0, text="storm-001 detail", thread_ts="1.0"),                    # a thread reply: not shown
        call(4.0, text="Storm: INC-1, storm-001 and 1 more"),                   # a summary line shows storm-001
        root(5.0, "INC-3", "storm-002"),
        call(6.0, "chat.update", text="Storm: INC-3 updated", ts="4.0"),
    ]
    assert visible_at(calls, pipelines) == {"storm-000": 2.0, "storm-001": 4.0, "storm-002": 5.0}
    report = summarise(calls, pipelines, t0=0.5)
    assert (report["visible"], report["lost"], report["all_visible_after_s"]) == (3, [], 4.5)
    assert (report["messages_posted"], report["chat_update_calls"]) == (4, 1)
    assert report["answered_429"] == {"chat.postMessage": 1}


def test_duplicates_count_extra_roots_per_pipeline() -> None:
    found = roots([root(1, "INC-1", "storm-000"), root(2, "INC-2", "storm-000"), root(3, "INC-1", "storm-000"),
                   root(4, "INC-3", "storm-001")], ["storm-000", "storm-001"])
    assert duplicates(found) == 2


def test_lost_incident_is_named() -> None:
    report = summarise([root(1, "INC-1", "storm-000")], ["storm-000", "storm-001"], t0=0)
    assert report["lost"] == ["storm-001"] and report["all_visible_after_s"] is None


def test_update_allowance_is_tier_3() -> None:
    assert update_allowance(0) == 10 and update_allowance(60) == 60 and update_allowance(120) == 110
