"""DV356: a rule's request above a workflow-wide limit of `snakemake.resources` (`--resources`).

Snakemake constrains every job's resources by the global ones of the same name (snakemake/rules.py,
`expand_resources(constraints=workflow.global_resources)`): a rule that asks for `disk_mb: 409600`
under `--resources disk_mb=300000` is scheduled, and sent to SLURM, with 300000. The spec said
400G and `resources.yaml` says so; the job gets less, silently. Found by the dry-run of DynVision's
workflow (tests/test_dynvision_workflow.py), where the engine is the oracle.
"""

from __future__ import annotations

from typing import Any

from dvhpc.frontend.layers import Layers
from dvhpc.model import keys
from dvhpc.model.site import Resources, Site
from dvhpc.report.diagnostics import Note, Report

# spec names of snakemake.resources that are written in the profile under another name
_PROFILE_NAME = {"mem": "mem_mb", "disk": "disk_mb"}


def _limits(site: Site) -> dict[str, tuple[str, int]]:
    """Snakemake resource name -> (the spec's name, the limit as a whole number: MiB for mem and disk)."""
    out = {}
    for name, value in site.snakemake.resources.items():
        out[_PROFILE_NAME.get(name, name)] = (name, value.mib if hasattr(value, "mib") else int(value))
    return out


def _asked(res: Resources, key: keys.Key[Any]) -> list[tuple[int, int]]:
    """(attempt, whole number sent) for each attempt at which the rule asks for `key`."""
    if key in res.requests:
        return [(a.number, count) for a in res.attempts if (count := a.count(key)) is not None]
    value = res.value(key)
    return [(1, value)] if isinstance(value, int) and not isinstance(value, bool) else []


def check_global_limits(site: Site, layers: Layers, report: Report) -> None:
    limits = _limits(site)
    if not limits:
        return
    for res in [site.defaults, *site.rules.values()]:
        for key in keys.KEYS:
            if key.snakemake not in limits:
                continue
            spec_name, limit = limits[key.snakemake]
            item = res.sourced(key)
            if not res.is_defaults and item is not None and item.origin.label == "defaults" and key not in res.retry:
                continue  # the defaults' own finding says it, once
            over = [(attempt, value) for attempt, value in _asked(res, key) if value > limit]
            if not over:
                continue
            attempt, value = over[0]
            who = "resources.defaults ask" if res.is_defaults else f"rule '{res.name}' asks"
            when = "" if attempt == 1 else f" at attempt {attempt}"
            unit = " MiB" if key.kind is keys.Kind.MEMORY else (" min" if key.kind is keys.Kind.DURATION else "")
            where = (item.origin.location if item is not None else None) or res.location \
                or layers.where(("snakemake", "resources", spec_name))
            report.add("DV356", f"{who} for {key.snakemake} {value}{unit}{when}, above the workflow-wide limit "
                       f"snakemake.resources.{spec_name} ({limit}{unit}): "
                       f"Snakemake lowers the request to {limit}{unit}",
                       where, hint=f"ask for at most {limit}{unit}, or raise snakemake.resources.{spec_name}",
                       notes=(Note("the limit is set here", layers.where(("snakemake", "resources", spec_name))),),
                       fields={"rule": res.name, "resource": key.snakemake, "value": value, "limit": limit,
                               "attempt": attempt})
