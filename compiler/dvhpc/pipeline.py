"""The compiler pipeline as library calls: load -> merge layers -> validate -> resolve -> the spec's
own limits (-> the lint checks, for `dvhpc lint`) -> silence what the spec ignores.

The CLI and the tests call these; each stage only reads what the previous one produced. Silencing
is applied here, once, so `validate`, `lint`, `compile`, `diff` and `explain` agree on it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from dvhpc.frontend.layers import Layers, SpecLoader
from dvhpc.model.site import Site
from dvhpc.report.diagnostics import Report
from dvhpc.report.suppression import apply_suppressions

# A later stage's checks of a valid site (lint): they add findings to the report.
SiteChecks = Callable[[Layers, Site, Report], None]


@dataclass
class Checked:
    """The result of checking one spec file: the model (None when invalid) and what was found."""

    spec: str
    layers: Layers | None
    site: Site | None
    report: Report

    @property
    def ok(self) -> bool:
        return self.site is not None and not self.report.has_errors

    @property
    def abstract(self) -> bool:
        return bool(self.layers and isinstance(self.layers.data, dict) and self.layers.data.get("abstract"))


def ignored_codes(layers: Layers | None) -> dict[str, set[str]]:
    """Each spec file's own `lint.ignore` (as written in that file, not merged)."""
    ignored: dict[str, set[str]] = {}
    for doc in layers.docs if layers else ():
        section = doc.data.get("lint") if isinstance(doc.data, dict) else None
        codes = section.get("ignore") if isinstance(section, dict) else None
        ignored[doc.file] = {code for code in codes if isinstance(code, str)} if isinstance(codes, list) else set()
    return ignored


def check(spec: str, loader: SpecLoader | None = None, *, checks: SiteChecks | None = None) -> Checked:
    """Load, merge, validate and resolve one spec, run `checks` on a valid concrete site, and
    silence what the spec ignores; never raises for bad input."""
    checked = _check(spec, loader, checks)
    apply_suppressions(checked.report, ignored_codes(checked.layers))
    return checked


def _check(spec: str, loader: SpecLoader | None, checks: SiteChecks | None) -> Checked:
    from dvhpc.frontend.schema import validate
    from dvhpc.resolve.resolver import resolve
    from dvhpc.resolve.unknown import unknown_values
    from dvhpc.rules.checks import check_spec

    report = Report()
    layers = (loader or SpecLoader()).load(Path(spec), report, display=spec)
    if layers is None:
        return Checked(spec, None, None, report)
    unknown: frozenset[tuple] = frozenset()
    if not validate(layers, report):
        bad = unknown_values(layers.data)  # bad values: resolved as unknown, every problem in one run
        if bad is None:
            return Checked(spec, layers, None, report)
        unknown = bad
    site = resolve(layers, report, spec, unknown)
    invalid = report.has_errors  # none of these can be silenced: the site is checked, never output
    checked = Checked(spec, layers, site, report)
    if not checked.abstract:
        check_spec(layers, site, report)  # errors that can be silenced: silencing comes after
    if invalid:
        return Checked(spec, layers, None, report)
    if checks is not None and not checked.abstract:
        checks(layers, site, report)
    return checked
