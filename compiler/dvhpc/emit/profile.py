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
import shlex

from dvhpc.emit import GeneratedFile, header
from dvhpc.emit.scripts import status_script
from dvhpc.emit.slurm_args import (
    account_of, extra_flags, generic_flags, generic_mem_mib, plugin_sees_gpu, plugin_tasks, scaled_expression,
)
from dvhpc.emit.yamlout import dump
from dvhpc.model.site import Resources, Site
from dvhpc.model.quoting import format_escape, in_class, sh_runtime

PROFILE = "profile/config.v9+.yaml"
STATUS = "profile/status.sh"


def literal(text: str) -> str:
    """A Python string literal for a resource Snakemake evaluates (`'gpu'`, never bare `gpu`)."""
    return repr(str(text))


def _limit(res: Resources, key: str) -> int | None:
    part = res.partition
    if part is None:
        return None
    if key == "time":
        return part.max_time.minutes if part.max_time else None
    if key == "mem":
        return part.mem.mib if part.mem else None
    return None


# The class (quoting.VALUE_CLASSES) of each string resource: the slurm plugin pastes some of them
# into its shell command unquoted, so each is checked against what the schema allows.
_CLASSES = {"partition": "name", "account": "name", "qos": "name", "gpu_type": "name", "constraint": "constraint"}


def _checked(res: Resources, key: str) -> str | None:
    value = res.get(key)
    return in_class(_CLASSES[key], value, key) if value else None


def snakemake_resources(site: Site, res: Resources) -> dict:
    """The resources of one rule (or the defaults) as Snakemake reads them from a profile."""
    retry = {k: v.value for k, v in res.retry.items()}
    generic = site.snakemake.executor == "cluster-generic"
    out: dict = {}
    if res.get("partition"):
        out["slurm_partition"] = literal(_checked(res, "partition"))
    account = account_of(site, res)
    if account:
        out["slurm_account"] = literal(in_class("name", account, "account"))
    for flag in extra_flags(site, res):
        in_class("sbatch_flag", flag, "slurm_extra")
    out["runtime"] = scaled_expression(res.get("time").minutes, retry.get("time"), _limit(res, "time"))
    first = res.attempts[0]
    if generic:
        factor = retry.get("mem_per_cpu") if first.mem_per_cpu_mib is not None else retry.get("mem")
        out["mem_mb"] = scaled_expression(generic_mem_mib(first, res), factor, _limit(res, "mem"))
    elif res.get("mem_per_cpu") is not None:
        out["mem_mb_per_cpu"] = scaled_expression(res.get("mem_per_cpu").mib, retry.get("mem_per_cpu"), None)
    elif res.get("mem") is not None:
        out["mem_mb"] = scaled_expression(res.get("mem").mib, retry.get("mem"), _limit(res, "mem"))
    out["cpus_per_task"] = res.cpus
    if res.get("disk") is not None:
        out["disk_mb"] = scaled_expression(res.get("disk").mib, retry.get("disk"), None)
    for key in ("constraint", "qos"):
        value = _checked(res, key)
        if value and not generic:
            out[key] = literal(value)
    if generic:
        # pasted into the submit command, which runs in a shell: one shell-quoted word per flag
        out["dvhpc_sbatch_flags"] = literal(shlex.join(generic_flags(site, res)))
        return out
    if res.get("nodes"):
        out["nodes"] = res.get("nodes")
    tasks = plugin_tasks(site, res)
    if tasks:
        out["tasks"] = tasks
    if plugin_sees_gpu(site, res):
        if site.gpu_flag == "gpus":
            out["gpu"] = res.gpus
            if res.get("gpu_type"):
                out["gpu_model"] = literal(_checked(res, "gpu_type"))
        else:
            typed = f"gpu:{res.get('gpu_type')}:{res.gpus}" if res.get("gpu_type") else f"gpu:{res.gpus}"
            out["gres"] = literal(typed)
    extra = extra_flags(site, res)
    if extra:
        out["slurm_extra"] = literal(" ".join(extra))
    return out


def _neutralise(rule: dict, defaults: dict) -> dict:
    """set-resources only overlays default-resources: switch off default keys a rule must not inherit."""
    # the plugin tests these for truth, so 0 / '' switch them off (constraint and qos cannot be:
    # it sends them whenever set, but rules always inherit those from the defaults anyway)
    neutral = {"mem_mb_per_cpu": 0, "gpu": 0, "gpu_model": literal(""), "gres": literal(""),
               "slurm_extra": literal(""), "tasks": 0}
    out = dict(rule)
    for key in defaults:
        if key not in rule and key in neutral:
            out[key] = neutral[key]
    return out


def _settings(site: Site) -> dict:
    sm = site.snakemake
    out: dict = {"executor": sm.executor, "jobs": sm.jobs}
    if sm.restart_times:
        out["restart-times"] = sm.restart_times
    if sm.latency_wait is not None:
        out["latency-wait"] = sm.latency_wait.seconds
    for key, value in (("keep-going", sm.keep_going), ("rerun-incomplete", sm.rerun_incomplete),
                       ("printshellcmds", sm.printshellcmds)):
        if value is not None:
            out[key] = value
    if sm.executor == "slurm":
        out["slurm-logdir"] = sm.logdir.text
        if sm.keep_successful_logs is not None:
            out["slurm-keep-successful-logs"] = sm.keep_successful_logs
        if sm.delete_logs_older_than is not None:
            out["slurm-delete-logfiles-older-than"] = math.ceil(sm.delete_logs_older_than.seconds / 86400)
        if not site.accounting:
            # without slurmdbd, sacct fails and the plugin waits forever; squeue works
            out["slurm-status-command"] = "squeue"
    else:
        out.update(_generic_settings(site))
    if sm.resources:
        out["resources"] = {(f"{k}_mb" if k in ("mem", "disk") else k): (v.mib if hasattr(v, "mib") else v)
                            for k, v in sm.resources.items()}
    out.update(sm.options)
    return out


def _generic_settings(site: Site) -> dict:
    """The submit command: a str.format template (Snakemake fills in `{...}`) that runs in a shell.

    Every spec value in it is a quoted shell word: the log folder is written double-quoted (its
    `${VAR}` stay live) with braces escaped; per-rule values come from resources, quoted by the
    formatter's `:q` or, for the flags, already joined as shell words (`dvhpc_sbatch_flags`).
    """
    logdir = site.snakemake.logdir.text.rstrip("/") or "."
    rule_dir = format_escape(sh_runtime(logdir))[:-1] + '/{rule}"'
    # sbatch reads %-patterns in --output/--error: a literal % in the folder is %%
    log_file = format_escape(sh_runtime(logdir.replace("%", "%%")))[1:-1] + "/{rule}/%j"
    defaults = site.defaults
    parts = [
        f"mkdir -p -- {rule_dir} &&",
        "sbatch --parsable",
        '"--job-name=${{DVHPC_RUN_ID:-dvhpc}}-{rule}"',
        f'"--output={log_file}.out"',
        f'"--error={log_file}.err"',
    ]
    if defaults.get("partition"):
        parts.append("--partition={resources.slurm_partition:q}")
    if account_of(site, defaults):
        parts.append("--account={resources.slurm_account:q}")
    parts += ["--cpus-per-task={threads}", "--mem={resources.mem_mb}", "--time={resources.runtime}",
              "{resources.dvhpc_sbatch_flags}"]
    return {
        "cluster-generic-submit-cmd": " ".join(parts),
        "cluster-generic-status-cmd": "status.sh",
        "cluster-generic-cancel-cmd": "scancel",
    }


def profile_data(site: Site) -> dict:
    data = _settings(site)
    defaults = snakemake_resources(site, site.defaults)
    data["default-resources"] = defaults
    if site.rules:
        data["set-threads"] = {name: res.cpus for name, res in site.rules.items()}
        data["set-resources"] = {name: _neutralise(snakemake_resources(site, res), defaults)
                                 for name, res in site.rules.items()}
    return data


def files(site: Site) -> dict[str, GeneratedFile]:
    return {PROFILE: GeneratedFile(header(site) + dump(profile_data(site))), **scripts(site)}


def scripts(site: Site) -> dict[str, GeneratedFile]:
    """The profile's shell script: the job status command of the cluster-generic executor."""
    if site.snakemake.executor == "cluster-generic":
        return {STATUS: status_script(site)}  # templates/status.sh behind its data block
    return {}
