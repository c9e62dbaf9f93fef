#!/usr/bin/env python3
"""Generate compiler/dvhpc/data/snakemake_options.json from the installed, pinned Snakemake.

The table lists every long option string (``--x`` → key ``x``, aliases included) of Snakemake's
real argparse parser, ``snakemake.cli.get_argument_parser()``: the same parser object that
``snakemake --help`` prints and that turns profile keys into options (ConfigArgParse). The
executor plugins register their settings on that parser, so they must be installed when this
runs: snakemake-executor-plugin-slurm (which pulls in slurm-jobstep) and -cluster-generic.

    .venv/bin/python tools/gen_snakemake_options.py           # rewrite the JSON
    .venv/bin/python tools/gen_snakemake_options.py --check   # exit 1 if the committed JSON is stale

Per option: ``takes_value`` is false for flags (argparse ``nargs == 0``: store_true, count,
help, version) and true otherwise (including ``nargs='?'`` options such as ``--report``);
``plugin`` names the external plugin whose settings group registered it, or null for options
of Snakemake itself (built-in plugins such as the html report or the greedy/ilp schedulers are
part of the snakemake distribution and count as Snakemake's own).
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


def build_table() -> dict:
    """Build the table from the installed Snakemake (imports snakemake and its plugins)."""
    import importlib.metadata as md

    from snakemake.cli import get_argument_parser

    parser = get_argument_parser()

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
        }
        if action.help == argparse.SUPPRESS:
            hidden.append(string[2:])

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


def render(table: dict) -> str:
    """Deterministic JSON: versions first, then one sorted line per option (small diffs)."""
    lines = ["{", f' "snakemake": {json.dumps(table["snakemake"])},',
             f' "plugins": {json.dumps(table["plugins"], sort_keys=True)},', ' "options": {']
    names = sorted(table["options"])
    for i, name in enumerate(names):
        entry = table["options"][name]
        body = json.dumps({"takes_value": entry["takes_value"], "plugin": entry["plugin"]})
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
