"""What a rule asks SLURM for, per executor: the Snakemake resources we emit and the sbatch
arguments they turn into. One place, so the profile, `resources.yaml` and `explain` agree.

The slurm executor's mapping follows snakemake-executor-plugin-slurm 2.8 (`get_submit_command`):
-A, -p, -t, -C, --qos, --mem/--mem-per-cpu, --nodes, --ntasks*, --cpus-per-task, slurm_extra,
then --gres/--gpus.
"""

from __future__ import annotations

from dataclasses import dataclass

from dvhpc.model.site import Attempt, Resources, Site
from dvhpc.model.units import Factor


@dataclass(frozen=True)
class Request:
    """A rule's request at one attempt, in SLURM's units."""

    partition: str | None
    account: str | None
    qos: str | None
    constraint: str | None
    minutes: int
    mem_mib: int | None
    mem_per_cpu_mib: int | None
    cpus: int
    nodes: int | None
    tasks: int | None
    gpus: int
    gpu_type: str | None
    extra: tuple[str, ...]


def account_of(site: Site, res: Resources) -> str | None:
    return res.get("account") or (site.account.value if site.account else None)


def gpu_flag(site: Site, res: Resources) -> str | None:
    """The sbatch GPU flag for the site's `gpu_flag` style, or None without GPUs."""
    if res.gpus <= 0:
        return None
    typed = f"{res.get('gpu_type')}:{res.gpus}" if res.get("gpu_type") else str(res.gpus)
    return {"gpus": f"--gpus={typed}", "gres": f"--gres=gpu:{typed}", "gpus-per-node": f"--gpus-per-node={typed}"}[site.gpu_flag]


def plugin_sees_gpu(site: Site, res: Resources) -> bool:
    """Whether the slurm plugin treats the job as a GPU job (it then sends no --ntasks)."""
    return res.gpus > 0 and site.gpu_flag in ("gpus", "gres")


def extra_flags(site: Site, res: Resources) -> tuple[str, ...]:
    """Flags that travel in slurm_extra: tasks per node, gpus-per-node style GPUs, the spec's own."""
    flags = []
    if res.get("tasks_per_node"):
        flags.append(f"--ntasks-per-node={res.get('tasks_per_node')}")
    if site.gpu_flag == "gpus-per-node" and res.gpus > 0:
        flags.append(gpu_flag(site, res))
    return tuple(flags) + res.slurm_extra


def request(site: Site, res: Resources, attempt: Attempt) -> Request:
    return Request(
        partition=res.get("partition"),
        account=account_of(site, res),
        qos=res.get("qos"),
        constraint=res.get("constraint"),
        minutes=attempt.minutes,
        mem_mib=attempt.mem_mib if attempt.mem_per_cpu_mib is None else None,
        mem_per_cpu_mib=attempt.mem_per_cpu_mib,
        cpus=res.cpus,
        nodes=res.get("nodes"),
        tasks=res.get("tasks"),
        gpus=res.gpus,
        gpu_type=res.get("gpu_type"),
        extra=extra_flags(site, res),
    )


def plugin_tasks(site: Site, res: Resources) -> int | None:
    """The `tasks` resource to emit so the plugin's --ntasks agrees with --ntasks-per-node."""
    if res.get("tasks"):
        return res.get("tasks")
    if res.get("tasks_per_node") and not plugin_sees_gpu(site, res):
        return res.get("tasks_per_node") * (res.get("nodes") or 1)
    return None


def sbatch_args(site: Site, res: Resources, attempt: Attempt) -> list[str]:
    """The sbatch arguments (after the plugin's fixed prefix) for one attempt."""
    req = request(site, res, attempt)
    if site.snakemake.executor == "cluster-generic":
        return generic_args(site, res, attempt)
    args = []
    if req.account:
        args += ["-A", req.account]
    if req.partition:
        args += ["-p", req.partition]
    args += ["-t", str(req.minutes)]
    if req.constraint:
        args += ["-C", req.constraint]
    if req.qos:
        args.append(f"--qos={req.qos}")
    if req.mem_per_cpu_mib is not None:
        args += ["--mem-per-cpu", str(req.mem_per_cpu_mib)]
    elif req.mem_mib is not None:
        args += ["--mem", str(req.mem_mib)]
    if req.nodes:
        args.append(f"--nodes={req.nodes}")
    tasks = plugin_tasks(site, res)
    if plugin_sees_gpu(site, res):
        if tasks:
            args.append(f"--ntasks-per-gpu={tasks}")
    else:
        args.append(f"--ntasks={tasks or 1}")
    args.append(f"--cpus-per-task={req.cpus}")
    args += list(req.extra)
    if plugin_sees_gpu(site, res):
        args.append(gpu_flag(site, res))
    return args


def generic_mem_mib(attempt: Attempt, res: Resources) -> int:
    """cluster-generic always sends --mem: mem_per_cpu becomes mem_per_cpu x cpus (one node)."""
    if attempt.mem_per_cpu_mib is not None:
        return attempt.mem_per_cpu_mib * res.cpus
    return attempt.mem_mib or 0


def generic_flags(site: Site, res: Resources) -> list[str]:
    """The per-rule flags of the cluster-generic template that not every rule has."""
    flags = []
    if res.get("constraint"):
        flags.append(f"--constraint={res.get('constraint')}")
    if res.get("qos"):
        flags.append(f"--qos={res.get('qos')}")
    if res.get("nodes"):
        flags.append(f"--nodes={res.get('nodes')}")
    if res.get("tasks"):
        flags.append(f"--ntasks={res.get('tasks')}")
    if res.gpus > 0 and site.gpu_flag != "gpus-per-node":
        flags.append(gpu_flag(site, res))
    return flags + list(extra_flags(site, res))


def generic_args(site: Site, res: Resources, attempt: Attempt) -> list[str]:
    args = []
    if res.get("partition"):
        args.append(f"--partition={res.get('partition')}")
    account = account_of(site, res)
    if account:
        args.append(f"--account={account}")
    args += [f"--cpus-per-task={res.cpus}", f"--mem={generic_mem_mib(attempt, res)}", f"--time={attempt.minutes}"]
    return args + generic_flags(site, res)


def scaled_expression(base: int, factor: Factor | None, cap: int | None) -> int | str:
    """An integer, or the Snakemake expression of `attempt` that scales it (capped at `cap`)."""
    if factor is None:
        return base
    expression = f"int({base} * {factor.literal} ** (attempt - 1))"
    if cap is not None:
        expression = f"min({expression}, {max(cap, base)})"
    return expression
