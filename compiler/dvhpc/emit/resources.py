"""Backend: `resources.yaml`, the resolved request of every rule, for reviewers and `diff`.

For each rule: where its values came from (sets), the values in human form and in SLURM's
units, the values per retry attempt and the exact sbatch arguments each attempt produces.
"""

from __future__ import annotations

import shlex
from typing import Any

from dvhpc.emit import GeneratedFile, header
from dvhpc.emit.slurm_args import engine_defaults, extra_flags, sbatch_args
from dvhpc.emit.yamlout import dump
from dvhpc.model import keys
from dvhpc.model.keys import Kind
from dvhpc.model.site import Attempt, Executor, Resources, Site

RESOURCES = "resources.yaml"


def describe(site: Site, res: Resources) -> dict[str, Any]:
    """A request as reviewers read it: what the spec set (keys no layer sets are absent; what the
    engine picks for those every job has is named in the defaults, and in a rule where that differs),
    per attempt, the sbatch words."""
    out: dict[str, Any] = {}
    if res.sets:
        out["sets"] = list(res.sets)
    out.update(_values(site, res))
    if keys.SLURM_EXTRA not in res and extra_flags(site, res):
        out["slurm_extra"] = list(extra_flags(site, res))
    if res.retry:
        out["retry"] = {key.name: str(sourced.value) for key, sourced in res.retry.items()}
    engine = engine_defaults(res)
    if engine and (res.is_defaults or engine != engine_defaults(site.defaults)):  # a rule: when it differs
        out["engine_defaults"] = engine
    cap = threads_cap(site, res)
    if cap:
        out["threads"] = cap
    if not res.retry:
        out["sbatch"] = shlex.join(sbatch_args(site, res, res.attempts[0]))
        return out
    out["attempts"] = [_attempt(site, res, attempt) for attempt in res.attempts]
    return out


def threads_cap(site: Site, res: Resources) -> str | None:
    """What snakemake.cores (--cores) does to the rule's threads: Snakemake lowers every job's threads
    to it, also with a remote executor (snakemake/rules.py); the cluster-generic template sends the
    lowered threads unless resources.defaults sets cpus; the slurm plugin sends `cpus` (cpus_per_task)
    unchanged when the spec sets it."""
    cores, cpus = site.snakemake.cores, res.value(keys.CPUS)
    if cores is None or (cpus is not None and cpus <= cores):
        return None
    if cpus is None:
        return f"at most {cores} (snakemake.cores): a rule with more threads gets {cores} CPUs"
    if site.snakemake.executor is Executor.CLUSTER_GENERIC and keys.CPUS not in site.defaults:
        return f"{cores} (snakemake.cores caps cpus {cpus}): the job gets --cpus-per-task={cores}"
    return f"{cores} (snakemake.cores caps the threads; --cpus-per-task stays {cpus})"


def _values(site: Site, res: Resources) -> dict[str, Any]:
    """The keys the request has, in resources.yaml's order; units in human form and SLURM's."""
    out: dict[str, Any] = {}
    for key in keys.RESOURCES_YAML_ORDER:
        value = res.value(key)
        if value is None or key is keys.RETRY:
            continue
        if key.kind is Kind.MEMORY:
            out[key.name] = {"human": str(value), "mib": value.mib}
        elif key.kind is Kind.DURATION:
            out[key.name] = {"human": str(value), "minutes": value.minutes}
        elif key is keys.SLURM_EXTRA:
            extra = extra_flags(site, res)
            if extra:
                out[key.name] = list(extra)
        elif key is keys.GPU_TYPE:
            if res.gpu is not None:
                out[key.name] = value
        elif key in (keys.TASKS_PER_NODE, keys.NODES, keys.TASKS) and not value:
            continue
        else:
            out[key.name] = value
    return out


def _attempt(site: Site, res: Resources, attempt: Attempt) -> dict[str, Any]:
    """One retry attempt: the scaled counts, the keys capped at the partition's limit, the sbatch words."""
    item: dict[str, Any] = {"attempt": attempt.number}
    for key, field in ((keys.TIME, "minutes"), (keys.MEM, "mem_mib"), (keys.MEM_PER_CPU, "mem_per_cpu_mib"),
                       (keys.DISK, "disk_mib")):
        count = attempt.count(key)
        if count is not None:
            item[field] = count
    if attempt.capped:
        item["capped_at_partition_limit"] = [key.name for key in attempt.capped]
    item["sbatch"] = shlex.join(sbatch_args(site, res, attempt))
    return item


def resources_data(site: Site) -> dict[str, Any]:
    return {
        "site": site.name,
        "executor": str(site.snakemake.executor),
        "attempts": site.attempts,
        "defaults": describe(site, site.defaults),
        "rules": {name: describe(site, res) for name, res in site.rules.items()},
    }


def files(site: Site) -> dict[str, GeneratedFile]:
    note = "# Resolved resources per rule: human form, SLURM units (MiB, minutes), per attempt, sbatch args.\n"
    return {RESOURCES: GeneratedFile(header(site) + note + dump(resources_data(site)))}
