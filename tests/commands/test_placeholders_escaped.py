"""Every text the bot can send that shows a command with a placeholder (`run <step>`) escapes it for Slack:
sent raw, `<step>` is read as a link or a mention and vanishes from the message."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RAW_PLACEHOLDER = re.compile(r"`[^`\n]*<[a-z][a-z_.-]*>[^`\n]*`")


def docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def sent_texts(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text())
    skip = docstrings(tree)
    return [(node.lineno, node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip
            and "(?P<" not in node.value]          # regular expressions name their groups so


def test_no_text_the_bot_sends_carries_a_raw_placeholder() -> None:
    raw = [f"{path.relative_to(ROOT)}:{line}: {text!r}"
           for folder in ("bot", "handlers") for path in sorted((ROOT / folder).rglob("*.py"))
           if "sandbox" not in path.parts
           for line, text in sent_texts(path) if RAW_PLACEHOLDER.search(text)]
    assert raw == []
