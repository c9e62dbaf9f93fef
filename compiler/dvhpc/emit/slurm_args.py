"""What a rule asks SLURM for, per executor: the Snakemake resources a backend emits and the
sbatch arguments they turn into. One place, so the profile, `resources.yaml` and `explain` agree.

A backend (one per `Executor`) turns a resolved request into profile resources (`ProfileValue`s:
a whole number, a string, a `Scaled` quantity, or flag words) and the sbatch words of an attempt.
The slurm backend's words are the executor plugin's own construction (snakemake-executor-plugin-
slurm 2.8.0 `get_submit_command`, `set_gres_string`, jobstep 0.6.1 `get_cpu_setting`) applied
to those resources, so what `resources.yaml` shows is what the plugin builds from the profile.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import Protocol

from dvhpc.model import keys
from dvhpc.model.keys import FORM_BY_RESOURCE, Form, Key
from dvhpc.model.quoting import in_class
from dvhpc.model.site import Attempt, Executor, GpuFlag, Resources, Site
from dvhpc.model.units import Scaled


@dataclass(frozen=True)
class FlagWords:
    """sbatch flags that travel as one string resource; a word may grow per attempt ((prefix, Scaled))."""

    words: tuple[str | tuple[str, Scaled], ...]

    def at(self, attempt: int) -> str:
        return shlex.join(w if isinstance(w, str) else f"{w[0]}{w[1].at(attempt).count}" for w in self.words)

    def expression(self) -> str:
        """The Python Snakemake evaluates: the text (keys.Form.STRING), or the words joined at run
        time (`str.join`: an expression starting with a quote is kept verbatim by Snakemake 9.1.5)."""
        if all(isinstance(w, str) for w in self.words):
            return str(Form.STRING.write(self.at(1)))
        parts = [repr(shlex.quote(w)) if isinstance(w, str) else f"{w[0]!r} + str({w[1].expression()})"
                 for w in self.words]
        return "str.join(' ', [" + ", ".join(parts) + "])"


@dataclass(frozen=True)
class PerThread:
    """Memory per CPU of a rule that sets no cpus: Snakemake multiplies it by the rule's threads
    (cluster-generic's --mem; the slurm plugin reads mem_mb_per_cpu itself)."""

    per_cpu: Scaled

    def expression(self) -> str:
        return f"({self.per_cpu.expression()}) * threads"


ProfileValue = int | str | Scaled | FlagWords | PerThread


def literal(text: str) -> str:
    """A string resource as the profile writes it (keys.Form.STRING: `str('gpu')`, never bare `gpu`)."""
    return str(Form.STRING.write(text))


def rendered(name: str, value: ProfileValue) -> int | str:
    """Resource `name` as the profile writes it: a constant in its key's form (keys.Form), read the
    same by every Snakemake of the version matrix; else the expression of `attempt`."""
    if isinstance(value, Scaled) and value.factor is None:
        return FORM_BY_RESOURCE.get(name, Form.COUNT).write(value.base.count)
    if isinstance(value, (Scaled, FlagWords, PerThread)):
        return value.expression()
    if isinstance(value, str):
        return literal(value)
    return FORM_BY_RESOURCE.get(name, Form.COUNT).write(value)


def at_attempt(value: ProfileValue, attempt: int) -> int | str:
    """A resource as Snakemake evaluates it at `attempt`."""
    if isinstance(value, Scaled):
        return value.at(attempt).count
    if isinstance(value, FlagWords):
        return value.at(attempt)
    if isinstance(value, PerThread):
        raise TypeError("memory per thread has no value before Snakemake knows the rule's threads")
    return value


def checked(key: Key, value):
    """A string value the plugin pastes into its shell line, checked against the schema's class."""
    return in_class(key.value_class, value, key.name) if key.value_class and isinstance(value, str) else value


def gpu_flag(site: Site, res: Resources) -> str | None:
    """The sbatch GPU flag for the site's `gpu_flag` style, or None without GPUs."""
    gpu = res.gpu
    if gpu is None:
        return None
    return {GpuFlag.GPUS: f"--gpus={gpu.typed}", GpuFlag.GRES: f"--gres=gpu:{gpu.typed}",
            GpuFlag.GPUS_PER_NODE: f"--gpus-per-node={gpu.typed}"}[site.gpu_flag]


def extra_flags(site: Site, res: Resources) -> tuple[str, ...]:
    """Flags that travel in slurm_extra: tasks per node, gpus-per-node style GPUs, the spec's own."""
    flags = []
    if res.value(keys.TASKS_PER_NODE):
        flags.append(f"--ntasks-per-node={res.value(keys.TASKS_PER_NODE)}")
    gpus = gpu_flag(site, res) if site.gpu_flag is GpuFlag.GPUS_PER_NODE else None
    if gpus:
        flags.append(gpus)
    for flag in res.slurm_extra:
        in_class("sbatch_flag", flag, "slurm_extra")
    return tuple(flags) + res.slurm_extra


def engine_defaults(res: Resources) -> dict[str, str]:
    """The keys every job has that no layer sets: what the engine picks for them."""
    return {key.name: key.engine_default for key in res.engine_picked()}


class Backend(Protocol):
    executor: Executor
    status_script: bool  # the profile needs profile/status.sh

    def resources(self, site: Site, res: Resources) -> dict[str, ProfileValue]: ...
    def neutral(self, rule: dict[str, ProfileValue], defaults: dict[str, ProfileValue]) -> dict[str, ProfileValue]: ...
    def sbatch_args(self, site: Site, res: Resources, attempt: Attempt) -> list[str]: ...


class SlurmPlugin:
    """`executor: slurm`: snakemake-executor-plugin-slurm 2.x reads the resources."""

    executor = Executor.SLURM
    status_script = False

    def resources(self, site: Site, res: Resources) -> dict[str, ProfileValue]:
        out: dict[str, ProfileValue] = {}
        for key in keys.PROFILE_ORDER:
            if key is keys.TASKS:
                tasks = plugin_tasks(site, res)
                if tasks:
                    out["tasks"] = tasks
            elif key is keys.GPUS:
                out.update(self.gpus(site, res))
            elif key is keys.SLURM_EXTRA:
                extra = extra_flags(site, res)
                if extra:
                    out["slurm_extra"] = " ".join(extra)
            elif key.snakemake is None or key not in res:
                continue
            elif key in res.requests:
                out[key.snakemake] = res.requests[key]
            else:
                out[key.snakemake] = checked(key, res.value(key))
        return out

    @staticmethod
    def gpus(site: Site, res: Resources) -> dict[str, ProfileValue]:
        gpu = res.gpu
        if gpu is None or site.gpu_flag is GpuFlag.GPUS_PER_NODE:
            return {}
        if site.gpu_flag is GpuFlag.GPUS:
            out: dict[str, ProfileValue] = {"gpu": gpu.count}
            if gpu.type:
                out["gpu_model"] = checked(keys.GPU_TYPE, gpu.type)
            return out
        return {"gres": f"gpu:{checked(keys.GPU_TYPE, gpu.type)}:{gpu.count}" if gpu.type else f"gpu:{gpu.count}"}

    @staticmethod
    def neutral(rule: dict[str, ProfileValue], defaults: dict[str, ProfileValue]) -> dict[str, ProfileValue]:
        """set-resources only overlays default-resources: switch off default keys a rule must not
        inherit (the plugin tests them for truth, so 0 / '' switch them off; constraint and qos
        cannot be, but rules inherit those from the defaults anyway)."""
        off: dict[str, ProfileValue] = {key.snakemake: key.off for key in keys.KEYS
                                        if key.snakemake and key.off is not None}
        off.update({"gpu": 0, "gpu_model": "", "gres": "", "tasks": 0, "slurm_extra": ""})  # this backend's own
        out = dict(rule)
        for name in defaults:
            if name not in rule and name in off:
                out[name] = off[name]
        return out

    def sbatch_args(self, site: Site, res: Resources, attempt: Attempt) -> list[str]:
        """The sbatch arguments (after the plugin's fixed prefix) the plugin builds at `attempt`."""
        values = self.resources(site, res)
        if not res.is_defaults:
            defaults = defaults_resources(self, site)
            values = {**defaults, **self.neutral(values, defaults)}
        return plugin_words({name: at_attempt(value, attempt.number) for name, value in values.items()})


def plugin_words(r: dict[str, int | str]) -> list[str]:
    """The sbatch words snakemake-executor-plugin-slurm 2.8.0 builds from a job's resources, after
    its fixed prefix; words the engine fills in itself (an account it guesses, the rule's threads,
    Snakemake's default mem_mb) are left out: `engine_defaults` names them."""
    gpu_job = bool(r.get("gpu")) or "gpu" in str(r.get("gres", ""))
    return _placement_words(r) + _task_words(r, gpu_job) + _extra_and_gpu_words(r)


def _placement_words(r: dict[str, int | str]) -> list[str]:
    """Account, partition, time, constraint, QOS, memory and nodes, in the plugin's order."""
    words: list[str] = []
    if r.get("slurm_account"):
        words += ["-A", str(r["slurm_account"])]
    if r.get("slurm_partition"):
        words += ["-p", str(r["slurm_partition"])]
    if r.get("runtime"):
        words += ["-t", str(r["runtime"])]
    if r.get("constraint") is not None:
        words += ["-C", str(r["constraint"])]
    if r.get("qos") is not None:
        words.append(f"--qos={r['qos']}")
    if r.get("mem_mb_per_cpu"):
        words += ["--mem-per-cpu", str(r["mem_mb_per_cpu"])]
    elif r.get("mem_mb"):
        words += ["--mem", str(r["mem_mb"])]
    if r.get("nodes") is not None:
        words.append(f"--nodes={r['nodes']}")
    return words


def _task_words(r: dict[str, int | str], gpu_job: bool) -> list[str]:
    """Tasks and CPUs: a GPU job gets tasks per GPU (no --ntasks), CPUs per task win over per GPU."""
    words: list[str] = []
    if gpu_job:
        per_gpu = r.get("tasks_per_gpu", r.get("tasks"))
        if isinstance(per_gpu, int) and per_gpu >= 1:
            words.append(f"--ntasks-per-gpu={per_gpu}")
    else:
        words.append(f"--ntasks={r.get('tasks') or 1}")
    cpus, per_gpu_cpus = r.get("cpus_per_task"), r.get("cpus_per_gpu")
    if isinstance(cpus, int) and cpus:
        if cpus > 0:
            words.append(f"--cpus-per-task={max(1, cpus)}")
    elif gpu_job and isinstance(per_gpu_cpus, int) and per_gpu_cpus:
        if per_gpu_cpus > 0:
            words.append(f"--cpus-per-gpu={per_gpu_cpus}")
    return words


def _extra_and_gpu_words(r: dict[str, int | str]) -> list[str]:
    """slurm_extra's own words, then the GPU request as gres or gpus."""
    words: list[str] = []
    if r.get("slurm_extra"):
        words += shlex.split(str(r["slurm_extra"]))
    if r.get("gres"):
        words.append(f"--gres={r['gres']}")
    if r.get("gpu_model"):
        words.append(f"--gpus={r['gpu_model']}:{r.get('gpu', 1)}")
    elif r.get("gpu"):
        words.append(f"--gpus={r['gpu']}")
    return words


def plugin_sees_gpu(site: Site, res: Resources) -> bool:
    """Whether the slurm plugin treats the job as a GPU job (it then sends no --ntasks)."""
    return res.gpu is not None and site.gpu_flag in (GpuFlag.GPUS, GpuFlag.GRES)


def plugin_tasks(site: Site, res: Resources) -> int | None:
    """The `tasks` resource to emit so the plugin's --ntasks agrees with --ntasks-per-node."""
    tasks, per_node = res.value(keys.TASKS), res.value(keys.TASKS_PER_NODE)
    if tasks:
        return tasks
    if per_node and not plugin_sees_gpu(site, res):
        return per_node * (res.value(keys.NODES) or 1)
    return None


_last_defaults: list = [None, None]  # (site, its defaults' resources): every rule of a site overlays them


def defaults_resources(backend: Backend, site: Site) -> dict[str, ProfileValue]:
    if _last_defaults[0] is not site:
        _last_defaults[:] = [site, backend.resources(site, site.defaults)]
    return _last_defaults[1]


def backend_for(site: Site) -> Backend:
    from dvhpc.emit.cluster_generic import ClusterGeneric

    backends: dict[Executor, Backend] = {Executor.SLURM: SlurmPlugin(), Executor.CLUSTER_GENERIC: ClusterGeneric()}
    return backends[site.snakemake.executor]


def sbatch_args(site: Site, res: Resources, attempt: Attempt) -> list[str]:
    """The sbatch arguments of one attempt, as the site's executor builds them."""
    return backend_for(site).sbatch_args(site, res, attempt)
