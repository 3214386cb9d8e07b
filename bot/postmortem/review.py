"""What went well, what went badly, where we got lucky: derived from facts, then left to people."""

from __future__ import annotations

from bot.postmortem.findings import binlog_unavailable, schema_evidence
from bot.postmortem.impact import Milestones, since_first_alert
from bot.postmortem.model import Facts
from bot.postmortem.sections import result_headline
from bot.postmortem.text import code, duration, first_line, from_slack
from bot.runbooks.skip_risk import skip_risks

SLOW_APPROVAL_SECONDS = 300   # a mutating step waiting longer than this for a second person is worth a word
PROMPT = "_People: add what the log cannot show._"


def _approval_waits(facts: Facts) -> list[tuple[str, int]]:
    requested = {str(e.data.get("approval_id")): e for e in facts.events if e.kind == "approval_requested"}
    waits = []
    for e in facts.events:
        req = requested.get(str(e.data.get("approval_id")))
        if e.kind == "approval_decided" and req is not None:
            waits.append((str(req.data.get("step", "?")), max(0, int(e.ts) - int(req.ts))))
    return waits


def went_well(facts: Facts, marks: Milestones) -> list[str]:
    lines = []
    if marks.first_alert is not None:
        lines.append(f"Detected {since_first_alert(marks, marks.detected)} after the first alert.")
    ok = [str(e.data.get("step")) for e in facts.events if e.kind == "result" and e.data.get("ok") is True]
    if ok:
        lines.append(f"{len(ok)} runbook step(s) succeeded: {', '.join(code(s) for s in ok)}.")
    fast = [(s, w) for s, w in _approval_waits(facts) if w <= SLOW_APPROVAL_SECONDS]
    if fast:
        lines.append("Every change had a second person's approval, given quickly: "
                     + ", ".join(f"{code(s)} in {duration(w)}" for s, w in fast) + ".")
    if marks.resolved is not None:
        lines.append(f"Resolved {since_first_alert(marks, marks.resolved)} after the first alert.")
    return lines


def went_badly(facts: Facts, marks: Milestones) -> list[str]:
    lines = []
    if marks.first_alert is None:
        lines.append("Time to detect is unknown: the alert carried no plausible start time.")
    for e in facts.events:
        if e.kind == "result" and e.data.get("ok") is not True:
            found = first_line(from_slack(result_headline(e), facts.people)) or "no detail recorded"
            lines.append(f"Step {code(str(e.data.get('step', '?')))} did not succeed: {found}")
    slow = [(s, w) for s, w in _approval_waits(facts) if w > SLOW_APPROVAL_SECONDS]
    lines += [f"The approval of {code(s)} waited {duration(w)}." for s, w in slow]
    refused = [e for e in facts.events if e.kind == "approval_refused"]
    if refused:
        reasons = sorted({str(e.data.get("reason") or "no reason recorded") for e in refused})
        lines.append(f"{len(refused)} approval click(s) refused: {'; '.join(reasons)}")
    for name, why in sorted(skip_risks(facts.events).items()):
        lines.append(f"{code(name)} resumed past a change event it had failed on ({why}): one change may be missing "
                     "downstream.")
    if unavailable := binlog_unavailable(facts.events):
        lines.append(f"The bot could not search the binlog for the DDL: {from_slack(unavailable, facts.people)}.")
    return lines


def got_lucky(facts: Facts) -> list[str]:
    found = schema_evidence(facts.events)
    if found and "COMPATIBLE" in found.verdict and "INCOMPATIBLE" not in found.verdict.upper():
        return ["The drift was compatible (nothing removed or retyped): a breaking change would have hit every "
                "consumer of the table."]
    return []


def review_lines(facts: Facts, marks: Milestones) -> list[str]:
    parts = [("### What went well", went_well(facts, marks)), ("### What went badly", went_badly(facts, marks)),
             ("### Where we got lucky", got_lucky(facts))]
    lines: list[str] = []
    for title, found in parts:
        lines += [title, "", *(f"- {line}" for line in found), *(["- _Nothing derived from the log._"] if not found
                                                                 else []), f"- {PROMPT}", ""]
    return lines[:-1]


LESSONS = ["_For people to write: what would have prevented this, or caught it before an alert?_",
           "_What will we change in tooling, process or ownership? Each change belongs in Action items._"]
