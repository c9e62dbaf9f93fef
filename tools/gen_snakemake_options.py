#!/usr/bin/env python3
"""Generate compiler/dvhpc/data/snakemake_options.json from the installed, pinned Snakemake.

The table lists every long option string (``--x`` → key ``x``, aliases included) of Snakemake's
real argparse parser, ``snakemake.cli.get_argument_parser()``: the same parser object that
``snakemake --help`` prints and that turns profile keys into options (ConfigArgParse). The
executor plugins register their settings on that parser, so they must be installed when this
runs: snakemake-executor-plugin-slurm (which pulls in slurm-jobstep) and -cluster-generic.

    .venv/bin/python tools/gen_snakemake_options.py           # rewrite the JSON
    .venv/bin/python tools/gen_snakemake_options.py --check   # exit 1 if the committed JSON is stale

Per option string (aliases are keys of their own, ``option`` names the action they share):
``takes_value`` is false for flags (argparse ``nargs == 0``: store_true, count, help, version)
and true otherwise (including ``nargs='?'`` options such as ``--report``); ``plugin`` names the
external plugin whose settings group registered it, or null for options of Snakemake itself
(built-in plugins such as the html report or the greedy/ilp schedulers are part of the
snakemake distribution and count as Snakemake's own). What argparse knows about the value:
``action`` (store, flag, append, help, version), ``nargs`` (null: one value), ``type`` (str, int,
float, or custom: a Snakemake parse function dvhpc does not imitate) and ``choices`` (the strings
argparse accepts). ``class`` is the *reviewed* use Snakemake makes of the value (REVIEW below):
data, command (run as a command, loaded as code or executed as a program), mode (replaces the
run with another action), shell-word or
shell-words (spliced unquoted into a shell command line). The generator fails when the
installed Snakemake has an option nobody reviewed, so a new or renamed option (Snakemake 9
renamed ``scheduler-solver-path`` to ``scheduler-ilp-solver-path``) cannot slip through.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "compiler" / "dvhpc" / "data" / "snakemake_options.json"

# Executor plugins the table must reflect (the compiler emits keys of both).
REQUIRED_PLUGINS = ("slurm", "cluster-generic")

# Reviewed use of each option's value, by the first long option string of its action (aliases
# share it). Read in the installed sources of snakemake 9.27.1, slurm 2.8.0, slurm-jobstep 0.6.1
# and cluster-generic 1.0.9; every option must be in exactly one set.
REVIEW = {
    # run as a command, loaded as code, or executed as a program
    "command": {
        "cluster-generic-cancel-cmd", "cluster-generic-sidecar-cmd", "cluster-generic-status-cmd",
        "cluster-generic-submit-cmd",
        "conda-base-path",  # conda and its activation scripts are run from there
        "deploy-sources",  # unpacks workflow sources (code) from storage in the job
        "jobscript", "precommand", "profile", "workflow-profile",  # profiles can set any option
        "scheduler-ilp-solver-path", "scheduler-solver-path", "slurm-jobstep-array-execs",
        "snakefile", "wrapper-prefix",  # wrappers are code fetched from there
    },
    # spliced unquoted into a shell command line, as one word
    "shell-word": {
        "jobname",  # cluster-generic runs '<submit-cmd> "<jobscript named after it>"' in a shell
        "slurm-exclude-failed-nodes",  # the slurm plugin appends --exclude=<value> to its sbatch shell line
    },
    # spliced unquoted into a job's shell command line, as several words (the container engine's options)
    "shell-words": {"apptainer-args"},
    # replaces running the workflow with another action (a listing, a graph, a report, deleting or
    # touching outputs, unlocking): in a profile every run.sh would do that instead of running
    "mode": {
        "archive", "cleanup-metadata", "cleanup-shadow", "conda-cleanup-envs", "conda-cleanup-pkgs",
        "conda-create-envs-only", "container-cleanup-images", "containerize", "d3dag", "dag", "delete-all-output",
        "delete-temp-output", "detailed-summary", "draft-notebook", "dry-run", "edit-notebook", "export-cwl",
        "filegraph", "generate-unit-tests", "lint", "list-changes", "list-conda-envs", "list-input-changes",
        "list-params-changes", "list-rules", "list-target-rules", "list-untracked", "print-compilation", "report",
        "rulegraph", "summary", "touch", "unlock",
    },
    # data: Snakemake reads the value (job command lines get it repr-quoted or base64-encoded)
    "data": {
        "all-temp", "allow-ambiguity", "allowed-rules", "apptainer-prefix", "attempt", "batch",
        "benchmark-extended", "cache", "cluster-generic-cancel-nargs",
        "conda-frontend",
        "conda-not-block-search-path-envvars", "conda-prefix", "config", "configfile", "consider-ancient",
        "container-image", "cores", "debug",
        "debug-dag", "default-resources", "default-storage-prefix", "default-storage-provider",
        "directory", "drop-metadata", "envvars", "executor", "force",
        "force-use-threads", "forceall", "forcerun", "group-components", "groups",
        "help", "ignore-incomplete", "immediate-submit", "job-deploy-sources", "jobs", "keep-going",
        "keep-incomplete", "keep-storage-local-copies", "latency-wait", "local-cores", "local-groupid",
        "local-storage-prefix", "logger",
        "max-checksum-file-size", "max-inventory-time", "max-jobs-per-second", "max-jobs-per-timespan",
        "max-status-checks-per-second", "max-threads", "mode", "no-hooks", "no-subworkflows", "nocolor",
        "nolock", "not-retrieve-storage", "notebook-listen", "notemp", "omit-flags", "omit-from",
        "persistence-backend", "persistence-backend-db-url", "preemptible-retries", "preemptible-rules",
        "printshellcmds", "prioritize", "queue-input-wait-time", "quiet",
        "remote-job-local-storage-prefix", "replace-workflow-config", "report-after-run",
        "report-html-path", "report-html-stylesheet-path", "report-metadata", "report-stylesheet", "reporter",
        "rerun-incomplete", "rerun-triggers", "resources", "retries", "runtime-profile",
        "runtime-source-cache-path", "scheduler", "scheduler-greediness", "scheduler-greedy-greediness",
        "scheduler-greedy-omit-prioritize-by-temp-and-input", "scheduler-ilp-solver", "scheduler-subsample",
        "seconds-between-status-checks", "set-resource-scopes", "set-resources", "set-scatter", "set-threads",
        "shadow-prefix", "shared-fs-usage", "show-failed-logs", "skip-script-cleanup", "slurm-array-jobs",
        "slurm-array-limit", "slurm-delete-logfiles-older-than", "slurm-disable-memory-fudge",
        "slurm-efficiency-report", "slurm-efficiency-report-path", "slurm-efficiency-threshold",
        "slurm-init-seconds-before-status-checks",
        "slurm-jobname-prefix",  # the plugin itself allows only [A-Za-z0-9_-]{1,50}
        "slurm-jobstep-pass-command-as-script", "slurm-keep-successful-logs", "slurm-logdir",
        "slurm-no-account", "slurm-no-requeue", "slurm-partition-config", "slurm-pass-command-as-script",
        "slurm-qos", "slurm-requeue", "slurm-reservation",  # shlex-quoted by the plugin
        "slurm-status-attempts", "slurm-status-command", "software-deployment-method",
        "strict-dag-evaluation", "target-files-omit-workdir-adjustment", "target-jobs", "trust-io-cache",
        "unneeded-temp-files", "until", "use-apptainer", "use-conda",
        "use-envmodules", "verbose", "version", "wait-for-files", "wait-for-files-file",
        "wait-for-free-local-storage",
    },
}


def _registries():
    from snakemake_interface_executor_plugins.registry import ExecutorPluginRegistry
    from snakemake_interface_logger_plugins.registry import LoggerPluginRegistry
    from snakemake_interface_report_plugins.registry import ReportPluginRegistry
    from snakemake_interface_scheduler_plugins.registry import SchedulerPluginRegistry
    from snakemake_interface_storage_plugins.registry import StoragePluginRegistry

    return (ExecutorPluginRegistry(), StoragePluginRegistry(), ReportPluginRegistry(),
            LoggerPluginRegistry(), SchedulerPluginRegistry())


def _distribution_of(obj) -> tuple[str, str] | None:
    """(distribution name, version) of the installed distribution that ships ``obj``'s module."""
    import importlib.metadata as md

    top = obj.__module__.split(".")[0]
    dists = md.packages_distributions().get(top) or []
    if not dists:
        return None
    return dists[0], md.version(dists[0])


def _help_long_options(parser: argparse.ArgumentParser) -> set[str]:
    """Long option strings shown in the option lines of ``parser.format_help()``.

    Only the invocation column of each option line is read (``  -c N, --cores N   help...``),
    so options merely mentioned in help prose do not count.
    """
    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "2000"  # argparse wraps at the terminal width; avoid wrapped invocations
    try:
        text = parser.format_help()
    finally:
        if old is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = old
    found: set[str] = set()
    for line in text.splitlines():
        if not line.startswith("  -"):
            continue
        invocation = re.split(r"\s{2,}", line.strip(), maxsplit=1)[0]
        found.update(re.findall(r"(?<![\w-])--([A-Za-z0-9][\w-]*)", invocation))
    return found


def _canonical(action: argparse.Action) -> str:
    return next(s[2:] for s in action.option_strings if s.startswith("--"))


def _action_kind(action: argparse.Action) -> str:
    if isinstance(action, argparse._HelpAction):
        return "help"
    if isinstance(action, argparse._VersionAction):
        return "version"
    if isinstance(action, argparse._AppendAction):
        return "append"
    if action.nargs == 0:
        return "flag"
    if isinstance(action, argparse._StoreAction):  # Snakemake's ParserAction is one too
        return "store"
    raise SystemExit(f"gen_snakemake_options: unknown action type {type(action).__name__} "
                     f"of --{_canonical(action)}; teach dvhpc.model.snakemake_options how profiles set it")


def _type_name(action: argparse.Action) -> str:
    """How argparse converts each value: str, int, float, or custom (a parse function of Snakemake's;
    a ParserAction parses in its __call__ after argparse has checked the choices)."""
    if action.nargs == 0:
        return "none"
    if type(action).__name__ == "ParserAction":
        return "custom"
    if action.type is None or action.type is str or action.type is Path:
        return "str"
    if action.type in (int, float):
        return action.type.__name__
    return "custom"


def _choice_strings(action: argparse.Action) -> list[str] | None:
    """The strings argparse accepts: choices are compared after ``type`` converted the string, so
    an enum choice is found by trying its usual spellings through that very conversion."""
    if action.choices is None:
        return None
    convert = action.type or (lambda text: text)
    found = []
    for choice in action.choices:
        if isinstance(choice, str):
            found.append(choice)
            continue
        name = getattr(choice, "name", str(choice))
        spellings = [getattr(choice, "value", None), name.lower().replace("_", "-"), name.lower(), name]
        for text in spellings:
            try:
                if isinstance(text, str) and convert(text) == choice:
                    found.append(text)
                    break
            except (KeyError, ValueError, TypeError):
                continue
        else:
            raise SystemExit(f"gen_snakemake_options: no string selects choice {choice!r} of --{_canonical(action)}")
    return sorted(found)  # some choices come from sets: sort for a stable table


def _value_facts(action: argparse.Action) -> dict:
    return {
        "option": _canonical(action),
        "action": _action_kind(action),
        "nargs": action.nargs if action.nargs != 0 else None,
        "type": _type_name(action),
        "choices": _choice_strings(action),
        "class": _reviewed_class(_canonical(action)),
    }


def _reviewed_class(canonical: str) -> str | None:
    found = [cls for cls, names in REVIEW.items() if canonical in names]
    return found[0] if len(found) == 1 else None


def _check_review(options: dict[str, dict]) -> None:
    """Every option reviewed exactly once, and no review of an option that no longer exists."""
    canonical = {entry["option"] for entry in options.values()}
    unreviewed = sorted(name for name in canonical if sum(name in names for names in REVIEW.values()) != 1)
    stale = sorted(set().union(*REVIEW.values()) - canonical)
    if unreviewed or stale:
        raise SystemExit(
            "gen_snakemake_options: the option review in tools/gen_snakemake_options.py (REVIEW) is out of "
            f"date: not reviewed (or in several classes): {unreviewed}; reviewed but gone: {stale}. Read how "
            "Snakemake and the plugins use each new value (command? shell line? data?) and add it to one class."
        )


def _plugin_of_actions(parser: argparse.ArgumentParser) -> tuple[dict[int, str | None], dict[str, str]]:
    """Which external plugin registered each action (by id), and the version of each such plugin."""
    # Which external plugin registered which action: each plugin adds its settings as an
    # argument group titled "<name> <type> plugin settings"
    # (snakemake_interface_common/plugin_registry/plugin.py → PluginBase.register_cli_args).
    group_plugin: dict[str, tuple[str, str | None]] = {}
    versions: dict[str, str] = {}
    for registry in _registries():
        kind = registry.get_plugin_type()
        for plugin in registry.plugins.values():
            if plugin.settings_cls is None:
                continue
            dist = _distribution_of(plugin.settings_cls)
            external = dist is not None and dist[0] != "snakemake"
            group_plugin[f"{plugin.name} {kind} plugin settings"] = (plugin.name, dist[1] if external else None)
    action_plugin: dict[int, str | None] = {}
    for group in parser._action_groups:
        title = group.title or ""
        if title.endswith(" plugin settings"):
            if title not in group_plugin:
                raise SystemExit(f"gen_snakemake_options: cannot attribute argument group {title!r} to a plugin")
            name, version = group_plugin[title]
            for action in group._group_actions:
                action_plugin[id(action)] = name if version is not None else None
            if version is not None:
                versions[name] = version
    return action_plugin, versions


def build_table() -> dict:
    """Build the table from the installed Snakemake (imports snakemake and its plugins)."""
    import importlib.metadata as md

    from snakemake.cli import get_argument_parser

    parser = get_argument_parser()

    action_plugin, versions = _plugin_of_actions(parser)

    missing = [p for p in REQUIRED_PLUGINS if p not in versions]
    if missing:
        raise SystemExit(
            "gen_snakemake_options: executor plugin(s) not installed: " + ", ".join(missing)
            + " (pip install -e '.[test]')"
        )

    options: dict[str, dict] = {}
    hidden: list[str] = []
    # _option_string_actions is exactly what argparse matches (and abbreviates) against.
    for string, action in parser._option_string_actions.items():
        if not string.startswith("--") or len(string) < 3:
            continue
        options[string[2:]] = {
            "takes_value": action.nargs != 0,
            "plugin": action_plugin.get(id(action)),
            **_value_facts(action),
        }
        if action.help == argparse.SUPPRESS:
            hidden.append(string[2:])
    _check_review(options)

    shown = _help_long_options(parser)
    not_in_table = shown - set(options)
    not_in_help = set(options) - shown - set(hidden)
    if not_in_table or not_in_help:
        raise SystemExit(
            "gen_snakemake_options: parser and --help disagree: "
            f"in help only {sorted(not_in_table)}, in parser only {sorted(not_in_help)}"
        )

    return {
        "snakemake": md.version("snakemake"),
        "plugins": dict(sorted(versions.items())),
        "options": dict(sorted(options.items())),
    }


FIELDS = ("option", "class", "action", "nargs", "type", "choices", "takes_value", "plugin")


def render(table: dict) -> str:
    """Deterministic JSON: versions first, then one sorted line per option (small diffs)."""
    lines = ["{", f' "snakemake": {json.dumps(table["snakemake"])},',
             f' "plugins": {json.dumps(table["plugins"], sort_keys=True)},', ' "options": {']
    names = sorted(table["options"])
    for i, name in enumerate(names):
        entry = table["options"][name]
        body = json.dumps({key: entry[key] for key in FIELDS})
        lines.append(f"  {json.dumps(name)}: {body}" + ("," if i < len(names) - 1 else ""))
    lines += [" }", "}"]
    return "\n".join(lines) + "\n"


def diff_summary(old: dict, new: dict) -> list[str]:
    """Human-readable differences between two tables (empty if equal)."""
    lines: list[str] = []
    if old.get("snakemake") != new.get("snakemake"):
        lines.append(f"snakemake version: {old.get('snakemake')} → {new.get('snakemake')}")
    if old.get("plugins") != new.get("plugins"):
        lines.append(f"plugins: {old.get('plugins')} → {new.get('plugins')}")
    o, n = old.get("options", {}), new.get("options", {})
    added = sorted(set(n) - set(o))
    removed = sorted(set(o) - set(n))
    changed = sorted(k for k in set(o) & set(n) if o[k] != n[k])
    if added:
        lines.append(f"{len(added)} option(s) added: " + ", ".join(added))
    if removed:
        lines.append(f"{len(removed)} option(s) removed: " + ", ".join(removed))
    for k in changed:
        lines.append(f"option {k}: {o[k]} → {n[k]}")
    return lines


def check(path: Path = OUT) -> list[str]:
    """Regenerate in memory; return the differences to the file at ``path`` (empty: up to date)."""
    new = build_table()
    if not path.is_file():
        return [f"{path} does not exist"]
    text = path.read_text(encoding="utf-8")
    try:
        old = json.loads(text)
    except ValueError as exc:
        return [f"{path} is not valid JSON: {exc}"]
    lines = diff_summary(old, new)
    if not lines and text != render(new):
        lines.append("formatting differs (same content)")
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="do not write; exit 1 if the committed file is stale")
    ap.add_argument("--output", type=Path, default=OUT, help=f"default: {OUT.relative_to(ROOT)}")
    args = ap.parse_args(argv)
    if args.check:
        problems = check(args.output)
        if problems:
            print(f"{args.output} is out of date with the installed Snakemake:", file=sys.stderr)
            for line in problems:
                print("  " + line, file=sys.stderr)
            print(f"regenerate: python {Path(__file__).relative_to(ROOT)}", file=sys.stderr)
            return 1
        print(f"{args.output}: up to date")
        return 0
    table = build_table()
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(render(table), encoding="utf-8")
    print(f"wrote {args.output}: snakemake {table['snakemake']}, plugins {table['plugins']}, "
          f"{len(table['options'])} options")
    return 0


if __name__ == "__main__":
    sys.exit(main())
