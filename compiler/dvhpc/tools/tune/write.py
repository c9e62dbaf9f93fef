"""`dvhpc tune --write`: each proposal written where its value comes from, as a located text edit.

The place is the one `explain` shows (the value's origin): the rule's own key, or the set (or the
defaults) it takes the value from, which changes the other rules that take it from there too (the
largest proposal of the tuned rules that share it is written, and that is said). A value no layer
of this spec sets (the engine's default, or a base file this spec extends) is added to the rule's own
entry. Only the value's characters change (its quotes kept), so comments, order and layout stay.
The edited text must validate and resolve to the proposed values, or nothing is written.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from dvhpc.frontend.files import read_file
from dvhpc.frontend.layers import Layers, SpecLoader
from dvhpc.model import keys
from dvhpc.report.diagnostics import Location
from dvhpc.tools.tune.model import TuneResult
from dvhpc.tools.tune.proposal import ENGINE_DEFAULT


class WriteRefused(Exception):
    """The edit would not give a valid spec that means the proposal (DV702); nothing was written."""


@dataclass
class Edit:
    """One value to write: at `location` (replace the value) or into `rule`'s entry (insert)."""

    key: str
    value: object
    rules: list[str]
    location: Location | None = None
    entry: Location | None = None  # the rule's entry, for an insert
    origin: str = ""
    shared_with: tuple[str, ...] = ()


@dataclass
class Plan:
    edits: list[Edit] = field(default_factory=list)
    manual: list[str] = field(default_factory=list)  # what must be written by hand, and why

    def lines(self) -> list[str]:
        out = []
        for edit in self.edits:
            where = f"{edit.origin} at {edit.location}" if edit.location else f"added to rule {edit.rules[0]}"
            shared = f"; also changes rule(s) {', '.join(edit.shared_with)} (shared)" if edit.shared_with else ""
            out.append(f"{'/'.join(edit.rules)}: {edit.key} -> {edit.value} ({where}){shared}")
        return out


def plan(result: TuneResult, layers: Layers) -> Plan:
    spec = result.spec
    toml = spec.lower().endswith(".toml")
    found = Plan()
    by_place: dict[tuple, Edit] = {}
    for rule in result.rules:
        for m in rule.measures:
            if not m.changes:
                continue
            loc = m.location
            if loc is not None and m.origin != ENGINE_DEFAULT and loc.file == spec:
                place = (loc.file, loc.line, loc.column)
                edit = by_place.get(place)
                if edit is None:
                    edit = by_place[place] = Edit(m.key, m.proposed, [], location=loc, origin=m.origin,
                                                  shared_with=m.shared_with)
                    found.edits.append(edit)
                edit.rules.append(rule.rule)
                if m.proposed > edit.value:  # type: ignore[operator]  # the same key: one unit type
                    edit.value = m.proposed
                continue
            path = ("resources", "rules", rule.rule)
            entry = layers.where(path) if layers.defines(path) else None
            if toml or entry is None or entry.file != spec:
                why = "a TOML spec" if toml else "the rule has no entry in this spec"
                found.manual.append(f"{rule.rule}: add `{m.key}: {m.proposed}` to its entry by hand ({why}; "
                                    f"the value comes from {m.origin})")
                continue
            found.edits.append(Edit(m.key, m.proposed, [rule.rule], entry=entry, origin=m.origin))
    for edit in found.edits:  # a shared place: the other rules are those not tuned here
        edit.shared_with = tuple(r for r in edit.shared_with if r not in edit.rules)
    return found


def edited_text(text: str, edits: list[Edit]) -> str:
    """`text` with every edit applied, from the last place to the first (earlier places stay put)."""
    lines = text.splitlines(keepends=True)

    def order(edit: Edit) -> tuple[int, int]:
        loc = edit.location or edit.entry
        assert loc is not None
        return loc.line, loc.column

    for edit in sorted(edits, key=order, reverse=True):
        if edit.location is not None:
            loc = edit.location
            line = lines[loc.line - 1]
            end = _token_end(line, loc.column - 1)
            old = line[loc.column - 1:end]
            new = f"{old[0]}{edit.value}{old[0]}" if old[:1] in ("'", '"') else str(edit.value)
            lines[loc.line - 1] = line[:loc.column - 1] + new + line[end:]
            continue
        entry = edit.entry
        assert entry is not None
        first = lines[entry.line - 1]
        start = first[entry.column - 1:]
        if start.startswith("{"):  # a flow mapping: before its closing brace
            row, close = _closing_brace(lines, entry.line - 1, entry.column - 1)
            last = lines[row]
            lines[row] = last[:close].rstrip() + f", {edit.key}: {edit.value}" + last[close:]
        elif entry.end_line > entry.line or first[:entry.column - 1].strip() == "":  # a block mapping
            lines.insert(entry.line - 1, " " * (entry.column - 1) + f"{edit.key}: {edit.value}\n")
        else:  # `rule: set_name`
            old = first[entry.column - 1:entry.end_column]
            lines[entry.line - 1] = (first[:entry.column - 1] + f"{{use: {old}, {edit.key}: {edit.value}}}"
                                     + first[entry.end_column:])
    return "".join(lines)


def _token_end(line: str, start: int) -> int:
    """The end (exclusive) of the scalar at `start`: its closing quote, else before `,` `}` `]` or ` #`."""
    quote = line[start]
    if quote in ("'", '"'):
        index = start + 1
        while index < len(line):
            if line[index] == "\\" and quote == '"':
                index += 2
                continue
            if line[index] == quote:
                if quote == "'" and line[index + 1:index + 2] == "'":  # '' inside single quotes
                    index += 2
                    continue
                return index + 1
            index += 1
        return len(line.rstrip("\r\n"))
    end = start
    while end < len(line) and line[end] not in ",}]\r\n" and line[end:end + 2] != " #":
        end += 1
    return len(line[:end].rstrip())


def _closing_brace(lines: list[str], row: int, column: int) -> tuple[int, int]:
    """(line index, column index) of the brace closing the flow mapping opened at (row, column)."""
    depth, quote = 0, ""
    while row < len(lines):
        line = lines[row]
        while column < len(line):
            char = line[column]
            if quote:
                quote = "" if char == quote else quote
            elif char in ("'", '"'):
                quote = char
            elif char == "#" and (column == 0 or line[column - 1] in " \t"):
                break
            elif char in "{[":
                depth += 1
            elif char in "}]":
                depth -= 1
                if depth == 0:
                    return row, column
            column += 1
        row, column = row + 1, 0
    raise WriteRefused("the rule's flow mapping has no closing brace")


def write(result: TuneResult, found: Plan) -> str:
    """Apply `found` to the spec file; returns the new text. WriteRefused when it does not validate
    or does not mean the proposal; the file is then unchanged."""
    from dvhpc.pipeline import check

    spec = Path(result.spec)
    old = read_file(spec).decode("utf-8")
    new = edited_text(old, found.edits)
    if new == old:
        return old
    target = spec.resolve()

    def reader(path: Path | str) -> bytes:
        return new.encode("utf-8") if Path(path).resolve() == target else read_file(path)

    checked = check(result.spec, SpecLoader(reader))
    if not checked.ok or checked.site is None:
        problems = "; ".join(str(d.message) for d in checked.report.sorted()[:3])
        raise WriteRefused(f"the edited spec would not validate ({problems}); nothing written")
    for edit in found.edits:
        for rule in edit.rules:
            value = checked.site.rules[rule].value(keys.BY_NAME[edit.key])
            if value != edit.value:
                raise WriteRefused(f"after the edit rule {rule} would have {edit.key} {value}, not {edit.value}; "
                                   "nothing written")
    _replace(spec, new)
    return new


def _replace(path: Path, text: str) -> None:
    """Write atomically: a temporary file beside it, then a rename (the mode kept)."""
    mode = path.stat().st_mode & 0o7777
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            out.write(text)
        os.chmod(temp, mode)
        os.replace(temp, path)
    except BaseException:
        if os.path.exists(temp):
            os.unlink(temp)
        raise
