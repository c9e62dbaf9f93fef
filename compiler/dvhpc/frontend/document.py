"""A loaded spec file: its plain data and where every key and value sits.

A path is a tuple of keys and list indexes, e.g. ("resources", "rules", "train_model", "mem").
Lines are counted as YAML 1.2 and TOML count them (only CR, LF and CRLF end a line).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Protocol

from dvhpc.report.diagnostics import Location

MAX_NODES = 200_000  # after alias expansion; a real spec has a few thousand
MAX_DEPTH = 64

Key = str | int
PathT = tuple[Key, ...]
Span = tuple[int, ...]  # (line, column) or (line, column, end line, end column), 1-based


class Marked(Protocol):
    """A YAML parser event or composed node: its marks (0-based line and column, the end one past it)."""

    start_mark: Any
    end_mark: Any


@dataclass
class Document:
    """One loaded file: its data and where every key and value sits, as spans (line, column, end
    line, end column) or YAML events and nodes, turned into Locations only when asked for (most never are)."""

    file: str  # as the user named it (relative paths stay relative: deterministic output)
    data: object
    values: dict[PathT, Span | Marked] = field(default_factory=dict)
    keys: dict[PathT, Span | Marked] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)
    sha256: str = ""  # of the file's bytes, for MANIFEST.json

    def where(self, path: PathT, *, key: bool = False) -> Location:
        """The location of a value (or its key), falling back to the nearest located parent."""
        table = self.keys if key else self.values
        probe = tuple(path)
        while probe:
            span = table.get(probe) or self.values.get(probe)
            if span:
                return self.location(span)
            probe = probe[:-1]
        return self.location(self.values.get((), (1, 1)))

    def location(self, span: Span | Marked) -> Location:
        if isinstance(span, tuple):
            return Location(self.file, *span)
        start, end = span.start_mark, span.end_mark
        line, column, end_line, end_col = start.line, start.column, end.line, end.column
        # the end points one past the node; make it inclusive and on the same line when it wraps
        if end_line > line and end_col == 0:
            end_col = len(self.lines[end_line - 1]) if end_line - 1 < len(self.lines) else 1
        else:
            end_line += 1
        return Location(self.file, line + 1, column + 1, end_line, max(end_col, column + 1))


_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def split_lines(text: str) -> list[str]:
    """A file's lines as YAML 1.2 and TOML count them: only CR, LF and CRLF end a line
    (str.splitlines also splits at form feeds, U+0085, U+2028 and more)."""
    # without a CR the breaks are LFs alone: str.split is a tenth of the regex split's cost
    lines = text.split("\n") if "\r" not in text else _LINE_BREAK.split(text)
    return lines[:-1] if lines and not lines[-1] else lines


def text_location(text: str, index: int, display: str, length: int = 1) -> Location:
    before = split_lines(text[:index] + "x")  # the "x" keeps a break just before `index` counted
    line, column = len(before), len(before[-1])
    return Location(display, line, column, line, column + length - 1)
