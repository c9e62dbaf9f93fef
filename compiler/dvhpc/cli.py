"""The command line: thin click commands over library calls (imports stay lazy for start-up).

Just over 400 lines because it is one flat list of the eight subcommands' options and output, read
top to bottom like `dvhpc --help`; the work is in the modules each command calls.
"""

from __future__ import annotations

import os
import sys

import click

from dvhpc import __version__

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3
EXIT_INTERRUPTED = 130  # 128 + SIGINT, what shells report for Ctrl-C

format_option = click.option(
    "--format", "fmt", type=click.Choice(["text", "json", "github"]), default="text", show_default=True,
    help="Diagnostics format: text (colour on a TTY), json, or GitHub workflow annotations.",
)


def emit_diagnostics(diags, fmt: str, sources: dict[str, list[str]] | None = None) -> None:
    """Print diagnostics: text to stderr (like a compiler), machine formats to stdout. Snippets
    come from `sources` (a report's source map: the text each file had when it was read)."""
    from dvhpc.report import render

    if fmt == "json":
        click.echo(render.json_(diags))
    elif fmt == "github":
        if diags:
            click.echo(render.github(diags))
    elif fmt == "sarif":
        from dvhpc.report.sarif import sarif

        click.echo(sarif(diags))
    elif diags:
        colour = sys.stderr.isatty() and "NO_COLOR" not in os.environ
        click.echo(render.text(diags, sources or {}, colour=colour), err=True)


def shown(diags, fmt: str) -> list:
    """Silenced findings stay in the machine formats (marked), and leave text and annotations."""
    return diags if fmt in ("json", "sarif") else [d for d in diags if not d.suppressed]


def silenced_note(diags) -> str:
    count = sum(1 for d in diags if d.suppressed)
    return f" ({count} silenced)" if count else ""


def _drift(result, report) -> list[str]:
    """What a stale generated folder means differently from the spec (compile --check); a folder
    too broken to read is DV403 at its place."""
    from dvhpc.report.diagnostics import Diagnostic, Location
    from dvhpc.tools.diff import DiffError, drift

    site_dir = result.plan.site_dir
    try:
        return drift(site_dir, result.files, result.checked.site)
    except DiffError as exc:
        report.items.append(exc.diagnostic or Diagnostic("DV403", str(exc), Location(str(site_dir), 1, 1)))
        return []


def expand_specs(args: tuple[str, ...]) -> list[str]:
    """Spec arguments as files: a folder stands for its *.yaml, *.yml and *.toml files."""
    specs: list[str] = []
    for arg in args:
        if os.path.isdir(arg):
            found = sorted(name for name in os.listdir(arg) if name.endswith((".yaml", ".yml", ".toml")))
            if not found:
                raise click.UsageError(f"no spec files (*.yaml, *.yml, *.toml) in folder '{arg}'")
            specs += [os.path.join(arg, name) for name in found]
        else:
            specs.append(arg)
    return specs


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="dvhpc")
def cli() -> None:
    """Compile a site spec into a Snakemake SLURM profile, scripts and a data-path module."""


@cli.command()
@click.argument("specs", nargs=-1, required=True, metavar="SPEC|FOLDER...")
@format_option
def validate(specs: tuple[str, ...], fmt: str) -> None:
    """Check site specs against the schema and resolve them; report every problem."""
    from dvhpc.frontend.layers import SpecLoader
    from dvhpc.pipeline import check
    from dvhpc.report.diagnostics import Report
    from dvhpc.report.render import safe

    loader = SpecLoader()
    results = [check(spec, loader) for spec in expand_specs(specs)]
    # a base layer shared by several specs is reported once
    report = Report.merged(r.report for r in results)
    diags = report.sorted()
    emit_diagnostics(shown(diags, fmt), fmt, report.sources)
    if fmt == "text":
        for result in results:
            site = result.site
            if result.ok and site is not None:  # ok: the site resolved and nothing is an error
                kind = "abstract layer" if result.abstract else f"site '{site.name}'"
                counts = f"{len(site.rules)} rules, {len(site.partitions)} partitions"
                click.echo(f"{safe(result.spec)}: ok ({kind}, {counts})")
        failed = sum(not r.ok for r in results)
        if failed:
            click.echo(f"{failed} of {len(results)} spec(s) invalid{silenced_note(diags)}", err=True)
        elif silenced_note(diags):
            click.echo(f"{len(results)} spec(s) valid{silenced_note(diags)}")
    sys.exit(EXIT_OK if all(r.ok for r in results) else EXIT_FINDINGS)


@cli.command(name="compile")
@click.argument("specs", nargs=-1, required=True, metavar="SPEC|FOLDER...")
@click.option("--out", "out", default="generated", show_default=True, type=click.Path(file_okay=False),
              help="Output root; each site is written to OUT/<site>/.")
@click.option("--check", "check_only", is_flag=True,
              help="Write nothing; exit 1 and list the stale files if OUT is out of date.")
@click.option("--force", is_flag=True, help="Overwrite generated files that were edited by hand.")
@format_option
def compile_(specs: tuple[str, ...], out: str, check_only: bool, force: bool, fmt: str) -> None:
    """Validate site specs and write OUT/<site>/ (profile, resources, scripts, site_paths.py)."""
    from pathlib import Path

    from dvhpc.build import compile_specs
    from dvhpc.report.diagnostics import Report
    from dvhpc.report.render import safe

    report = Report()
    results = compile_specs(expand_specs(specs), Path(out), check_only=check_only, force=force, report=report)
    drifts = {id(result): _drift(result, report) for result in results
              if check_only and result.plan is not None and result.plan.stale}
    diags = report.sorted()
    emit_diagnostics(shown(diags, fmt), fmt, report.sources)
    if fmt == "text" and silenced_note(diags):
        click.echo(f"{len(results)} spec(s) checked{silenced_note(diags)}")

    def say(line: str, err: bool = False) -> None:
        # with --format json/sarif/github stdout holds only that document; the status goes to stderr
        click.echo(line, err=err or fmt != "text")

    stale = False
    for result in results:
        if result.skipped:
            say(f"{safe(result.spec)}: {result.skipped}",
                err=result.skipped.startswith(("has", "hand", "write", "dup")))
            continue
        plan = result.plan
        assert plan is not None, "build plans every spec it does not skip"
        where = plan.site_dir
        if check_only:
            if plan.stale:
                stale = True
                say(f"{where}: out of date")
                for line in drifts.get(id(result), []):
                    say(f"  {line}")
                for label, paths in (("missing", plan.added), ("differs", plan.changed), ("obsolete", plan.removed)):
                    for path in paths:
                        say(f"  {label}: {where / path}")
            else:
                say(f"{where}: up to date")
        elif result.written:
            counts = f"{len(plan.added)} added, {len(plan.changed)} changed, {len(plan.removed)} removed"
            say(f"{where}: wrote {len(plan.added) + len(plan.changed) + len(plan.unchanged)} files ({counts})")
        else:
            say(f"{where}: unchanged")
    failed = report.has_errors or any(r.skipped and not r.skipped.startswith("abstract") for r in results)
    sys.exit(EXIT_FINDINGS if failed or stale else EXIT_OK)


@cli.command()
@click.argument("specs", nargs=-1)
@click.option("--format", "fmt", type=click.Choice(["text", "json", "github", "sarif"]), default="text",
              show_default=True, help="Diagnostics format.")
@click.option("--workflow", type=click.Path(dir_okay=False),
              help="Snakefile to compare the spec's rules with. It is read as text (includes, modules, "
                   "use rule, localrules, checkpoints); nothing in it is run.")
@click.option("--workflow-exec", is_flag=True,
              help="Read --workflow with Snakemake's own parser instead. This EXECUTES the workflow's code "
                   "(its top-level Python and every included file) in a subprocess (timeout 120 s): "
                   "use it only on workflows you trust.")
@click.option("--strict", is_flag=True, help="Warnings fail too.")
@click.option("--shellcheck/--no-shellcheck", default=True, show_default=True,
              help="Run shellcheck over the scripts each spec generates.")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=None,
              help="Processes to lint many specs with  [default: the CPUs this process may use]")
@click.option("--no-cache", is_flag=True,
              help="Check every script again instead of reusing shellcheck results cached by content "
                   "(in $DVHPC_CACHE_DIR, else $XDG_CACHE_HOME/dvhpc or ~/.cache/dvhpc).")
@click.option("--cluster", "cluster", is_flag=False, flag_value="live", default=None, metavar="[FILE]",
              help="Check the specs against the cluster this runs on (partitions, limits, accounts, QOS), or "
                   "against FILE, a snapshot written by `dvhpc snapshot`.")
@click.option("--list-codes", is_flag=True, help="Print the catalogue of diagnostic codes and exit.")
@click.option("--explain", "explain_code", metavar="CODE",
              help="Print what a diagnostic code (DV301) or rule name means, with examples, and exit.")
def lint(specs: tuple[str, ...], fmt: str, workflow: str | None, workflow_exec: bool, strict: bool, shellcheck: bool,
         jobs: int | None, no_cache: bool, cluster: str | None, list_codes: bool, explain_code: str | None) -> None:
    """Validate specs and check resources against partitions, placeholders, options and more."""
    if list_codes or explain_code:
        from dvhpc.report.describe import explain_rule, list_rules

        if explain_code:
            text = explain_rule(explain_code)
            if text is None:
                raise click.BadParameter(f"no diagnostic code or rule named '{explain_code}' (see --list-codes)",
                                         param_hint="--explain")
            click.echo(text, nl=False)
        else:
            click.echo(list_rules(), nl=False)
        sys.exit(EXIT_OK)
    if cluster is not None and cluster.endswith((".yaml", ".yml", ".toml")):
        specs, cluster = (*specs, cluster), "live"  # `lint --cluster SPEC`: the spec, checked against the live cluster
    if not specs:
        raise click.UsageError("give at least one spec file (or --list-codes, --explain CODE)")
    if workflow_exec and not workflow:
        raise click.UsageError("--workflow-exec reads the Snakefile given with --workflow")
    from dvhpc.lint import failed, lint_specs
    from dvhpc.report.diagnostics import Report, Severity

    facts = _cluster_facts(cluster) if cluster is not None else None
    results = lint_specs(expand_specs(specs), workflow=workflow, shellcheck=shellcheck, jobs=jobs, cache=not no_cache,
                         workflow_exec=workflow_exec, cluster=facts)
    report = Report.merged(r.report for r in results)
    diags = report.sorted()
    emit_diagnostics(shown(diags, fmt), fmt, report.sources)
    bad = failed(results, strict)
    if fmt == "text":
        counts = {s: sum(1 for d in diags if d.severity is s and not d.suppressed) for s in Severity}
        summary = ", ".join(f"{n} {s.value}{'s' if n != 1 else ''}" for s, n in counts.items() if n) or "no problems"
        click.echo(f"{len(results)} spec(s) linted: {summary}{silenced_note(diags)}", err=bad)
    sys.exit(EXIT_FINDINGS if bad else EXIT_OK)


def _cluster_facts(source: str):
    """`--cluster`'s facts; a cluster that does not answer or an unreadable snapshot is exit 2."""
    from dvhpc.cluster.facts import ClusterFactsError
    from dvhpc.report.textsafe import printable
    from dvhpc.tools.snapshot import load_cluster

    try:
        return load_cluster(source)
    except ClusterFactsError as exc:
        click.echo(f"dvhpc lint: --cluster: {printable(exc)}", err=True)
        sys.exit(EXIT_USAGE)


@cli.command()
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write the snapshot here instead of stdout.")
@click.option("--force", is_flag=True, help="Overwrite an existing OUTPUT.")
def snapshot(output: str | None, force: bool) -> None:
    """Record what the cluster says about itself (scontrol, sinfo, sacctmgr) as cluster.json, for
    `dvhpc lint SPEC --cluster cluster.json` where the cluster cannot be reached."""
    from dvhpc.cluster.facts import ClusterFactsError
    from dvhpc.report.textsafe import printable
    from dvhpc.tools.snapshot import take_snapshot

    if output and os.path.lexists(output) and not force:
        raise click.UsageError(f"'{printable(output)}' exists; pass --force to overwrite it")
    try:
        facts = take_snapshot()
    except ClusterFactsError as exc:
        click.echo(f"dvhpc snapshot: {printable(exc)}", err=True)
        sys.exit(EXIT_USAGE)
    for problem in facts.problems:
        click.echo(f"warning: {printable(problem)}", err=True)
    if facts.accounting_skipped:
        click.echo(f"note: no accounts or QOS recorded: {printable(facts.accounting_skipped)}", err=True)
    if output:
        _write_output("snapshot", output, facts.to_json())
        click.echo(f"{printable(output)}: recorded {len(facts.partitions)} partition(s), "
                   f"{len(facts.associations or [])} association(s), {len(facts.qos or [])} QOS", err=True)
    else:
        click.echo(facts.to_json(), nl=False)
    sys.exit(EXIT_OK)


@cli.command(name="init")
@click.option("--site", required=True, help="Name of the new site (lowercase letters, digits, _ and -).")
@click.option("--from", "from_files", multiple=True, type=click.Path(dir_okay=False), metavar="FILE",
              help="Saved output of `scontrol show partition -o`, `scontrol show node -o`, `sinfo`, "
                   "`scontrol show config`, `sacctmgr ... format=account` or `sshare`, recognised by content "
                   "(repeatable). Without it, init asks the cluster it runs on.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write the spec here instead of stdout.")
@click.option("--force", is_flag=True,
              help="Overwrite an existing --output file (a symlink there is replaced by the file, not followed).")
def init(site: str, from_files: tuple[str, ...], output: str | None, force: bool) -> None:
    """Scaffold a commented site spec from what the cluster says (partitions, nodes, accounts)."""
    from dvhpc.report.textsafe import printable
    from dvhpc.tools.init import InitError, init_site

    if output and os.path.lexists(output) and not force:  # a link, even a dangling one, is there too
        raise click.UsageError(f"'{printable(output)}' exists; pass --force to overwrite it")
    try:
        result = init_site(site, from_files)
    except InitError as exc:
        click.echo(f"dvhpc init: {printable(exc)}", err=True)
        sys.exit(EXIT_USAGE)
    for problem in result.facts.problems:
        click.echo(f"warning: {printable(problem)}", err=True)
    if output:
        _write_output("init", output, result.text)
        parts = len(result.facts.partitions)
        click.echo(f"{printable(output)}: wrote site '{site}' ({parts} partition{'s' if parts != 1 else ''}); "
                   f"review it, then run: dvhpc lint {printable(output)}", err=True)
    else:
        click.echo(result.text, nl=False)
    sys.exit(EXIT_OK)


def _write_output(command: str, output: str, text: str) -> None:
    """`init -o`/`import -o`: the spec replaces OUTPUT atomically (a symlink there is replaced, not
    followed); a folder that cannot be written is exit 2 with the reason."""
    from dvhpc.output.writer import write_file_atomically
    from dvhpc.report.textsafe import printable

    try:
        write_file_atomically(output, text)
    except OSError as exc:
        click.echo(f"dvhpc {command}: cannot write {printable(output)}: {exc.strerror or exc}", err=True)
        sys.exit(EXIT_USAGE)


@cli.command(name="import")
@click.argument("profile", type=click.Path(exists=True))
@click.option("--site", required=True, help="Site name for the new spec ([a-z][a-z0-9_-]*).")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write the spec here instead of stdout.")
@click.option("--force", is_flag=True,
              help="Overwrite OUTPUT if it exists (a symlink there is replaced by the file, not followed).")
@format_option
def import_(profile: str, site: str, output: str | None, force: bool, fmt: str) -> None:
    """Turn a hand-written Snakemake profile (folder or file) into a site spec."""
    import re

    from dvhpc.tools.importer import import_profile

    if not re.fullmatch(r"[a-z][a-z0-9_-]*", site):
        raise click.BadParameter("lowercase letters, digits, '_' and '-', starting with a letter", param_hint="--site")
    from dvhpc.report.textsafe import printable

    if output and os.path.lexists(output) and not force:
        raise click.UsageError(f"{printable(output)} exists; pass --force to overwrite it")
    result = import_profile(profile, site)
    emit_diagnostics(result.report.sorted(), fmt, result.report.sources)
    if not result.text:
        sys.exit(EXIT_FINDINGS)
    if output:
        _write_output("import", output, result.text)
        click.echo(f"wrote {printable(output)}", err=True)
    else:
        click.echo(result.text, nl=False)
    sys.exit(EXIT_FINDINGS if result.report.has_errors else EXIT_OK)


@cli.command()
@click.argument("old")
@click.argument("new")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text", show_default=True)
@click.option("--unified", "unified_", is_flag=True, help="A plain unified diff of the generated files instead.")
@click.option("--quiet", "-q", is_flag=True, help="Print nothing; only the exit code tells.")
def diff(old: str, new: str, fmt: str, unified_: bool, quiet: bool) -> None:
    """Compare what two sites mean: specs (also REV:path from git) or generated folders.

    Exit 0 when nothing changes, 1 when something does, 2 on errors (as `git diff --exit-code`).
    """
    from dvhpc.report.diagnostics import Report
    from dvhpc.report.render import safe
    from dvhpc.tools import diff as diffing

    report = Report()
    try:
        old_view, new_view, changes = diffing.diff_sides(old, new, report)
    except diffing.DiffError as exc:
        if exc.diagnostic:  # a broken generated folder: DV403 at its file:line:col
            report.items.append(exc.diagnostic)
        emit_diagnostics(report.sorted(), "text", report.sources)
        if not exc.diagnostic:
            click.echo(f"dvhpc diff: {safe(exc)}", err=True)
        sys.exit(EXIT_USAGE)
    if not quiet:
        old, new = safe(old), safe(new)  # from here on only labels, printed
        if unified_:
            click.echo(diffing.unified(old_view, new_view), nl=False)
        elif fmt == "json":
            click.echo(diffing.as_json(changes, old, new))
        elif fmt == "markdown":
            click.echo(diffing.render_markdown(changes, old, new), nl=False)
        else:
            click.echo(diffing.render_text(changes, old, new), nl=False)
    sys.exit(EXIT_FINDINGS if changes else EXIT_OK)


@cli.command()
@click.argument("spec")
@click.argument("rules", nargs=-1)
@click.option("--all", "all_", is_flag=True, help="Every rule, the defaults and the settings.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def explain(spec: str, rules: tuple[str, ...], all_: bool, fmt: str) -> None:
    """Show every resolved value of RULES, its emitted form and where it came from."""
    if not rules and not all_:
        raise click.UsageError("name one or more rules, or pass --all")
    import json

    from dvhpc.pipeline import check
    from dvhpc.report.render import safe
    from dvhpc.tools.explain import explain as explain_site
    from dvhpc.tools.explain import render_text

    checked = check(spec)
    site, layers = checked.site, checked.layers
    if not checked.ok or checked.abstract or site is None or layers is None:
        emit_diagnostics(shown(checked.report.sorted(), "text"), "text", checked.report.sources)
        if checked.abstract:
            click.echo(f"{safe(spec)}: an abstract layer has no resolved rules", err=True)
        sys.exit(EXIT_FINDINGS)
    result = explain_site(site, layers, None if all_ else list(rules))
    click.echo(json.dumps(result, indent=2) if fmt == "json" else render_text(result), nl=fmt == "json")
    sys.exit(EXIT_OK)


@cli.command()
@click.argument("spec")
@click.option("--since", help="Jobs submitted since this date (sacct's forms: 2026-11-01, now-7days) "
                              "[default: 30 days ago].")
@click.option("--rule", "rules", multiple=True, help="Only this rule (repeatable).")
@click.option("--from", "from_paths", multiple=True, type=click.Path(exists=True), metavar="FILE|DIR",
              help="A saved `sacct --parsable2` export (with its header), the slurm plugin's efficiency report "
                   "(CSV) or a folder of Snakemake benchmark files (repeatable). Without it, tune asks sacct.")
@click.option("--format", "fmt", type=click.Choice(["text", "markdown", "json"]), default="text", show_default=True)
@click.option("--write", "write_", is_flag=True, help="Edit the spec where each value comes from (comments kept).")
@click.option("--html", "html_path", type=click.Path(dir_okay=False), help="Also write a self-contained report.")
@click.option("--min-jobs", type=click.IntRange(min=1), default=5, show_default=True,
              help="Succeeded jobs a rule needs for a proposal.")
@click.option("--quantile", type=click.FloatRange(0.5, 1.0), default=0.95, show_default=True)
@click.option("--headroom", default="20%", show_default=True, help="Added to the quantile.")
def tune(spec: str, since: str | None, rules: tuple[str, ...], from_paths: tuple[str, ...], fmt: str, write_: bool,
         html_path: str | None, min_jobs: int, quantile: float, headroom: str) -> None:
    """Propose each rule's memory, time and CPUs from what its jobs used (sacct, reports, benchmarks)."""
    from dvhpc.tools.tune.command import run_tune

    try:
        options = _tune_options(min_jobs, quantile, headroom)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--headroom") from None
    sys.exit(run_tune(spec, since, list(rules), list(from_paths), fmt, write_, html_path, options, emit_diagnostics))


def _tune_options(min_jobs: int, quantile: float, headroom: str):
    from dvhpc.tools.tune import Options, parse_headroom

    return Options(quantile=quantile, headroom=parse_headroom(headroom), min_jobs=min_jobs)


@cli.command()
@click.option("--markdown", is_flag=True, help="Print the key reference (docs/spec.md) instead of the JSON Schema.")
def schema(markdown: bool) -> None:
    """Print the site spec's JSON Schema (for editors and other tools)."""
    if markdown:
        from dvhpc.tools.spec_docs import spec_markdown

        click.echo(spec_markdown(), nl=False)
    else:
        from dvhpc.frontend.schema import schema_text

        click.echo(schema_text(), nl=False)


def main() -> None:
    """Entry point: usage errors exit 2, an unexpected failure exits 3 with one line, never 0."""
    try:
        cli.main(prog_name="dvhpc", standalone_mode=False)
    except click.exceptions.Abort:  # click's name for Ctrl-C
        click.echo("aborted", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except click.ClickException as exc:
        exc.show()
        sys.exit(EXIT_USAGE if isinstance(exc, click.UsageError) else exc.exit_code)
    except SystemExit:
        raise
    except BrokenPipeError:
        sys.exit(EXIT_FINDINGS)
    except BaseException as exc:  # noqa: BLE001 - the promise is: never a traceback, never exit 0
        if os.environ.get("DVHPC_DEBUG"):
            raise
        if isinstance(exc, KeyboardInterrupt):
            sys.exit(EXIT_INTERRUPTED)
        from dvhpc.report.render import safe

        click.echo(
            f"dvhpc: internal error ({type(exc).__name__}: {safe(exc)}); this is a bug in dvhpc, please report it "
            "with the command and the spec (DVHPC_DEBUG=1 shows the traceback)",
            err=True,
        )
        sys.exit(EXIT_INTERNAL)
    sys.exit(EXIT_OK)
