"""Backend: the Snakemake 9 profile (`profile/profile.v9+.yaml` or `profile/config.v9+.yaml`).

The file name follows the site's declared Snakemake range (`dvhpc.model.versions.profile_file`):
Snakemake's versioned lookup then keeps versions older than the range from reading it.

`executor: slurm` targets snakemake-executor-plugin-slurm 2.x; `executor: cluster-generic`
writes the sbatch-template style with a status script beside it. Facts this relies on (see
README, "Verified versions"): keys are long option names with dashes; each resource is written in
its key's form (`dvhpc.model.keys.Form`: runtime as minutes with a unit, mem_mb as an integer of
MiB, what `sbatch --mem` reads, strings as `str('...')` calls), which every Snakemake of the
version matrix reads the same; a whole value naming a file in the profile folder is replaced by
that file's path (how `status.sh` is found).
"""

from __future__ import annotations

import math

from dvhpc.emit import GeneratedFile, header
from dvhpc.emit.cluster_generic import submit_command
from dvhpc.emit.scripts import status_script
from dvhpc.emit.slurm_args import backend_for, defaults_resources, literal, rendered
from dvhpc.emit.yamlout import dump
from dvhpc.model import keys, versions
from dvhpc.model.site import Executor, Resources, Site

PROFILE = "profile/config.v9+.yaml"  # the name diff and readback key the profile's data by
PROFILES = tuple(f"profile/{name}" for name in versions.PROFILE_FILES)
STATUS = "profile/status.sh"

__all__ = ["PROFILE", "PROFILES", "STATUS", "files", "literal", "profile_data", "profile_path", "scripts",
           "snakemake_resources"]


def snakemake_resources(site: Site, res: Resources) -> dict:
    """The resources of one rule (or the defaults) as Snakemake reads them from the profile."""
    return {name: rendered(name, value) for name, value in backend_for(site).resources(site, res).items()}


def _settings(site: Site) -> dict:
    """Profile settings: only what the spec sets (Snakemake's own defaults apply to the rest), the
    executor, and the log folder dvhpc's scripts read (dvhpc's default when the spec sets none)."""
    sm = site.snakemake
    out: dict = {"executor": str(sm.executor)}
    if sm.jobs is not None:
        out["jobs"] = sm.jobs
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
    out["cores"] = versions.UNCAPPED_CORES  # no version caps threads at the submit host's CPUs
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
        data["default-resources"] = {name: rendered(name, value) for name, value in defaults.items()}
    if site.rules:
        threads = {name: res.value(keys.CPUS) for name, res in site.rules.items() if keys.CPUS in res}
        if threads:
            data["set-threads"] = threads
        data["set-resources"] = {name: {key: rendered(key, value) for key, value in
                                        backend.neutral(backend.resources(site, res), defaults).items()}
                                 for name, res in site.rules.items()}
    return data


def files(site: Site) -> dict[str, GeneratedFile]:
    out = {profile_path(site): GeneratedFile(header(site) + dump(profile_data(site))), **scripts(site)}
    wanted = site.environment.require_snakemake
    guard = versions.guard_file(wanted)
    if guard is not None and wanted is not None:
        # one word: argparse takes a value with a space for a target, not for an unknown option
        wanted = wanted.replace(" ", "")
        note = "# Snakemake 10 and later read this file instead of the profile and stop on its one key.\n"
        out[f"profile/{guard}"] = GeneratedFile(header(site) + note + dump({versions.GUARD_KEY: wanted}))
    return out


def profile_path(site: Site) -> str:
    """Where the profile is written: its name keeps Snakemake versions below the site's range out."""
    return "profile/" + versions.profile_file(site.environment.require_snakemake)


def scripts(site: Site) -> dict[str, GeneratedFile]:
    """The profile's shell script: the job status command of the cluster-generic executor."""
    if backend_for(site).status_script:
        return {STATUS: status_script(site)}  # templates/status.sh behind its data block
    return {}
