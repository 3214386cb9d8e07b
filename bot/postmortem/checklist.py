"""The seed runbook's postmortem checklist (section 7): verifiable items checked live, the rest open."""

from __future__ import annotations

from bot.postmortem.model import Check, Facts
from bot.postmortem.sections import ddl_entries

# The human-only items of runbook section 7, in its order.
RCA_ITEM = "RCA logged: who changed the schema, when, impact."
TESTS_ITEM = "Tests updated (integration/contract) to catch it earlier."
DOCS_ITEM = "If the drift was legitimate: documentation & schema registry updated."


def _box(ok: bool) -> str:
    return "[x]" if ok else "[ ]"


def _checked(check: Check) -> str:
    return f"- {_box(check.ok)} {check.label} — {check.detail}"


def verified_checks(facts: Facts) -> list[Check]:
    checks = facts.checks
    return [checks.alert, *checks.connectors, *checks.jobs] + ([checks.baseline] if checks.baseline else [])


def checklist_lines(facts: Facts) -> list[str]:
    checks = facts.checks
    lines = ["_Boxes with a verdict were verified live when this draft was exported; the others are for people._",
             "", "**1. Alert clear, connector back to `RUNNING`**", _checked(checks.alert)]
    lines += [_checked(c) for c in (*checks.connectors, *checks.jobs)]
    if not checks.connectors:
        lines.append("- [ ] Connector back to RUNNING — no connector is known for this incident: check by hand")
    rca_hint = " (the bot found the DDL: see Root cause; who and impact remain)" if ddl_entries(facts.events) else ""
    lines += ["", "**2. Root cause analysis**", f"- [ ] {RCA_ITEM}{rca_hint}",
              "", "**3. Tests**", f"- [ ] {TESTS_ITEM}",
              "", "**4. Legitimate drift**"]
    if checks.baseline is not None:
        lines.append(_checked(checks.baseline))
    else:
        lines.append("- [ ] Baseline updated — no accepted drift recorded (not needed if the change was rolled back)")
    lines.append(f"- [ ] {DOCS_ITEM}")
    return lines


def follow_up_lines(facts: Facts) -> list[str]:
    """Every box still open is a follow-up, with an owner to assign."""
    open_checks = [c for c in verified_checks(facts) if not c.ok]
    items = [f"{c.label} ({c.detail})" for c in open_checks] + [RCA_ITEM, TESTS_ITEM]
    if facts.checks.baseline is not None:
        items.append(DOCS_ITEM)
    return [f"- [ ] {item} — owner: _to assign_" for item in items]
