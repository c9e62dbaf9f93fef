"""The compiler pipeline as library calls: load -> merge layers -> validate -> resolve.

The CLI and the tests call these; each stage only reads what the previous one produced.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dvhpc.report.diagnostics import Report
from dvhpc.frontend.layers import Layers, SpecLoader
from dvhpc.model.site import Site


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


def check(spec: str, loader: SpecLoader | None = None) -> Checked:
    """Load, merge, validate and resolve one spec; never raises for bad input."""
    from dvhpc.resolve.resolver import resolve
    from dvhpc.frontend.schema import validate

    report = Report()
    layers = (loader or SpecLoader()).load(Path(spec), report, display=spec)
    if layers is None:
        return Checked(spec, None, None, report)
    if not validate(layers, report):
        return Checked(spec, layers, None, report)
    site = resolve(layers, report, spec)
    if report.has_errors:
        return Checked(spec, layers, None, report)
    return Checked(spec, layers, site, report)
