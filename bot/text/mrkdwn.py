"""Slack mrkdwn to plain text and to Markdown: one renderer for the demo printout and the postmortem.

Pure functions. Code (inline and fenced) is cut out first and kept verbatim (only its entities decoded),
so asterisks, underscores and colons inside code are never read as formatting or emoji.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

import emoji

# Slack's own short codes that the `emoji` package's alias table lacks (the bot uses the first two).
SLACK_ONLY_EMOJI = {
    "large_green_circle": "🟢", "large_orange_circle": "🟠", "large_yellow_circle": "🟡",
    "large_purple_circle": "🟣", "large_brown_circle": "🟤", "large_red_square": "🟥",
    "thread": "🧵", "simple_smile": "🙂",
}
_ENTITIES = (("&lt;", "<"), ("&gt;", ">"), ("&amp;", "&"))
_FENCE = re.compile(r"```(.*?)```", re.DOTALL)
_FENCE_LANGS = {"diff", "sql", "json", "yaml", "text", "sh", "bash", "python"}
_SPECIAL = re.compile(r"<([@#!])?([^<>|\s]+)(?:\|([^<>]*))?>")
_SHORT_CODE = re.compile(r":([a-z0-9_+-]+):")
_TAG_START = re.compile(r"<(?=[A-Za-z/!?])")
# Slack's emphasis: the marker hugs a word on both sides and is not glued to a word outside.
_EMPHASIS = {mark: re.compile(rf"(?<![\w{mark}]){re.escape(mark)}(?=\S)([^{mark}\n]*?\S){re.escape(mark)}(?![\w{mark}])")
             for mark in "*_~"}
_MARKDOWN_EMPHASIS = {"*": "**", "_": "_", "~": "~~"}


@dataclass(frozen=True)
class Names:
    """Who and where, as the caller already knows them: Slack IDs to display names (never looked up here)."""

    users: dict[str, str] = field(default_factory=dict)
    channels: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class _Code:
    text: str
    fenced: bool
    lang: str = ""


def decode_entities(text: str) -> str:
    for entity, char in _ENTITIES:
        text = text.replace(entity, char)
    return text


def to_plain(text: str, names: Names | None = None) -> str:
    """What a person reads in Slack, as plain text: no markers, names for IDs, emoji as Unicode."""
    return _render(text, names or Names(), markdown=False)


def to_markdown(text: str, names: Names | None = None) -> str:
    """The same, as Markdown: **bold**, _italics_, ~~strike~~, [label](url), code that survives backticks."""
    return _render(text, names or Names(), markdown=True)


def _render(text: str, names: Names, markdown: bool) -> str:
    # Code stands in as placeholders while the prose is rendered, so *bold with `code` inside* still pairs up.
    codes: list[_Code] = []
    prose = "".join(p if isinstance(p, str) else _hold(codes, p) for p in _split_code(text))
    rendered = _prose(prose, names, markdown)
    # "and ```code```": the fence moves to its own line; the space before it would trail the line.
    rendered = re.sub(r"[ \t]+(?=\x01(\d+)\x01)", lambda m: "" if codes[int(m.group(1))].fenced else m.group(0),
                      rendered)
    return _CODE_HOLD.sub(lambda m: _place(codes[int(m.group(1))], m, markdown), rendered)


_CODE_HOLD = re.compile(r"\x01(\d+)\x01")


def _hold(codes: list[_Code], code: _Code) -> str:
    codes.append(code)
    return f"\x01{len(codes) - 1}\x01"


def _place(code: _Code, match: re.Match[str], markdown: bool) -> str:
    if not code.fenced:
        return _inline_markdown(code) if markdown else code.text
    before, after = match.string[:match.start()], match.string[match.end():]
    lead = "" if not before or before.endswith("\n") else "\n"
    # A fence ends its own line: the newline Slack had after the closing ``` serves, or one is added.
    tail = "" if not after or after.startswith("\n") else "\n"
    if markdown:
        ticks = "`" * max(3, _longest_tick_run(code.text) + 1)
        return f"{lead}{ticks}{code.lang}\n{code.text}\n{ticks}{tail}"
    return f"{lead}{code.text}{tail}"


# -- code -------------------------------------------------------------------------------------------------------
def _split_code(text: str) -> list[str | _Code]:
    pieces: list[str | _Code] = []
    last = 0
    for match in _FENCE.finditer(text):
        pieces += _split_inline(text[last:match.start()])
        pieces.append(_fenced(match.group(1)))
        last = match.end()
    return pieces + _split_inline(text[last:])


def _fenced(body: str) -> _Code:
    first, newline, rest = body.partition("\n")
    if newline and first.strip() in _FENCE_LANGS:   # ```diff: Slack shows the word; we take it as the language
        return _Code(decode_entities(rest.rstrip("\n")), True, first.strip())
    return _Code(decode_entities(body.strip("\n")), True)


def _split_inline(text: str) -> list[str | _Code]:
    """Inline code spans; one that holds backticks (MySQL names: `oltp`.`orders`) is kept whole."""
    pieces: list[str | _Code] = []
    start = 0
    i = _next_opener(text, 0)
    while i is not None:
        end = _closer(text, i)
        if end is None:
            break
        pieces += [text[start:i], _Code(decode_entities(text[i + 1:end]), False)]
        start = end + 1
        i = _next_opener(text, start)
    if text[start:]:
        pieces.append(text[start:])
    return [p for p in pieces if p != ""]


def _next_opener(text: str, start: int) -> int | None:
    found = text.find("`", start)
    return found if found >= 0 else None


def _closer(text: str, opener: int) -> int | None:
    """The first backtick on the line that can close (not after a space, not before a word char) and
    leaves an even number of backticks inside; failing that, the first that can close at all."""
    line_end = text.find("\n", opener)
    line_end = len(text) if line_end < 0 else line_end
    candidates = [j for j in range(opener + 1, line_end) if text[j] == "`"]
    closing = [j for j in candidates if not text[j - 1].isspace() and j - 1 != opener
               and not (j + 1 < len(text) and (text[j + 1].isalnum() or text[j + 1] == "_"))]
    for j in closing:
        if text.count("`", opener + 1, j) % 2 == 0:
            return j
    return closing[0] if closing else (candidates[0] if candidates else None)


def _longest_tick_run(text: str) -> int:
    return max((len(m) for m in re.findall(r"`+", text)), default=0)


def _inline_markdown(code: _Code) -> str:
    longest = _longest_tick_run(code.text)
    ticks = "`" * (longest + 1)
    pad = " " if longest or code.text.startswith("`") or code.text.endswith("`") else ""
    return f"{ticks}{pad}{code.text}{pad}{ticks}"


# -- prose ------------------------------------------------------------------------------------------------------
def _prose(text: str, names: Names, markdown: bool) -> str:
    # Specials first: a URL holds "_" and ":" that emphasis and emoji must not see.
    kept: list[str] = []

    def keep(value: str) -> str:
        kept.append(value)
        return f"\x00{len(kept) - 1}\x00"

    text = _SPECIAL.sub(lambda m: keep(_special(m, names, markdown)), text)
    text = _emojize(text)
    for mark, pattern in _EMPHASIS.items():
        text = pattern.sub(_emphasis(mark, markdown), text)
    text = decode_entities(text)
    if markdown:   # a decoded "<service>" would read as an HTML tag
        text = _TAG_START.sub(r"\\<", text)
    return re.sub(r"\x00(\d+)\x00", lambda m: kept[int(m.group(1))], text)


def _emphasis(mark: str, markdown: bool) -> Callable[[re.Match[str]], str]:
    def replace(match: re.Match[str]) -> str:
        inner = match.group(1)
        return f"{_MARKDOWN_EMPHASIS[mark]}{inner}{_MARKDOWN_EMPHASIS[mark]}" if markdown else inner

    return replace


def _emojize(text: str) -> str:
    text = _SHORT_CODE.sub(lambda m: SLACK_ONLY_EMOJI.get(m.group(1), m.group(0)), text)
    # Unknown codes stay as typed (":custom_logo:" still reads as a name).
    return emoji.emojize(text, language="alias")


def _special(match: re.Match[str], names: Names, markdown: bool) -> str:
    sigil, target, label = match.group(1), match.group(2), match.group(3)
    if sigil == "@":
        return "@" + (names.users.get(target) or label or target)
    if sigil == "#":
        return "#" + (names.channels.get(target) or label or target)
    if sigil == "!":
        return _broadcast(target, label)
    label = decode_entities(label) if label else None
    url = decode_entities(target)
    if not label or label == url:
        return url
    if url.startswith("mailto:"):
        return label
    return f"[{label}]({url})" if markdown else f"{label} ({url})"


def _broadcast(target: str, label: str | None) -> str:
    """<!here>, <!channel>, <!subteam^S1|@oncall>, <!date^…|fallback>: what Slack would show."""
    if label:
        return decode_entities(label)
    return "@" + target.split("^")[0]
