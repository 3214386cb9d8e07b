"""Pure renderers of a SchemaDiff: Slack mrkdwn text (a ```diff block) and a JSON-ready dict."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from bot.schema.diff import BREAKING, Change, SchemaDiff
from bot.schema.model import Column

# Slack cuts a section's text at 3000 characters; leave room for the surrounding block.
MAX_CHARS = 2800
_MARK = {"added": "+", "removed": "-"}


def render_diff_text(diff: SchemaDiff, max_chars: int = MAX_CHARS) -> str:
    """Verdict line, then one ```diff line per change (+ added, - removed, ~ changed before -> after)."""
    head = _verdict_line(diff)
    if not diff.changes:
        return head
    lines = [_line(c) for c in diff.changes]
    budget = max_chars - len(head) - len("\n```diff\n\n```") - 40
    shown: list[str] = []
    for i, line in enumerate(lines):
        if sum(len(s) + 1 for s in shown) + len(line) + 1 > budget:
            shown.append(f"… {len(lines) - i} more change(s) not shown")
            break
        shown.append(line)
    return head + "\n```diff\n" + "\n".join(shown) + "\n```"


def _verdict_line(diff: SchemaDiff) -> str:
    table = _safe(f"{diff.schema}.{diff.table}")
    if not diff.changes:
        return f"*Schema of `{table}` matches its baseline.*"
    breaking = sum(1 for c in diff.changes if c.verdict == BREAKING)
    total = len(diff.changes)
    return (f"*Schema drift on `{table}`: {diff.verdict.upper()}* "
            f"({total} change(s): {breaking} breaking, {total - breaking} compatible)")


def _line(change: Change) -> str:
    mark = _MARK.get(change.kind, "~")
    if change.kind in ("added", "removed"):
        col = change.after or change.before
        body = f"{_safe(change.column)} {describe_column(col) if col else ''}"
    else:
        body = f"{_safe(change.column)} {change.kind}: {_aspect(change.before, change.kind)} → " \
               f"{_aspect(change.after, change.kind)}"
    return f"{mark} {body}  [{change.verdict}] {_safe(change.reason)}"


def describe_column(col: Column) -> str:
    """`varchar(64) NULL DEFAULT 'x' on update ...`: close to the DDL a person would write."""
    text = f"{col.type} {'NULL' if col.nullable else 'NOT NULL'}"
    if col.default is not None:
        text += f" DEFAULT {col.default}"
    if col.extra:
        text += f" {col.extra}"
    if col.key:
        text += f" key={col.key}"
    return _safe(text)


def _aspect(col: Column | None, kind: str) -> str:
    if col is None:
        return "(none)"
    value: Any = {
        "type": col.type, "nullability": "NULL" if col.nullable else "NOT NULL",
        "default": col.default, "extra": col.extra or "(none)", "key": col.key or "(none)",
        "order": f"position {col.position}",
    }.get(kind, describe_column(col))
    return _safe("(none)" if value is None else str(value))


def _safe(text: str) -> str:
    """Slack mrkdwn escaping (& < >) and no ``` that would close the code block early."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.replace("```", "`\u200b`\u200b`").replace("\n", " ")


def diff_to_json(diff: SchemaDiff) -> dict[str, Any]:
    return {
        "schema": diff.schema,
        "table": diff.table,
        "verdict": diff.verdict,
        "changes": [
            {"kind": c.kind, "column": c.column, "verdict": c.verdict, "reason": c.reason,
             "before": asdict(c.before) if c.before else None, "after": asdict(c.after) if c.after else None}
            for c in diff.changes
        ],
    }
