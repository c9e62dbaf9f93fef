"""Renderers: one per output format, each turning a list of diagnostics into text."""

from __future__ import annotations

import json

from dvhpc.diagnostics import Diagnostic, Severity

FORMATS = ("text", "json", "github", "sarif")

_COLOURS = {Severity.ERROR: "\033[1;31m", Severity.WARNING: "\033[1;33m", Severity.INFO: "\033[1;36m"}
_RESET, _BOLD, _BLUE = "\033[0m", "\033[1m", "\033[1;34m"


def _source_line(diag: Diagnostic, sources: dict[str, list[str]]) -> str | None:
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
        head = f"{loc}: {paint(_COLOURS[diag.severity], f'{severity}[{diag.code}]')}: {paint(_BOLD, diag.message)}"
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
            width = max(1, min(end, len(line)) - loc.column + 1)
            out.append(paint(_BLUE, f" {loc.line:>{gutter}} | ") + line)
            out.append(paint(_BLUE, f" {' ' * gutter} | ") + " " * (loc.column - 1) + paint(_COLOURS[diag.severity], "^" * width))
        for note in diag.notes:
            where = f"{note.location}: " if note.location else ""
            out.append(f"  = note: {where}{note.message}")
        if diag.hint:
            out.append(f"  = help: {diag.hint}")
    return "\n".join(out)


def as_dict(diag: Diagnostic) -> dict:
    loc = diag.location
    return {
        "file": loc.file,
        "line": loc.line,
        "column": loc.column,
        "end_line": loc.end_line or loc.line,
        "end_column": loc.end_column or loc.column,
        "severity": diag.severity.value,
        "code": diag.code,
        "message": diag.message,
        "hint": diag.hint,
        "notes": [
            {"message": n.message, **({"file": n.location.file, "line": n.location.line, "column": n.location.column}
                                      if n.location else {})}
            for n in diag.notes
        ],
        "suppressed": diag.suppressed,
    }


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
        props = [f"file={_gh_escape(loc.file, prop=True)}", f"line={loc.line}", f"col={loc.column}"]
        if loc.end_line:
            props.append(f"endLine={loc.end_line}")
        if loc.end_line == loc.line and loc.end_column:
            props.append(f"endColumn={loc.end_column}")
        props.append(f"title={diag.code}")
        message = diag.message + (f"\n{diag.hint}" if diag.hint else "")
        out.append(f"::{kinds[diag.severity]} {','.join(props)}::{_gh_escape(message)}")
    return "\n".join(out)
