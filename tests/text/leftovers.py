"""What must never survive rendering (issue 14's acceptance check): shared by the renderer and demo tests."""

from __future__ import annotations

import re

LEFTOVERS = {
    "*bold*": re.compile(r"(?<![*\w])\*[^*\s][^*\n]*?[^*\s]\*(?![*\w])|(?<![*\w])\*[^*\s]\*(?![*\w])"),
    ":emoji:": re.compile(r"(?<![\w:]):[a-z][a-z0-9_+-]*:(?![\w:])"),
    "<@U…>": re.compile(r"<[@#!][A-Za-z0-9^|@._-]+>"),
    "<url|text>": re.compile(r"<[a-z]+:[^<>|\s]+\|[^<>]*>"),
    "&amp;": re.compile(r"&(?:amp|lt|gt);"),
}


def leftovers(text: str) -> list[str]:
    """Each kind of raw Slack markup still in the text, with the first place it shows."""
    found = []
    for name, pattern in LEFTOVERS.items():
        if match := pattern.search(text):
            found.append(f"{name}: {text[max(0, match.start() - 30):match.end() + 10]!r}")
    return found
