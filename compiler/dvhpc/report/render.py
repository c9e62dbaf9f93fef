"""Renderers: one per output format, each turning a list of diagnostics into text."""

from __future__ import annotations

import json

from dvhpc.report.diagnostics import Diagnostic, Severity
from dvhpc.report.textsafe import printable

FORMATS = ("text", "json", "github", "sarif")

_COLOURS = {Severity.ERROR: "\033[1;31m", Severity.WARNING: "\033[1;33m", Severity.INFO: "\033[1;36m"}
_RESET, _BOLD, _BLUE = "\033[0m", "\033[1m", "\033[1;34m"


def safe(text: object) -> str:
    """Text for any output: control and bidi characters as visible escapes (\\x1b, \\u202e), and
    the undecodable bytes of a file name as \\xNN, so printing it can never fail."""
    return printable(text)


def _source_line(diag: Diagnostic, sources: dict[str, list[str]]) -> str | None:
    if not diag.show_source:
        return None
    lines = sources.get(diag.location.file)
    if not lines or not 1 <= diag.location.line <= len(lines):
        return None
    return lines[diag.location.line - 1].expandtabs(1).rstrip("\n")


def text(diags: list[Diagnostic], sources: dict[str, list[str]], colour: bool = False) -> str:
    def paint(code: str, s: str) -> str:
        return f"{code}{s}{_RESET}" if colour else s

    out = []
    for diag in diags:
        loc = diag.location
        severity = diag.severity.value + (" (ignored)" if diag.suppressed else "")
        label = paint(_COLOURS[diag.severity], f"{severity}[{diag.code}]")
        head = f"{safe(loc)}: {label}: {paint(_BOLD, safe(diag.message))}"
        out.append(head)
        line = _source_line(diag, sources)
        if line is not None and len(line) <= 400:
            gutter = max(4, len(str(loc.line)))
            if loc.end_line == loc.line and loc.end_column >= loc.column:
                end = loc.end_column
            elif loc.end_line > loc.line:
                end = len(line)  # a span over several lines: underline to the end of the first
            else:
                end = loc.column  # a point
            start = min(loc.column - 1, len(line))
            # escapes widen the line: measure the caret on the text as printed
            before, marked = safe(line[:start]), safe(line[start:max(start, min(end, len(line)))])
            out.append(paint(_BLUE, f" {loc.line:>{gutter}} | ") + safe(line))
            out.append(paint(_BLUE, f" {' ' * gutter} | ") + " " * (len(before) + loc.column - 1 - start)
                       + paint(_COLOURS[diag.severity], "^" * max(1, len(marked))))
        for note in diag.notes:
            where = f"{safe(note.location)}: " if note.location else ""
            out.append(f"  = note: {where}{safe(note.message)}")
        if diag.hint:
            out.append(f"  = help: {safe(diag.hint)}")
    return "\n".join(out)


def as_dict(diag: Diagnostic) -> dict[str, object]:
    loc = diag.location
    return {
        "file": safe(loc.file),
        "line": loc.line,
        "column": loc.column,
        "end_line": loc.end_line or loc.line,
        "end_column": loc.end_column or loc.column,
        "severity": diag.severity.value,
        "code": diag.code,
        "rule": diag.rule.name,
        "message": safe(diag.message),
        "hint": safe(diag.hint) if diag.hint else diag.hint,
        "notes": [
            {"message": safe(n.message), **({"file": safe(n.location.file), "line": n.location.line,
                                             "column": n.location.column} if n.location else {})}
            for n in diag.notes
        ],
        "suppressed": diag.suppressed,
        "fields": safe_fields(diag.fields),
    }


def safe_fields(value: object) -> object:
    """A rule's fields for JSON: spec text escaped as everywhere, numbers kept as numbers."""
    if isinstance(value, dict):
        return {safe(k): safe_fields(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [safe_fields(v) for v in value]
    if value is None or isinstance(value, (bool, int, float)):
        return value
    return safe(value)


def json_(diags: list[Diagnostic]) -> str:
    return json.dumps([as_dict(d) for d in diags], indent=2)


def _gh_escape(value: str, *, prop: bool = False) -> str:
    value = value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if prop:
        value = value.replace(":", "%3A").replace(",", "%2C")
    return value


def github(diags: list[Diagnostic]) -> str:
    kinds = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}
    out = []
    for diag in diags:
        if diag.suppressed:
            continue
        loc = diag.location
        props = [f"file={_gh_escape(safe(loc.file), prop=True)}", f"line={loc.line}", f"col={loc.column}"]
        if loc.end_line:
            props.append(f"endLine={loc.end_line}")
        if loc.end_line == loc.line and loc.end_column:
            props.append(f"endColumn={loc.end_column}")
        props.append(f"title={diag.code}")
        message = safe(diag.message) + (f"\n{safe(diag.hint)}" if diag.hint else "")
        out.append(f"::{kinds[diag.severity]} {','.join(props)}::{_gh_escape(message)}")
    return "\n".join(out)
