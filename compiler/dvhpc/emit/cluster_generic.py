"""`executor: cluster-generic`: an sbatch template that Snakemake fills in per job.

The submit command is a str.format template that runs in a shell. A key is a field of the template
(`--time={resources.runtime}`) when resources.defaults sets it, so every rule has it; a rule's key
that the defaults leave unset travels with the rule's other flags in `dvhpc_sbatch_flags`, one
shell-quoted word each (grown per attempt by a Python expression when it scales). Memory is always
sent as --mem: memory per CPU becomes mem_per_cpu x cpus (one node).
"""

from __future__ import annotations

import shlex

from dvhpc.emit.slurm_args import FlagWords, PerThread, ProfileValue, checked, extra_flags, gpu_flag
from dvhpc.model import keys
from dvhpc.model.keys import Key, Template
from dvhpc.model.quoting import format_escape, sh_runtime
from dvhpc.model.site import Attempt, Executor, GpuFlag, Resources, Site
from dvhpc.model.units import Memory, Scaled

# the template's fields, in the order it lists them: key -> (flag, resource name)
_FIELDS: dict[Key, tuple[str, str]] = {
    keys.PARTITION: ("--partition=", "slurm_partition"), keys.ACCOUNT: ("--account=", "slurm_account"),
    keys.MEM: ("--mem=", "mem_mb"), keys.TIME: ("--time=", "runtime"),
}


class ClusterGeneric:
    executor = Executor.CLUSTER_GENERIC
    status_script = True

    @staticmethod
    def fields(site: Site) -> list[Key]:
        """The keys that are template fields: those resources.defaults sets (every rule has them)."""
        defaults = site.defaults
        return [key for key in _FIELDS if (_memory(defaults) is not None if key is keys.MEM else key in defaults)]

    def resources(self, site: Site, res: Resources) -> dict[str, ProfileValue]:
        out: dict[str, ProfileValue] = {}
        fields = self.fields(site)
        for key in (keys.PARTITION, keys.ACCOUNT):
            if key in fields and key in res:
                out[_FIELDS[key][1]] = checked(key, res.value(key))
        if keys.TIME in fields and keys.TIME in res.requests:
            out["runtime"] = res.requests[keys.TIME]
        memory = _memory(res)
        if keys.MEM in fields and memory is not None:
            out["mem_mb"] = memory
        cpus = res.value(keys.CPUS)
        if cpus is not None:
            out["cpus_per_task"] = cpus
        if keys.DISK in res.requests:
            out["disk_mb"] = res.requests[keys.DISK]
        out["dvhpc_sbatch_flags"] = FlagWords(tuple(self.flags(site, res)))
        return out

    @staticmethod
    def neutral(rule: dict[str, ProfileValue], _defaults: dict[str, ProfileValue]) -> dict[str, ProfileValue]:
        return rule  # every rule's flags are its own; template fields are in every rule

    def flags(self, site: Site, res: Resources) -> list[str | tuple[str, Scaled]]:
        """The rule's own flags: template keys the defaults leave unset, then the others."""
        fields = self.fields(site)
        words: list[str | tuple[str, Scaled]] = []
        for key, (flag, _name) in _FIELDS.items():
            if key in fields:
                continue
            if key is keys.MEM:
                memory = _memory(res)
                if isinstance(memory, Scaled):
                    words.append(_word(flag, memory))
            elif key in res.requests:
                words.append(_word(flag, res.requests[key]))
            elif key in res:
                words.append(f"{flag}{checked(key, res.value(key))}")
        for key in keys.PROFILE_ORDER:
            if key.generic is Template.FLAG and key in res:
                words.append(f"{key.sbatch}={checked(key, res.value(key))}")
        if res.value(keys.TASKS):
            words.append(f"--ntasks={res.value(keys.TASKS)}")
        gpus = gpu_flag(site, res)  # None without GPUs
        if gpus is not None and site.gpu_flag is not GpuFlag.GPUS_PER_NODE:
            words.append(gpus)
        return words + list(extra_flags(site, res))

    def sbatch_args(self, site: Site, res: Resources, attempt: Attempt) -> list[str]:
        """The words of the template after its fixed prefix, at `attempt`."""
        args = []
        fields = self.fields(site)
        for key in (keys.PARTITION, keys.ACCOUNT):
            if key in fields and key in res:
                args.append(f"{_FIELDS[key][0]}{res.value(key)}")
        if keys.CPUS in res:
            args.append(f"--cpus-per-task={res.value(keys.CPUS)}")
        memory = _memory(res)
        if keys.MEM in fields and isinstance(memory, Scaled):
            args.append(f"--mem={memory.at(attempt.number).count}")
        if keys.TIME in fields and keys.TIME in res.requests:
            args.append(f"--time={res.requests[keys.TIME].at(attempt.number).count}")
        return args + shlex.split(FlagWords(tuple(self.flags(site, res))).at(attempt.number))


def _word(flag: str, scaled: Scaled) -> str | tuple[str, Scaled]:
    return (flag, scaled) if scaled.factor is not None else f"{flag}{scaled.base.count}"


def _memory(res: Resources) -> Scaled | PerThread | None:
    """What --mem asks for: mem, or mem_per_cpu x cpus (x the rule's threads without cpus)."""
    if keys.MEM_PER_CPU in res.requests:
        per_cpu = res.requests[keys.MEM_PER_CPU]
        cpus = res.value(keys.CPUS)
        if cpus is None:
            return PerThread(per_cpu)
        cap = res.partition.mem if res.partition is not None else None
        return Scaled(Memory(per_cpu.base.mib * cpus), per_cpu.factor, cap)
    return res.requests.get(keys.MEM)


def submit_command(site: Site) -> str:
    """The submit command: every spec value in it is a quoted shell word. The log folder is written
    double-quoted (its `${VAR}` stay live) with braces escaped; per-rule values come from resources,
    quoted by the formatter's `:q` or already joined as shell words (`dvhpc_sbatch_flags`)."""
    logdir = site.snakemake.logdir.text.rstrip("/") or "."
    rule_dir = format_escape(sh_runtime(logdir))[:-1] + '/{rule}"'
    # sbatch reads %-patterns in --output/--error: a literal % in the folder is %%
    log_file = format_escape(sh_runtime(logdir.replace("%", "%%")))[1:-1] + "/{rule}/%j"
    parts = [
        f"mkdir -p -- {rule_dir} &&",
        "sbatch --parsable",
        '"--job-name=${{DVHPC_RUN_ID:-dvhpc}}-{rule}"',
        f'"--output={log_file}.out"',
        f'"--error={log_file}.err"',
        "--comment=rule_{rule}",  # as the slurm plugin comments its jobs: `jobs.sh status` shows the rule
    ]
    fields = ClusterGeneric.fields(site)
    for name in (keys.PARTITION, keys.ACCOUNT):
        if name in fields:
            parts.append(f"{_FIELDS[name][0]}{{resources.{_FIELDS[name][1]}:q}}")
    parts.append("--cpus-per-task={threads}")
    for amount in (keys.MEM, keys.TIME):
        if amount in fields:
            parts.append(f"{_FIELDS[amount][0]}{{resources.{_FIELDS[amount][1]}}}")
    parts.append("{resources.dvhpc_sbatch_flags}")
    return " ".join(parts)
