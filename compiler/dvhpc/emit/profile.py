"""Backend: the Snakemake >= 9.19 profile (`profile/config.v9+.yaml`).

`executor: slurm` targets snakemake-executor-plugin-slurm 2.x; `executor: cluster-generic`
writes the sbatch-template style with a status script beside it. Facts this relies on (see
README, "Verified versions"): keys are long option names with dashes; runtime is integer
minutes; mem_mb is an integer (we emit MiB, what `sbatch --mem` reads); string resources are
Python literals because Snakemake evaluates them; a whole value naming a file in the profile
folder is replaced by that file's path (how `status.sh` is found).
"""

from __future__ import annotations

import math

from dvhpc.emit import GeneratedFile, header
from dvhpc.emit.cluster_generic import submit_command
from dvhpc.emit.scripts import status_script
from dvhpc.emit.slurm_args import backend_for, defaults_resources, literal, rendered
from dvhpc.emit.yamlout import dump
from dvhpc.model import keys
from dvhpc.model.site import Executor, Resources, Site

PROFILE = "profile/config.v9+.yaml"
STATUS = "profile/status.sh"

__all__ = ["PROFILE", "STATUS", "files", "literal", "profile_data", "scripts", "snakemake_resources"]


def snakemake_resources(site: Site, res: Resources) -> dict:
    """The resources of one rule (or the defaults) as Snakemake reads them from the profile."""
    return {name: rendered(value) for name, value in backend_for(site).resources(site, res).items()}


def _settings(site: Site) -> dict:
    """Profile settings: only what the spec sets (Snakemake's own defaults apply to the rest), the
    executor, and the log folder dvhpc's scripts read (dvhpc's default when the spec sets none)."""
    sm = site.snakemake
    out: dict = {"executor": str(sm.executor)}
    if sm.jobs is not None:
        out["jobs"] = sm.jobs
    if sm.cores is not None:
        out["cores"] = sm.cores
    if sm.restart_times:
        out["restart-times"] = sm.restart_times
    if sm.latency_wait is not None:
        out["latency-wait"] = sm.latency_wait.seconds
    for key, value in (("keep-going", sm.keep_going), ("rerun-incomplete", sm.rerun_incomplete),
                       ("printshellcmds", sm.printshellcmds)):
        if value is not None:
            out[key] = value
    if sm.executor is Executor.SLURM:
        out["slurm-logdir"] = sm.logdir.text
        if sm.keep_successful_logs is not None:
            out["slurm-keep-successful-logs"] = sm.keep_successful_logs
        if sm.delete_logs_older_than is not None:
            out["slurm-delete-logfiles-older-than"] = math.ceil(sm.delete_logs_older_than.seconds / 86400)
        if not site.accounting:
            # without slurmdbd, sacct fails and the plugin waits forever; squeue works
            out["slurm-status-command"] = "squeue"
    else:
        out["cluster-generic-submit-cmd"] = submit_command(site)
        out["cluster-generic-status-cmd"] = "status.sh"
        out["cluster-generic-cancel-cmd"] = "scancel"
    if sm.resources:
        out["resources"] = {(f"{k}_mb" if k in ("mem", "disk") else k): (v.mib if hasattr(v, "mib") else v)
                            for k, v in sm.resources.items()}
    out.update(sm.options)
    return out


def profile_data(site: Site) -> dict:
    backend = backend_for(site)
    data = _settings(site)
    defaults = defaults_resources(backend, site)
    if defaults:
        data["default-resources"] = {name: rendered(value) for name, value in defaults.items()}
    if site.rules:
        threads = {name: res.value(keys.CPUS) for name, res in site.rules.items() if keys.CPUS in res}
        if threads:
            data["set-threads"] = threads
        data["set-resources"] = {name: {key: rendered(value) for key, value in
                                        backend.neutral(backend.resources(site, res), defaults).items()}
                                 for name, res in site.rules.items()}
    return data


def files(site: Site) -> dict[str, GeneratedFile]:
    return {PROFILE: GeneratedFile(header(site) + dump(profile_data(site))), **scripts(site)}


def scripts(site: Site) -> dict[str, GeneratedFile]:
    """The profile's shell script: the job status command of the cluster-generic executor."""
    if backend_for(site).status_script:
        return {STATUS: status_script(site)}  # templates/status.sh behind its data block
    return {}
