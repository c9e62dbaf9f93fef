"""Diagnostics are data: a declared rule (`dvhpc.report.codes`), a message, a location, a hint
and the rule's structured fields.

Every stage reports problems by appending `Diagnostic`s to a `Report`; the report also holds the
text of every file the loader read (its source map), so renderers (`dvhpc.report.render`) quote
exactly what was checked, never a file re-read from disk.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from dvhpc.report.codes import RULES
from dvhpc.report.rule import Rule, Severity

__all__ = ["Diagnostic", "Location", "Note", "Report", "Rule", "Severity", "closest", "dotted", "rule"]


def rule(code: str) -> Rule:
    """The declaration of `code` (KeyError for a code nobody declared: a bug)."""
    return RULES[code]


@dataclass(frozen=True, order=True)
class Location:
    """A span in a source file; lines and columns are 1-based, `end_*` inclusive of the last char."""

    file: str
    line: int = 1
    column: int = 1
    end_line: int = 0
    end_column: int = 0

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True)
class Note:
    message: str
    location: Location | None = None


@dataclass(frozen=True)
class Diagnostic:
    code: str
    message: str
    location: Location
    hint: str | None = None
    notes: tuple[Note, ...] = ()
    suppressed: bool = False
    # the rule's own values (key, value, limit ...) for machine formats; not part of identity
    fields: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    # False where the location is in a file whose lines must not be quoted (not a spec, a FIFO)
    show_source: bool = True

    @property
    def rule(self) -> Rule:
        return RULES[self.code]

    @property
    def severity(self) -> Severity:
        """The rule's: a code has one severity (two severities are two rules)."""
        return RULES[self.code].severity

    def sort_key(self) -> tuple[str, int, int, str, str]:
        loc = self.location
        return (loc.file, loc.line, loc.column, self.code, self.message)


def dotted(path: Iterable[str | int]) -> str:
    """A spec path as people write it: resources.rules.x.slurm_extra[0]."""
    text = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")
    return text or "the top level"


def closest(word: str, candidates: Iterable[object], cutoff: float = 0.6) -> str | None:
    """The best did-you-mean candidate, or None."""
    matches = difflib.get_close_matches(word, sorted(map(str, candidates)), n=1, cutoff=cutoff)
    return matches[0] if matches else None


@dataclass
class Report:
    """Collects diagnostics from every stage of one run, and the source map: the lines of every
    file read, keyed by the name its Locations use (`sites/x.yaml`, `HEAD:sites/x.yaml`)."""

    items: list[Diagnostic] = field(default_factory=list)
    sources: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def merged(cls, reports: Iterable[Report]) -> Report:
        """One report of many (their items in order, their source maps together)."""
        out = cls()
        for report in reports:
            out.extend(report)
        return out

    def register(self, name: str, lines: list[str]) -> None:
        """Remember the text a file had when it was read, for snippets."""
        self.sources[name] = lines

    def add(
        self,
        code: str,
        message: str,
        location: Location,
        *,
        hint: str | None = None,
        notes: tuple[Note, ...] = (),
        show_source: bool = True,
        fields: dict[str, Any] | None = None,
    ) -> Diagnostic:
        diag = Diagnostic(
            code=code,
            message=message,
            location=location,
            hint=hint,
            notes=notes,
            show_source=show_source,
            fields=fields or {},
        )
        self.items.append(diag)
        return diag

    def extend(self, other: Report) -> None:
        self.items.extend(other.items)
        self.sources.update(other.sources)

    @property
    def has_errors(self) -> bool:
        return any(d.severity is Severity.ERROR and not d.suppressed for d in self.items)

    def sorted(self) -> list[Diagnostic]:
        seen: set[tuple[str, Location, str]] = set()
        unique: list[Diagnostic] = []
        for diag in sorted(self.items, key=Diagnostic.sort_key):
            key = (diag.code, diag.location, diag.message)
            if key not in seen:
                seen.add(key)
                unique.append(diag)
        return unique
