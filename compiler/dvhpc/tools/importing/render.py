"""The imported spec as YAML text: only what the profile set, each decision as a comment."""

from __future__ import annotations

import re
from pathlib import Path

from dvhpc.emit.yamlout import key as yaml_key
from dvhpc.emit.yamlout import scalar
from dvhpc.model import keys
from dvhpc.model.site import DEFAULT_RUN_LOGDIR
from dvhpc.report.textsafe import printable
from dvhpc.resolve.runner import inside
from dvhpc.tools.importing.convert import Converter, Layer

_RUN_LOGDIR = "dvhpc-runs"  # where run.sh logs when the profile's logdir would hold dvhpc's default


def _plain_or_quoted(value: object) -> str:  # 2x, 120M, 90min stay plain as a person writes them
    return value if isinstance(value, str) and re.fullmatch(r"[0-9][0-9A-Za-z.]*", value) else scalar(value)


def _layer(name: str, layer: Layer, indent: int) -> list[str]:
    pad = " " * indent
    items = []
    for key in (key.name for key in keys.RESOURCES_YAML_ORDER):
        if key not in layer.values:
            continue
        value = layer.values[key]
        if key == "partition" and "," in str(value):  # several partitions, as sbatch took them
            value = str(value).split(",")
        if isinstance(value, list):
            items.append(f"{key}: [" + ", ".join(scalar(v) for v in value) + "]")
        elif isinstance(value, dict):
            items.append(f"{key}: {{" + ", ".join(f"{yaml_key(k)}: {_plain_or_quoted(v)}" for k, v in value.items())
                         + "}")
        else:
            items.append(f"{key}: {_plain_or_quoted(value)}")
    return [f"{pad}# {note}" for note in layer.notes] + [f"{pad}{yaml_key(name)}: {{{', '.join(items)}}}"]


def _run_logdir(logdir: object) -> list[str]:
    """run.sh's log folder when dvhpc's default would lie in the profile's slurm-logdir (DV380)."""
    if isinstance(logdir, str) and inside(DEFAULT_RUN_LOGDIR, logdir) and not inside(_RUN_LOGDIR, logdir):
        return [f"  run_logdir: {scalar(_RUN_LOGDIR)}   # run.sh's own logs, outside the slurm plugin's "
                "log clean-up in logdir (DV380)"]
    return []


def render(conv: Converter, site: str, source: str, account: str | None, drop: set[str]) -> str:
    lines = [
        "# yaml-language-server: $schema=../schema/site.schema.json",
        f"# Imported by dvhpc from {source}. Decisions are commented; review them.",
        "dvhpc: 1", f"site: {site}", "description: " + scalar(f"Imported from {Path(source).name}"), "",
    ]
    slurm = []
    if account:
        slurm.append(f"  account: {scalar(account)}   # the account every job used")
    if conv.gpu_flag:
        slurm.append(f"  gpu_flag: {conv.gpu_flag}   # the GPU request style the profile used")
    partitions = sorted({name for layer in [conv.defaults, *conv.rules.values()] if layer.values.get("partition")
                         for name in str(layer.values["partition"]).split(",")})
    if partitions:
        slurm.append("  partitions:   # names from the profile; add limits (max_time, cpus, mem, gpus) "
                     "to check requests")
        slurm += [f"    {yaml_key(name)}: {{}}" for name in partitions]
    if slurm:
        lines += ["slurm:", *slurm, ""]
    lines += ["snakemake:", f"  executor: {conv.executor}"]
    lines += [f"  {yaml_key(key)}: {scalar(value)}" for key, value in conv.settings.items()]
    lines += _run_logdir(conv.settings.get("logdir"))
    options = {k: v for k, v in conv.options.items() if k not in drop}
    if options:
        lines.append("  options:")
        for key, value in options.items():
            shown = "[" + ", ".join(scalar(v) for v in value) + "]" if isinstance(value, list) else scalar(value)
            lines.append(f"    {yaml_key(key)}: {shown}")
    if conv.defaults.values or conv.rules:
        lines += ["", "resources:"]
        if conv.defaults.values:
            lines += _layer("defaults", conv.defaults, 2)
        if conv.rules:
            lines.append("  rules:")
            for name, layer in conv.rules.items():
                lines += _layer(name, layer, 4)
    # No account stays visible (DV321 names what the original did too). DV333 is about `detect`, which
    # only dvhpc has: a profile cannot say where it runs, so the finding is the importer's, not the profile's.
    lines += ["", "lint:", "  # detect is dvhpc's own (site_paths' on_cluster()); a profile has none to import: add",
              "  # detect entries when the workflow uses on_cluster(), then drop this line",
              "  ignore: [DV333]"]
    # names from the profile are quoted keys; comments have line breaks and control characters escaped
    return "\n".join(printable(line) for line in lines) + "\n"
