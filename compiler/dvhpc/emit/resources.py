"""Backend: `resources.yaml`, the resolved request of every rule, for reviewers and `diff`.

For each rule: where its values came from (sets), the values in human form and in SLURM's
units, the values per retry attempt and the exact sbatch arguments each attempt produces.
"""

from __future__ import annotations

import shlex

from dvhpc.emit import GeneratedFile, header
from dvhpc.emit.slurm_args import account_of, extra_flags, sbatch_args
from dvhpc.emit.yamlout import dump
from dvhpc.model.site import Resources, Site

RESOURCES = "resources.yaml"


def describe(site: Site, res: Resources) -> dict:
    out: dict = {}
    if res.sets:
        out["sets"] = list(res.sets)
    if res.get("partition"):
        out["partition"] = res.get("partition")
    account = account_of(site, res)
    if account:
        out["account"] = account
    for key in ("qos", "constraint"):
        if res.get(key):
            out[key] = res.get(key)
    out["cpus"] = res.cpus
    for key in ("mem", "mem_per_cpu", "disk"):
        if res.get(key) is not None:
            out[key] = {"human": str(res.get(key)), "mib": res.get(key).mib}
    out["time"] = {"human": str(res.get("time")), "minutes": res.get("time").minutes}
    out["gpus"] = res.gpus
    if res.get("gpu_type") and res.gpus:
        out["gpu_type"] = res.get("gpu_type")
    for key in ("nodes", "tasks", "tasks_per_node"):
        if res.get(key):
            out[key] = res.get(key)
    extra = extra_flags(site, res)
    if extra:
        out["slurm_extra"] = list(extra)
    if res.retry:
        out["retry"] = {key: str(sourced.value) for key, sourced in res.retry.items()}
    if not res.retry:
        out["sbatch"] = shlex.join(sbatch_args(site, res, res.attempts[0]))
        return out
    attempts = []
    for attempt in res.attempts:
        item: dict = {"attempt": attempt.number, "minutes": attempt.minutes}
        if attempt.mem_mib is not None:
            item["mem_mib"] = attempt.mem_mib
        if attempt.mem_per_cpu_mib is not None:
            item["mem_per_cpu_mib"] = attempt.mem_per_cpu_mib
        if attempt.disk_mib is not None:
            item["disk_mib"] = attempt.disk_mib
        if attempt.capped:
            item["capped_at_partition_limit"] = list(attempt.capped)
        item["sbatch"] = shlex.join(sbatch_args(site, res, attempt))
        attempts.append(item)
    out["attempts"] = attempts
    return out


def resources_data(site: Site) -> dict:
    return {
        "site": site.name,
        "executor": site.snakemake.executor,
        "attempts": site.attempts,
        "defaults": describe(site, site.defaults),
        "rules": {name: describe(site, res) for name, res in site.rules.items()},
    }


def files(site: Site) -> dict[str, GeneratedFile]:
    note = "# Resolved resources per rule: human form, SLURM units (MiB, minutes), per attempt, sbatch args.\n"
    return {RESOURCES: GeneratedFile(header(site) + note + dump(resources_data(site)))}
