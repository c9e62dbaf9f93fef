"""Text from specs and generated files, made safe for where dvhpc prints it.

A value may hold anything: terminal escape sequences, bidirectional overrides that reorder what a
reader sees, line breaks that start a fake line, or Markdown/HTML that renders as an image or an
@mention in a pull-request comment. Every renderer passes such text through one of these.
"""

from __future__ import annotations

import re

# C0 (tab and newline included: a value never starts a line of ours), DEL, C1 (NEL among them),
# the Unicode line/paragraph separators, the bidirectional controls (Trojan Source) and lone
# surrogates (a file name's bytes that are not UTF-8, as Python decodes them: unprintable).
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:  # surrogateescape: the undecodable byte itself
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: object) -> str:
    """`text` for a terminal or a log: every control or bidi character as a visible escape
    (`\\n`, `\\x1b`, `\\u202e`)."""
    text = str(text)
    return _UNSAFE.sub(_escape, text) if _UNSAFE.search(text) else text


def markdown_code(text: object, *, table_cell: bool = False) -> str:
    """`text` as one inline Markdown code span: nothing in it renders (no image, HTML, link,
    @mention, emphasis) and nothing ends the span or the line early; in a table cell (`table_cell`)
    `|` is escaped too, which GitHub's tables require even inside a code span."""
    text = printable(text)
    if table_cell:
        text = text.replace("|", "\\|")
    longest = max((len(run) for run in re.findall("`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or not text.strip(" ") else ""
    return f"{fence}{pad}{text}{pad}{fence}"
