"""Checks of a spec against the rules of a workflow (`lint --workflow`) that concern local rules.

A local rule (`localrules:` or `localrule: True`) runs in Snakemake's own process on the submit
host, never as a SLURM job, so what the spec asks SLURM for in its entry is never asked for.
"""

from __future__ import annotations

from typing import Any

from dvhpc.model import keys
from dvhpc.model.site import Resources, Site
from dvhpc.report.diagnostics import Location, Report

# The keys that only become a SLURM request (an sbatch option or the backend's own GPU/task code);
# disk is a Snakemake resource that also limits local jobs (`--resources disk_mb=...`).
_SLURM_ONLY = tuple(key for key in keys.KEYS
                    if key is not keys.RETRY and (key.sbatch is not None or key.generic is keys.Template.SPECIAL))


def _own_slurm_keys(res: Resources) -> list[keys.Key[Any]]:
    """The SLURM-only keys the rule's own entry (or a set it uses) gives it; defaults are for every rule."""
    found = []
    for key in _SLURM_ONLY:
        item = res.sourced(key)
        if item is not None and item.origin.label.startswith(("rule ", "set ")):
            found.append(key)
    return found


def check_local_rules(site: Site, localrules: frozenset[str], where: Location, report: Report) -> None:
    """DV355: the spec's entry for a local rule asks SLURM for resources that are never requested.

    A local rule that asks for GPUs is DV352's (the more specific finding); it is not repeated here.
    `where` is the place of resources.rules, for an entry without a place of its own."""
    for name in sorted(localrules):
        res = site.rules.get(name)
        if res is None or res.gpu is not None:
            continue
        given = _own_slurm_keys(res)
        if not given:
            continue
        listed = ", ".join(key.name for key in given)
        report.add("DV355", f"rule '{name}' is a local rule (it runs on the submit host, never as a SLURM job): "
                   f"its entry's SLURM requests ({listed}) are never made",
                   res.location or where, hint="drop the entry, or remove the rule from the workflow's localrules",
                   fields={"rule": name, "keys": [key.name for key in given]})
