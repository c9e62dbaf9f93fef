"""The `dvhpc tune` command's work (the click command in cli.py only parses options).

Exit codes: 0 done (proposals or none), 1 the spec has errors or --write was refused, 2 an input
that cannot be read (DV701), sacct failing, or a --rule the spec does not have.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

import click

from dvhpc.report.diagnostics import Location, Report
from dvhpc.report.render import safe
from dvhpc.tools.tune import Options, TuneInputError, gather, problems_report, tune
from dvhpc.tools.tune.render import render_json, render_markdown, render_text

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2


def run_tune(spec: str, since: str | None, rules: list[str], from_paths: list[str], fmt: str, write_: bool,
             html_path: str | None, options: Options, emit: Callable) -> int:
    from dvhpc.pipeline import check

    checked = check(spec)
    site, layers = checked.site, checked.layers
    if not checked.ok or checked.abstract or site is None or layers is None:
        emit([d for d in checked.report.sorted() if not d.suppressed], "text", checked.report.sources)
        if checked.abstract:
            click.echo(f"{safe(spec)}: an abstract layer has no resolved rules", err=True)
        return EXIT_FINDINGS
    unknown = [r for r in rules if r not in site.rules]
    if unknown:
        click.echo(f"dvhpc tune: no rule {', '.join(map(safe, unknown))} in {safe(spec)}", err=True)
        return EXIT_USAGE
    report = Report()
    try:
        gathered = gather(site, from_paths, since)
    except TuneInputError as exc:
        report.add("DV701", str(exc), Location(exc.source, 1, 1), show_source=False)
        emit(report.sorted(), "text", report.sources)
        return EXIT_USAGE
    except (RuntimeError, ValueError) as exc:  # sacct failing; a --since of no known form
        click.echo(f"dvhpc tune: {safe(exc)}", err=True)
        return EXIT_USAGE
    problems_report(gathered.problems, report)
    result = tune(site, gathered, options, rules or None)
    emit(report.sorted(), "text", report.sources)
    text = {"json": render_json, "markdown": render_markdown}.get(fmt, render_text)(result)
    click.echo(text, nl=False)
    if html_path:
        from dvhpc.tools.tune.html import render_html

        _write_file(Path(html_path), render_html(result))
        click.echo(f"wrote {safe(html_path)}", err=True)
    if write_:
        return _write(result, layers, emit)
    return EXIT_OK


def _write(result, layers, emit: Callable) -> int:
    from dvhpc.tools.tune.write import WriteRefused, plan, write

    found = plan(result, layers)
    report = Report()
    for line in found.manual:
        report.add("DV703", line, Location(result.spec, 1, 1), show_source=False)
    try:
        if found.edits:
            write(result, found)
    except WriteRefused as exc:
        report.add("DV702", str(exc), Location(result.spec, 1, 1), show_source=False)
        emit(report.sorted(), "text", report.sources)
        return EXIT_FINDINGS
    emit(report.sorted(), "text", report.sources)
    for line in found.lines():
        click.echo(f"{safe(result.spec)}: {safe(line)}", err=True)
    if not found.edits:
        click.echo(f"{safe(result.spec)}: nothing to write", err=True)
    return EXIT_OK


def _write_file(path: Path, text: str) -> None:
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        temp.write_text(text, encoding="utf-8")
        os.replace(temp, path)
    except OSError as exc:
        temp.unlink(missing_ok=True)
        click.echo(f"dvhpc tune: cannot write {safe(path)}: {safe(exc.strerror or exc)}", err=True)
        sys.exit(EXIT_USAGE)
