"""TOML: tomllib's data, with best-effort positions of keys and values (tomllib keeps none)."""

from __future__ import annotations

import functools
import re

from dvhpc.frontend.document import Document, PathT, split_lines, text_location
from dvhpc.frontend.unsafe_text import (
    BREAK_HINT,
    MAX_DIGITS,
    TOO_LONG_INT,
    ambiguous_break_in_value,
    long_number,
    long_number_message,
    refuse_yaml_1_1_breaks,
)
from dvhpc.report.diagnostics import Location, Report

_TOML_TABLE = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?")
_TOML_KEY_PART = r"""(?:[A-Za-z0-9_-]+|\"[^\"]*\"|'[^']*')"""  # bare, "basic" or 'literal'
_TOML_KEY = re.compile(rf"^\s*({_TOML_KEY_PART}(?:\s*\.\s*{_TOML_KEY_PART})*)\s*=")
_TOML_INLINE_KEY = re.compile(r"(?:^|[{,])\s*([A-Za-z0-9_-]+|\"[^\"]*\")\s*=")


@functools.lru_cache(maxsize=4096)  # the same keys and tables, line after line and spec after spec
def _toml_key_parts(text: str) -> tuple[str, ...]:
    parts = re.findall(r"\"[^\"]*\"|'[^']*'|[A-Za-z0-9_-]+", text)
    return tuple(_toml_basic_string(p) if p[:1] == '"' else p[1:-1] if p[:1] == "'" else p for p in parts)


def _toml_basic_string(quoted: str) -> str:
    """A double-quoted TOML key as the parser reads it (escapes decoded), for its position."""
    import tomllib

    try:
        return tomllib.loads(f"k = {quoted}")["k"]
    except tomllib.TOMLDecodeError:
        return quoted[1:-1]


def _toml_positions(doc: Document) -> None:
    """Best-effort key positions for TOML (tomllib keeps none): tables, dotted keys, inline keys."""
    table: PathT = ()
    for number, line in enumerate(doc.lines, start=1):
        header = _TOML_TABLE.match(line)
        if header and not _TOML_KEY.match(line):
            table = _toml_key_parts(header.group(2))
            column = line.index(header.group(2)) + 1
            span = (number, column, number, column + len(header.group(2)) - 1)
            doc.keys.setdefault(table, span)
            doc.values.setdefault(table, span)
            continue
        assignment = _TOML_KEY.match(line)
        if not assignment:
            continue
        path = table + _toml_key_parts(assignment.group(1))
        column = assignment.start(1) + 1
        doc.keys.setdefault(path, (number, column, number, assignment.end(1)))
        rest = line[assignment.end():]
        value = rest.lstrip()
        value_col = assignment.end() + 1 + (len(rest) - len(value))
        doc.values.setdefault(path, (number, value_col, number, max(value_col, len(line.rstrip()))))
        if value.startswith("{"):
            for inner in _TOML_INLINE_KEY.finditer(rest):
                key = inner.group(1).strip('"')
                col = assignment.end() + inner.start(1) + 1
                span = (number, col, number, col + len(inner.group(1)) - 1)
                inner_path = path + (key,)
                doc.keys.setdefault(inner_path, span)
                doc.values.setdefault(inner_path, span)


def load_toml(text: str, display: str, report: Report) -> Document | None:
    import tomllib

    doc = Document(display, None, lines=split_lines(text))
    if not refuse_yaml_1_1_breaks(text, display, report):
        return None
    try:
        doc.data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        match = re.search(r"\(at line (\d+), column (\d+)\)", message)
        loc = Location(display, int(match.group(1)), int(match.group(2))) if match else Location(display, 1, 1)
        report.add("DV003", f"TOML syntax error: {re.sub(r' [(]at .*[)]$', '', message)}", loc)
        return None
    except RecursionError:
        report.add("DV005", "TOML document is nested too deeply", Location(display, 1, 1))
        return None
    except ValueError:  # an integer too long to convert (tomllib converts while it parses)
        long = long_number(text)
        report.add("DV005", long_number_message(long[1]) if long else "a number is too long to convert",
                   text_location(text, long[0], display) if long else Location(display, 1, 1))
        return None
    doc.values[()] = (1, 1)
    _toml_positions(doc)
    if not _refuse_toml_values(doc, doc.data, report):
        return None
    return doc


def _refuse_toml_values(doc: Document, data: object, report: Report) -> bool:
    """What YAML refuses per scalar, for TOML: a YAML 1.1 line break written as an escape (DV008),
    a number of more than MAX_DIGITS digits (DV005), in keys and values.

    A loop, not recursion: tomllib accepts tables nested deeper than Python's recursion limit."""
    ok = True
    pending: list[tuple[PathT, object]] = [((), data)]
    while pending:
        path, node = pending.pop()
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        for key, value in items:
            if isinstance(value, (dict, list)):
                pending.append((path + (key,), value))
            if not (_may_be_refused(key) or _may_be_refused(value)):
                continue  # nearly every key and value
            for text, is_key in ((key, True), (value, False)):
                name = ambiguous_break_in_value(text) if isinstance(text, str) else None
                if name:
                    report.add("DV008", f"{'key' if is_key else 'text'} holds {name}, a line break to YAML 1.1 "
                               "readers such as Snakemake, not to YAML 1.2", doc.where(path + (key,), key=is_key),
                               hint=BREAK_HINT)
                    ok = False
                digits = _toml_digits(text)
                if digits > MAX_DIGITS:
                    report.add("DV005", long_number_message(digits), doc.where(path + (key,), key=is_key))
                    ok = False
    return ok


def _may_be_refused(value: object) -> bool:
    """Whether a key or value can hold what _refuse_toml_values refuses: a string not ASCII (a line
    break) or longer than MAX_DIGITS (a long number), an int of more than MAX_DIGITS digits."""
    if isinstance(value, str):
        return len(value) > MAX_DIGITS or not value.isascii()
    return isinstance(value, int) and abs(value) >= TOO_LONG_INT


def _toml_digits(value: object) -> int:
    """Digits of the longest-looking number in a TOML key or value (an int's own, a string's first long run)."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= TOO_LONG_INT:
        return len(str(abs(value)))  # tomllib refused those over 4,300 digits already
    long = long_number(value) if isinstance(value, str) else None
    return long[1] if long else 0
