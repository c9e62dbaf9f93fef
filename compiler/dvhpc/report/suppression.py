"""Silencing, applied once for every command (`dvhpc.pipeline.check`): `# dvhpc: ignore[CODE]` on
a finding's line, or `lint: {ignore: [CODE]}` in the file it is in (a base layer's list does not
silence the sites that extend it). A rule that may not be silenced stays counted and says why."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace

from dvhpc.report.diagnostics import Note, Report

IGNORE_COMMENT = re.compile(r"#\s*dvhpc:\s*ignore\[([A-Z0-9,\s]+)\]")


def _ignored_on_line(report: Report, file: str, line: int) -> set[str]:
    lines = report.sources.get(file)
    if not lines or not 1 <= line <= len(lines):
        return set()
    return {code.strip() for match in IGNORE_COMMENT.finditer(lines[line - 1]) for code in match.group(1).split(",")}


def apply_suppressions(report: Report, ignored_in_file: Mapping[str, set[str]]) -> None:
    """Mark the findings an ignore names as silenced (or, for a rule that may not be silenced, add a
    note that says so); `ignored_in_file` is each spec file's `lint.ignore`. Idempotent."""
    for index, diag in enumerate(report.items):
        if diag.suppressed:
            continue
        named = set(ignored_in_file.get(diag.location.file, ())) | _ignored_on_line(
            report, diag.location.file, diag.location.line)
        if diag.code not in named:
            continue
        rule = diag.rule
        if rule.silenceable:
            report.items[index] = replace(diag, suppressed=True)
            continue
        refusal = Note(f"{diag.code} cannot be silenced: {rule.why_not_silenceable}")
        if refusal not in diag.notes:
            report.items[index] = replace(diag, notes=diag.notes + (refusal,))
