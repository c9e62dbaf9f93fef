"""`dvhpc diff`'s output: a change as a line, and the text, Markdown, JSON and unified forms."""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from dvhpc.report.textsafe import markdown_code, printable
from dvhpc.tools.diff.changes import _FIXED_VIA, AREAS, Change, FieldChange

if TYPE_CHECKING:
    from dvhpc.tools.diff import View


def _same(text: str) -> str:
    return text


_COUNTS = re.compile(r"-?[0-9]+ → -?[0-9]+ [A-Za-z]+")  # "81920 → 122880 MiB": nothing to quote


def _field_text(f: FieldChange, quote: Callable[[str], str]) -> str:
    units = f.units if f.units is None or _COUNTS.fullmatch(f.units) else quote(f.units)
    via_text = f.via if f.via is None or f.via in _FIXED_VIA else f"via {quote(f.via.removeprefix('via '))}"
    via = (f" ({units})" if units else "") + (f" ({via_text})" if via_text else "")
    if f.old is None:
        return f"{f.key} {quote(f.new or '')}{via}"
    if f.new is None:
        return f"{f.key} {quote(f.old)} (removed){via}"
    return f"{f.key} {quote(f.old)} → {quote(f.new)}{via}"


def change_line(change: Change, quote: Callable[[str], str] = _same) -> str:
    """One change as a line; `quote` wraps every name and value that came from a spec or a folder
    (Markdown: a code span), never the words around them."""
    item = quote(change.item)
    if change.area == "rules":
        if change.kind == "removed":
            return f"{item}: removed"
        if change.kind == "added":
            return f"{item}: added (" + "; ".join(f"{k} {quote(v)}" for k, v in change.unchanged) + ")"
        parts = [_field_text(f, quote) for f in change.fields]
        parts += [f"{k} {quote(v)} (unchanged)" for k, v in change.unchanged]
        return f"{item}: " + "; ".join(parts)
    if change.area == "files":
        return f"{item}: {change.kind}"
    if change.area == "partitions" and change.kind == "changed":
        return f"{item}: " + "; ".join(_field_text(f, quote) for f in change.fields)
    f = change.fields[0]
    old, new = f.old or "", f.new or ""  # a mapping change: added has new, removed has old, changed both
    if change.kind == "added":
        return f"{item}: added ({quote(new)})"
    if change.kind == "removed":
        return f"{item}: removed (was {quote(old)})"
    return f"{item}: {quote(old)} → {quote(new)}"


def render_text(changes: list[Change], old: str, new: str) -> str:
    """For a terminal: each line's control and bidi characters escaped (a value cannot move the
    cursor, recolour the screen or start a line of its own)."""
    if not changes:
        return printable(f"no effective change between {old} and {new}") + "\n"
    out = [f"--- {old}", f"+++ {new}"]
    for area in AREAS:
        lines = [change_line(c) for c in changes if c.area == area]
        if lines:
            out.append(f"{area}:")
            out += [f"  {line}" for line in lines]
    return "\n".join(printable(line) for line in out) + "\n"


def render_markdown(changes: list[Change], old: str, new: str) -> str:
    """For a pull-request comment: every name and value is a code span, so none renders as an
    image, HTML, a link or an @mention, and none breaks the list."""
    if not changes:
        return f"**dvhpc diff**: no effective change between {markdown_code(old)} and {markdown_code(new)}.\n"
    out = [f"**dvhpc diff** {markdown_code(old)} → {markdown_code(new)}", ""]
    for area in AREAS:
        lines = [change_line(c, markdown_code) for c in changes if c.area == area]
        if lines:
            out += [f"### {area}", ""] + [f"- {line}" for line in lines] + [""]
    return "\n".join(out)


def as_json(changes: list[Change], old: str, new: str) -> str:
    return json.dumps({
        "old": old, "new": new, "changed": bool(changes),
        "changes": [{"area": c.area, "item": c.item, "kind": c.kind,
                     "fields": [{"key": f.key, "old": f.old, "new": f.new, "via": f.via} for f in c.fields],
                     "unchanged": [{"key": k, "value": v} for k, v in c.unchanged]} for c in changes],
    }, indent=2)


def unified(old: View, new: View) -> str:
    out: list[str] = []
    for name in sorted(set(old.files) | set(new.files)):
        a = old.files.get(name, "").splitlines(keepends=True)
        b = new.files.get(name, "").splitlines(keepends=True)
        out += difflib.unified_diff(a, b, f"a/{name}", f"b/{name}")
    return "".join(out)
