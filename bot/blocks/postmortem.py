"""Block Kit for the postmortem: the "Draft postmortem" button and the short summary posted with the file."""

from __future__ import annotations

from typing import Any

from bot.blocks.common import button, context, escape, section

ACTION_ID = "draft_postmortem"
BUTTON_TEXT = "Draft postmortem"


def postmortem_button(incident_id: str) -> dict[str, Any]:
    """An actions block with the button; its value is the incident id."""
    return {"type": "actions", "block_id": f"postmortem:{incident_id}",
            "elements": [button(BUTTON_TEXT, ACTION_ID, incident_id)]}


def summary_text(incident_id: str, title: str, status: str, verified: int, checkable: int) -> str:
    return (f":memo: Postmortem draft for {incident_id} ({title}, {status}): "
            f"{verified} of {checkable} verifiable checklist items verified.")


def summary_blocks(incident_id: str, lines: list[str], filename: str, events: int) -> list[dict[str, Any]]:
    """Short on purpose: the full draft, however long, is only in the attached file."""
    body = "\n".join(escape(line) for line in lines[:8])
    return [section(f"*:memo: Postmortem draft — {escape(incident_id)}*\n{body}"),
            context(f"The full draft ({events} timeline events) is attached as `{escape(filename)}`. "
                    "Press the button again after more happens: the draft is rebuilt from the event log."),
            postmortem_button(incident_id)]
