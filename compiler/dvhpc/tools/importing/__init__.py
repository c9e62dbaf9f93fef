"""`dvhpc import`: turn a hand-written Snakemake profile into a site spec that means the same.

Stages: find the file Snakemake 9 would read (`find_profile`), read it as Snakemake does
(`yaml11`: PyYAML, YAML 1.1), convert keys, resources and the submit template (`convert`,
`template`, `snakevalues`, `sbatch_args`), write the spec (`render`), then check it with dvhpc's
own validator and leave out what it refuses, saying so (an import never writes a spec its own
`validate` rejects). Every decision is a diagnostic at the profile's file:line.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from dvhpc.report.diagnostics import Location, Report, Severity

_NAME = re.compile(r"(profile|config)(?:\.v(\d+)\+)?\.yaml")
IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass
class Imported:
    """The result: the spec as YAML text and what the import found."""

    text: str
    report: Report


def find_profile(path: Path) -> Path | None:
    """The file Snakemake 9 reads from a profile folder (the highest `.vN+` up to 9 wins)."""
    if path.is_file():
        return path
    best: tuple[int, int, Path] | None = None
    for entry in sorted(path.iterdir()) if path.is_dir() else []:
        match = _NAME.fullmatch(entry.name)
        if match and entry.is_file() and int(match.group(2) or 0) <= 9:
            rank = (int(match.group(2) or 0), match.group(1) == "profile", entry)
            best = rank if best is None or rank[:2] > best[:2] else best
    return best[2] if best else None


def import_profile(path: str, site: str, executor: str | None = None) -> Imported:
    from dvhpc.frontend.files import read_file
    from dvhpc.tools.importing import convert, render, yaml11

    report = Report()
    found = find_profile(Path(path))
    if found is None:
        report.add("DV001", f"no Snakemake profile in '{path}' (Snakemake 9 reads config.yaml, profile.yaml or "
                   "their .vN+ forms)", Location(path, 1, 1))
        return Imported("", report)
    display = str(found)
    try:
        text = read_file(found).decode("utf-8")
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        report.add("DV001", f"cannot read '{display}': {exc}", Location(display, 1, 1))
        return Imported("", report)
    report.register(display, text.splitlines())
    try:
        profile = yaml11.read(text, display)
    except yaml11.ProfileError as exc:
        report.add("DV003", str(exc), Location(display, exc.line, exc.column))
        return Imported("", report)
    if not isinstance(profile.data, dict):
        report.add("DV100", "a Snakemake profile must be a mapping", Location(display, 1, 1))
        return Imported("", report)
    conv = convert.Converter(profile, report, executor)
    if not conv.run():
        return Imported("", report)
    _merge_template(conv)
    _drop_bad_rule_names(conv)
    account = _lift_account(conv)
    drop: set[str] = set()
    for _ in range(4):
        spec = render.render(conv, site, display, account, drop)
        refused = _refused_options(spec, conv, drop)
        if not refused:
            return Imported(spec, report)
        for option, message in refused.items():
            conv.say(convert.INEXPRESSIBLE, f"'{option}' is not imported: {message}", option)
            drop.add(option)
    return Imported(spec, report)


def _merge_template(conv) -> None:
    if conv.template is None:
        return
    for key, value in conv.fixed_defaults.items():
        conv.defaults.values.setdefault(key, value)
    if conv.template_extra:
        conv.defaults.values.setdefault("slurm_extra", list(conv.template_extra))
    if conv.pending_cpus is not None:
        conv.defaults.values.setdefault("cpus", conv.pending_cpus)


def _drop_bad_rule_names(conv) -> None:
    from dvhpc.tools.importing.convert import WARNING

    for name in [n for n in conv.rules if not IDENT.fullmatch(n)]:
        conv.say(WARNING, f"'{name}' is not a rule name (a placeholder?); its resources are not imported",
                 "set-resources", name)
        del conv.rules[name]


def _lift_account(conv) -> str | None:
    account = conv.defaults.values.pop("account", None)
    if account is None:
        return None
    for layer in conv.rules.values():
        if layer.values.get("account") == account:
            del layer.values["account"]
    return str(account)


def _refused_options(spec: str, conv, drop: set[str]) -> dict[str, str]:
    """snakemake.options entries dvhpc's own validator refuses, with its message."""
    from dvhpc.pipeline import check

    with tempfile.TemporaryDirectory(prefix="dvhpc-import-") as folder:
        file = Path(folder) / "spec.yaml"
        file.write_text(spec)
        result = check(str(file))
    lines = spec.splitlines()
    refused: dict[str, str] = {}
    for diag in result.report.items:
        if diag.severity is not Severity.ERROR or diag.suppressed or not 1 <= diag.location.line <= len(lines):
            continue
        # the option's key on the refused line, as render wrote it: plain (any characters but `:`) or quoted
        match = re.match(r"""\s+("[^"]+"|'[^']+'|[^\s"'][^:]*?):(?:\s|$)""", lines[diag.location.line - 1])
        name = match.group(1).strip("\"'") if match else None
        if name is not None and name in conv.options and name not in drop:
            refused[name] = diag.message
    return refused
