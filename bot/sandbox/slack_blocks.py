"""Block Kit as the emulator needs it: Slack's limits (invalid_blocks), buttons, and plain-text rendering."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from bot.sandbox.slack_args import SlackError

MAX_BLOCKS = 50
MAX_TEXT = 40_000
# (block or element type, field) -> max length, from protocols.md 5.7.
_TEXT_LIMITS = {("section", "text"): 3000, ("header", "text"): 150, ("markdown", "text"): 12_000}
_BUTTON_LIMITS = {"action_id": 255, "value": 2000, "url": 3000}


def _text_of(obj: Any) -> str:
    """A text object ({"type": "mrkdwn", "text": ...}) or a plain string, as a string."""
    if isinstance(obj, dict):
        return str(obj.get("text", ""))
    return obj if isinstance(obj, str) else ""


def validate_text(text: str | None, blocks: Any) -> None:
    if not text and not blocks:
        raise SlackError("no_text")
    if text and len(text) > MAX_TEXT:
        raise SlackError("msg_too_long")


def validate_blocks(blocks: Any) -> None:
    """Raise SlackError("invalid_blocks") the way Slack rejects a message it cannot render."""
    if blocks is None:
        return
    if not isinstance(blocks, list):
        raise SlackError("invalid_blocks", "blocks must be a list")
    if len(blocks) > MAX_BLOCKS:
        raise SlackError("invalid_blocks", f"no more than {MAX_BLOCKS} items allowed [json-pointer:/blocks]")
    seen: set[str] = set()
    for i, block in enumerate(blocks):
        problem = _block_problem(block, seen)
        if problem:
            raise SlackError("invalid_blocks", f"{problem} [json-pointer:/blocks/{i}]")


def _block_problem(block: Any, seen_ids: set[str]) -> str | None:
    if not isinstance(block, dict) or not isinstance(block.get("type"), str):
        return "each block must be an object with a type"
    kind = block["type"]
    block_id = block.get("block_id")
    if block_id is not None:
        if len(str(block_id)) > 255 or block_id in seen_ids:
            return "block_id too long or duplicated"
        seen_ids.add(block_id)
    for (btype, field), limit in _TEXT_LIMITS.items():
        if kind == btype and len(_text_of(block.get(field))) > limit:
            return f"{kind} {field} must be at most {limit} characters"
    return _children_problem(kind, block)


def _children_problem(kind: str, block: dict[str, Any]) -> str | None:
    fields = block.get("fields") or []
    if kind == "section" and (len(fields) > 10 or any(len(_text_of(f)) > 2000 for f in fields)):
        return "section fields: at most 10, each at most 2000 characters"
    elements = block.get("elements") or []
    if kind == "actions" and len(elements) > 25:
        return "actions: at most 25 elements"
    if kind == "context" and len(elements) > 10:
        return "context: at most 10 elements"
    for element in [*elements, block.get("accessory")]:
        if isinstance(element, dict) and element.get("type") == "button":
            problem = _button_problem(element)
            if problem:
                return problem
    return None


def _button_problem(button: dict[str, Any]) -> str | None:
    if len(_text_of(button.get("text"))) > 75:
        return "button text must be at most 75 characters"
    for field, limit in _BUTTON_LIMITS.items():
        if len(str(button.get(field, ""))) > limit:
            return f"button {field} must be at most {limit} characters"
    return None


def buttons(blocks: list[dict[str, Any]] | None) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """Every (block, button) pair in a message: actions elements and section accessories."""
    for block in blocks or []:
        for element in [*(block.get("elements") or []), block.get("accessory")]:
            if isinstance(element, dict) and element.get("type") == "button":
                yield block, element


def find_button(message: dict[str, Any], action_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    for block, button in buttons(message.get("blocks")):
        if button.get("action_id") == action_id:
            return block, button
    found = [b.get("action_id") for _, b in buttons(message.get("blocks"))]
    raise ValueError(f"no button with action_id {action_id!r} in message {message.get('ts')}; has {found}")


def block_lines(block: dict[str, Any]) -> list[str]:
    """One block as a reader sees it: its text, fields and elements; buttons as [Label]."""
    kind = block.get("type")
    if kind == "divider":
        return ["---"]
    if kind == "actions":
        return [" ".join(_element_text(e) for e in block.get("elements") or [])]
    if kind == "context":
        return [" | ".join(_element_text(e) for e in block.get("elements") or [])]
    lines = [_text_of(block.get("text"))] if block.get("text") else []
    lines += [_text_of(f) for f in block.get("fields") or []]
    if isinstance(block.get("accessory"), dict):
        lines.append(_element_text(block["accessory"]))
    if kind == "rich_text":
        lines.append(_rich_text(block))
    return [line for line in lines if line]


def _element_text(element: dict[str, Any]) -> str:
    if element.get("type") == "button":
        return f"[{_text_of(element.get('text'))}]"
    if element.get("type") == "image":
        return f"(image: {element.get('alt_text', '')})"
    return _text_of(element) or _text_of(element.get("text")) or f"({element.get('type')})"


def _rich_text(node: dict[str, Any]) -> str:
    """Concatenate the leaves of a rich_text tree (what users type is sent this way)."""
    if "elements" in node:
        return "".join(_rich_text(child) for child in node["elements"] if isinstance(child, dict))
    return str(node.get("text") or node.get("name") or node.get("user_id") or "")
