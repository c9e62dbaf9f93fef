"""A Snakefile as Python's tokenizer sees it: the file read safely (a regular file, without
blocking, at most `max_bytes`, UTF-8) and cut into logical lines with their indentation depth,
plus the token-level reading of a statement (plain strings, `name: value` directives, the names of
a `resources:` block). What Snakemake's statements mean is `snakefile_reader`'s part."""

from __future__ import annotations

import ast
import io
import os
import re
import tokenize
from dataclasses import dataclass

from dvhpc.frontend.files import NotRegularFile, read_file
from dvhpc.report.textsafe import printable

_STRING_TYPES = frozenset({tokenize.STRING})
_STRING_PREFIX = re.compile(r"[A-Za-z]*")


class WorkflowUnreadable(Exception):
    """The workflow cannot be read (Snakemake would refuse it too, or a limit was hit): DV353."""

    def __init__(self, message: str, place: tuple[str, int, int]):
        super().__init__(message)
        self.message, self.place = message, place


@dataclass
class LogicalLine:
    depth: int
    tokens: list[tokenize.TokenInfo]



def read_workflow_file(path: str, place: tuple[str, int, int], max_bytes: int) -> str:
    """The file's text; a FIFO, device or directory is refused without blocking on it."""
    try:
        data = read_file(path, max_bytes)
    except (NotRegularFile, IsADirectoryError):
        raise WorkflowUnreadable(f"{printable(shown_path(path))} is not a regular file", place) from None
    except OSError as exc:
        reason = "file not found" if isinstance(exc, FileNotFoundError) else exc.strerror or str(exc)
        raise WorkflowUnreadable(f"cannot read {printable(shown_path(path))}: {reason}", place) from None
    if len(data) > max_bytes:
        raise WorkflowUnreadable(f"{printable(shown_path(path))} is larger than {max_bytes:,} bytes", place)
    shown = shown_path(path)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise WorkflowUnreadable(f"not valid UTF-8 (byte 0x{data[exc.start]:02x}); Snakemake reads workflows as UTF-8",
                    (shown, line, column)) from None
    if "\x00" in text:
        before = text[:text.index("\x00")]
        place = (shown, before.count("\n") + 1, len(before) - before.rfind("\n"))
        raise WorkflowUnreadable("contains a NUL character", place)
    return text.replace("\r\n", "\n").replace("\r", "\n")


def logical_lines(text: str, file: str) -> list[LogicalLine]:
    """The file as Python's tokenizer sees it: logical lines with their indentation depth
    (comments and blank lines dropped)."""
    lines: list[LogicalLine] = []
    depth = 0
    current: list[tokenize.TokenInfo] = []
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type == tokenize.INDENT:
                depth += 1
            elif token.type == tokenize.DEDENT:
                depth -= 1
            elif token.type in (tokenize.NEWLINE, tokenize.ENDMARKER):
                if current:
                    lines.append(LogicalLine(depth, current))
                current = []
            elif token.type not in (tokenize.COMMENT, tokenize.NL, tokenize.ENCODING):
                current.append(token)  # INDENT/DEDENT come before a line's first token: depth holds for the line
    except tokenize.TokenError as exc:
        message, (line, column) = exc.args[0], exc.args[1]
        raise WorkflowUnreadable(f"Python tokenizer: {message}", (file, line, column + 1)) from None
    except SyntaxError as exc:  # IndentationError and, on Python 3.12+, other tokenizer errors
        raise WorkflowUnreadable(f"Python tokenizer: {exc.msg}", (file, exc.lineno or 1, exc.offset or 1)) from None
    return lines


def block_end(lines: list[LogicalLine], index: int) -> int:
    """Index after the lines indented under lines[index]."""
    depth = lines[index].depth
    end = index + 1
    while end < len(lines) and lines[end].depth > depth:
        end += 1
    return end


def directives(lines: list[LogicalLine], start: int, end: int, depth: int):
    """`name: value` entries of a block (lines[start:end], entries at `depth`): (name token, value tokens)."""
    index = start
    while index < end:
        line = lines[index]
        stop = block_end(lines, index)
        if line.depth == depth:
            first = line.tokens[0]
            value = line.tokens[2:] + [t for extra in lines[index + 1:stop] for t in extra.tokens]
            if first.type == tokenize.NAME and len(line.tokens) > 1 and line.tokens[1].string == ":":
                yield first, value
            elif first.type != tokenize.STRING:  # docstrings are allowed
                yield None, line.tokens
        index = stop


def _prefix(literal: str) -> str:
    """A string literal's prefix letters (r, b, f, ...), lower case; "" for none."""
    match = _STRING_PREFIX.match(literal)
    return match.group().lower() if match else ""


def plain_string(tokens: list[tokenize.TokenInfo]) -> str | None:
    """The value of a plain string literal (adjacent literals joined); None for anything else."""
    if not tokens or any(t.type not in _STRING_TYPES for t in tokens):
        return None
    if any(set(_prefix(t.string)) & {"f", "b", "t"} for t in tokens):
        return None  # f-strings run code; bytes are not a path
    try:
        value = ast.literal_eval(" ".join(t.string for t in tokens))
    except (ValueError, SyntaxError):
        return None
    return value if isinstance(value, str) else None


def source_text(tokens: list[tokenize.TokenInfo], limit: int = 60) -> str:
    """The text of `tokens` as written (first physical line only), shortened and printable."""
    first, last = tokens[0], tokens[-1]
    line = first.line.split("\n")[0] if "\n" in first.line else first.line
    text = line[first.start[1]:last.end[1]] if last.start[0] == first.start[0] else line[first.start[1]:] + " ..."
    text = printable(text.strip())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def shown_path(path: str) -> str:
    """A workflow file as people refer to it: relative to the current folder when that is shorter."""
    path = os.path.normpath(path)
    try:
        relative = os.path.relpath(path)
    except ValueError:  # another drive (Windows)
        return path
    return relative if len(relative) < len(path) else path


def resource_names(tokens: list[tokenize.TokenInfo]) -> tuple[frozenset[str], bool]:
    """Keyword names of a `resources:` block as Snakemake stores them (mem/mem_mib -> mem_mb,
    disk likewise; names starting with _ dropped), and whether `**mapping` hides others."""
    names, dynamic, level = set(), False, 0
    for index, token in enumerate(tokens):
        if token.type == tokenize.OP and token.string in "([{":
            level += 1
        elif token.type == tokenize.OP and token.string in ")]}":
            level -= 1
        elif level == 0 and token.type == tokenize.OP and token.string == "**":
            dynamic = True
        elif (level == 0 and token.type == tokenize.NAME and index + 1 < len(tokens)
              and tokens[index + 1].string == "="):
            names.add(token.string)
    normal = set()
    for name in names:
        for sized in ("mem", "disk"):
            if name in (sized, f"{sized}_mb", f"{sized}_mib"):
                name = f"{sized}_mb"
        if not name.startswith("_"):
            normal.add(name)
    return frozenset(normal), dynamic


def use_line(tokens: list[tokenize.TokenInfo], file: str
              ) -> tuple[list[str], str | None, list[str] | None, str | None, bool]:
    """`use rule A, B from M exclude C as D with:` read into (rules, module, exclude, rename, with:)."""

    def fail(at: int, expected: str):
        token = tokens[min(at, len(tokens) - 1)]
        raise WorkflowUnreadable(f"use rule: expected {expected}", (file, token.start[0], token.start[1] + 1))

    if len(tokens) < 2 or tokens[1].string != "rule":
        fail(1, "'rule' after 'use'")
    at, rules = 2, []
    while at < len(tokens) and (tokens[at].type == tokenize.NAME
                                and tokens[at].string not in ("from", "as", "exclude", "with")
                                or tokens[at].string == "*"):
        rules.append(tokens[at].string)
        at += 1
        if at < len(tokens) and tokens[at].string == ",":
            at += 1
    if not rules:
        fail(at, "rule names or '*'")
    module: str | None = None
    exclude: list[str] | None = None
    rename: str | None = None
    with_block = False
    while at < len(tokens):
        word = tokens[at].string
        if word == "from" and module is None and at + 1 < len(tokens) and tokens[at + 1].type == tokenize.NAME:
            module, at = tokens[at + 1].string, at + 2
        elif word == "exclude" and exclude is None:
            exclude, at = _excluded(tokens, at + 1)
        elif word == "as" and rename is None:
            rename, at = _new_name(tokens, at + 1)
            if not rename:
                fail(at, "a name or pattern after 'as'")
        elif word == "with" and at + 1 < len(tokens) and tokens[at + 1].string == ":" and at + 2 == len(tokens):
            with_block, at = True, at + 2
        else:
            fail(at, "'from', 'exclude', 'as' or 'with:'")
    return rules, module, exclude, rename, with_block


def _excluded(tokens: list[tokenize.TokenInfo], at: int) -> tuple[list[str], int]:
    """The rule names after `exclude` (comma-separated) and the index after them."""
    names = []
    while at < len(tokens) and tokens[at].type == tokenize.NAME and tokens[at].string not in ("as", "with", "from"):
        names.append(tokens[at].string)
        at += 2 if at + 1 < len(tokens) and tokens[at + 1].string == "," else 1
    return names, at


def _new_name(tokens: list[tokenize.TokenInfo], at: int) -> tuple[str, int]:
    """The name or pattern after `as` (`new_*`, written as tokens) and the index after it; "" for none."""
    parts = []
    while at < len(tokens) and (tokens[at].type == tokenize.NAME and tokens[at].string != "with"
                                or tokens[at].string == "*"):
        parts.append(tokens[at].string)
        at += 1
    return "".join(parts), at
