"""`dvhpc compile` as a library call: check each spec, emit its files, write or compare them."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

from dvhpc.emit import GeneratedFile, emit_site
from dvhpc.frontend.layers import Layers, SpecLoader
from dvhpc.model.site import Site
from dvhpc.output.writer import MANIFEST, Plan, WriteError, hand_edit_report, manifest_text, plan, write_site
from dvhpc.pipeline import Checked, check
from dvhpc.report.diagnostics import Location, Report


@dataclass
class SiteResult:
    spec: str
    checked: Checked
    plan: Plan | None = None
    skipped: str | None = None  # why nothing was done (abstract layer, errors)
    written: bool = False
    files: dict[str, GeneratedFile] | None = None  # what compile generated (kept with --check for the drift summary)


def _relative(path: str, base: Path) -> str:
    """A path as seen from `base` (the project folder): the same on every machine and cwd."""
    return Path(os.path.relpath(os.path.abspath(path), os.path.abspath(base))).as_posix()


def _valid(checked: Checked) -> tuple[Site, Layers]:
    """The site and its layers of a spec that checked clean; output is only made from those."""
    if checked.site is None or checked.layers is None:
        raise ValueError(f"{checked.spec} has errors: no files are generated from it")
    return checked.site, checked.layers


def site_for_output(checked: Checked, out_root: Path) -> Site:
    """The site with its spec files named as seen from the project (the parent of `out_root`)."""
    base = out_root.parent
    site, layers = _valid(checked)
    return replace(site, spec_file=_relative(checked.spec, base),
                   input_files=tuple(dict.fromkeys(_relative(d.file, base) for d in layers.docs)))


def generate(checked: Checked, out_root: Path) -> dict[str, GeneratedFile]:
    """All files of one valid site, MANIFEST.json included."""
    site = site_for_output(checked, out_root)
    files = emit_site(site)
    inputs = {_relative(d.file, out_root.parent): d.sha256 for d in _valid(checked)[1].docs}
    files[MANIFEST] = GeneratedFile(manifest_text(site.name, inputs, files))
    return files


def compile_specs(specs: list[str], out_root: Path, *, check_only: bool = False, force: bool = False,
                  report: Report | None = None) -> list[SiteResult]:
    report = report if report is not None else Report()
    loader = SpecLoader()
    results: list[SiteResult] = []
    owners: dict[str, str] = {}
    for spec in specs:
        checked = check(spec, loader)
        report.extend(checked.report)
        result = SiteResult(spec, checked)
        results.append(result)
        if not checked.ok:
            result.skipped = "has errors; nothing written"
            continue
        if checked.abstract:
            result.skipped = "abstract layer; nothing to compile"
            continue
        site, layers = _valid(checked)
        name = site.name
        if name in owners:
            report.add("DV402", f"site '{name}' is also compiled from {owners[name]}; both would write "
                       f"{out_root / name}", layers.where(("site",)))
            result.skipped = "duplicate site name"
            continue
        owners[name] = spec
        files = generate(checked, out_root)
        if check_only:
            result.plan = plan(out_root / name, files)
            result.files = files
            continue
        try:
            result.plan = write_site(out_root, name, files, force=force)
        except (WriteError, OSError) as exc:
            message = str(exc) if isinstance(exc, WriteError) else \
                f"cannot write {out_root / name}: {exc.strerror or exc}"
            report.add("DV402", message, Location(spec, 1, 1))
            result.skipped = "write failed"
            continue
        if result.plan.hand_edited and not force:
            hand_edit_report(result.plan, report)
            result.skipped = "hand-edited files; nothing written"
        else:
            result.written = result.plan.stale
    return results

