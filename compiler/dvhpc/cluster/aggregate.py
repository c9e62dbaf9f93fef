"""Records of scontrol and sinfo merged into one `Partition` per SLURM partition, and host names
turned into the shell globs a spec's `detect.hostnames` takes."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from dvhpc.cluster.facts import Partition
from dvhpc.cluster.records import NodeRecord, PartitionRecord, SinfoRow
from dvhpc.cluster.values import expand_hostlist, format_memory
from dvhpc.model.units import MAX_SECONDS


def _range(values: list[int], fmt: Callable[[int], str] = str) -> str:
    return f"{fmt(min(values))} to {fmt(max(values))}"


def aggregate(partitions: Iterable[PartitionRecord] = (), nodes: Iterable[NodeRecord] = (),
              sinfo: Iterable[SinfoRow] = ()) -> list[Partition]:
    """One `Partition` per partition name, in order of first appearance.

    scontrol's partition records give the name, MaxTime, Default and node count; node records
    (else sinfo rows) give CPUs and memory (the smallest node) and GPUs (the largest count per
    type). MaxCPUsPerNode and MaxMemPerNode cap what a job can get on one node.
    """
    partitions, nodes, sinfo = list(partitions), list(nodes), list(sinfo)
    order: list[str] = []
    for name in [p.name for p in partitions] + [r.partition for r in sinfo] + \
            [p for n in nodes for p in (n.partitions or [])]:
        if name not in order:
            order.append(name)
    by_record: dict[str, PartitionRecord] = {}
    for record in partitions:
        by_record.setdefault(record.name, record)
    result: list[Partition] = []
    for name in order:
        rec = by_record.get(name)
        rows = [r for r in sinfo if r.partition == name]
        group = _members(name, rec, nodes)
        part = Partition(name=name)
        _take_limits(part, rec, rows)
        _count_nodes(part, rec, rows, group)
        _take_node_sizes(part, rows, group)
        if rec is not None:
            _apply_caps(part, rec, group)
        _check_ranges(part)
        result.append(part)
    defaults = [p for p in result if p.default]
    for extra in defaults[1:]:
        extra.default = False
        extra.notes.append(f"also marked default; '{defaults[0].name}' is used as the default")
    return result


def _members(name: str, rec: PartitionRecord | None, nodes: list[NodeRecord]) -> list[NodeRecord]:
    """The nodes of a partition: those naming it (Partitions=), else its record's Nodes= host list."""
    listed = [n for n in nodes if n.partitions is not None and name in n.partitions]
    if not listed and rec and rec.nodes and rec.nodes not in ("(null)", ""):
        by_node = {n.name: n for n in nodes}
        wanted = list(by_node) if rec.nodes.upper() == "ALL" else expand_hostlist(rec.nodes)
        listed = [by_node[n] for n in wanted if n in by_node]
    return listed


def _take_limits(part: Partition, rec: PartitionRecord | None, rows: list[SinfoRow]) -> None:
    """Default and MaxTime: scontrol first, sinfo fills in."""
    if rec is not None:
        part.default = rec.default
        part.max_time, part.unlimited = rec.max_time, rec.unlimited
        part.allow_accounts, part.deny_accounts = rec.allow_accounts, list(rec.deny_accounts)
        part.allow_qos, part.deny_qos, part.qos = rec.allow_qos, list(rec.deny_qos), rec.qos
        if rec.state and rec.state.upper() != "UP":
            part.notes.append(f"State={rec.state}")
    else:
        part.default = any(r.default for r in rows)
    timed = [r for r in rows if r.max_time is not None or r.unlimited]
    if timed and part.max_time is None and not part.unlimited:
        part.max_time, part.unlimited = timed[0].max_time, timed[0].unlimited


def _count_nodes(part: Partition, rec: PartitionRecord | None, rows: list[SinfoRow],
                 group: list[NodeRecord]) -> None:
    if rec is not None and rec.total_nodes is not None:
        part.nodes = rec.total_nodes
    elif group:
        part.nodes = len(group)
    elif rows and any(r.nodes is not None for r in rows):
        if all(r.nodelist for r in rows) and all(r.nodes == 1 for r in rows):  # sinfo -N: a row per node
            part.nodes = len({r.nodelist for r in rows})
        else:
            part.nodes = sum(r.nodes or 0 for r in rows)


def _take_node_sizes(part: Partition, rows: list[SinfoRow], group: list[NodeRecord]) -> None:
    """CPUs and memory of the smallest node, GPUs of the best-equipped: node records, else sinfo rows."""
    cpus = [n.cpus for n in group if n.cpus]
    mems = [n.mem for n in group if n.mem and n.mem > 1]
    gpu_maps = [n.gpus for n in group]
    from_sinfo = not group and bool(rows)
    if from_sinfo:
        cpus = [r.cpus for r in rows if r.cpus]
        mems = [r.mem for r in rows if r.mem and r.mem > 1]
        gpu_maps = [r.gpus or {} for r in rows]
    varied = []
    for key, values, label, fmt in (("cpus", cpus, "CPUs", str), ("mem", mems, "memory", format_memory)):
        if not values:
            continue
        setattr(part, key, min(values))
        plus = from_sinfo and any(key in r.varies for r in rows)  # sinfo's `48+`
        if len(set(values)) > 1 or plus:
            shown = _range(values, fmt) if len(set(values)) > 1 else fmt(min(values))
            varied.append(f"{shown}{'+' if plus else ''} {label}")
    if varied:
        part.notes.append(f"nodes differ ({', '.join(varied)}): the smallest is used, so every node fits")
    if group and len(mems) < len(group):
        part.notes.append(f"{len(group) - len(mems)} node(s) report no RealMemory; left out of the minimum")
    _take_gpus(part, gpu_maps)


def _take_gpus(part: Partition, gpu_maps: list[dict[str, int]]) -> None:
    gpus: dict[str, int] = {}
    for gmap in gpu_maps:
        for gtype, count in gmap.items():
            gpus[gtype] = max(gpus.get(gtype, 0), count)
    for gtype in sorted(gpus):
        counts = [g.get(gtype, 0) for g in gpu_maps if g.get(gtype)]
        if len(set(counts)) > 1:
            part.notes.append(f"{gtype} GPUs per node range {_range(counts)}: the largest is used")
    if gpus and any(not g for g in gpu_maps):
        part.notes.append("some nodes have no GPUs")
    if "gpu" in gpus:
        part.notes.append("GPUs without a type (gpu:N): leave gpu_type unset for this partition")
    part.gpus = dict(sorted(gpus.items()))


def _apply_caps(part: Partition, rec: PartitionRecord, group: list[NodeRecord]) -> None:
    """MaxCPUsPerNode and MaxMemPerNode cap a job on one node; totals hint where node records are missing."""
    if rec.max_cpus_per_node and (part.cpus is None or rec.max_cpus_per_node < part.cpus):
        part.notes.append(f"MaxCPUsPerNode={rec.max_cpus_per_node} caps CPUs per job and node")
        part.cpus = rec.max_cpus_per_node
    if rec.max_mem_per_node and (part.mem is None or rec.max_mem_per_node < part.mem):
        part.notes.append(f"MaxMemPerNode={rec.max_mem_per_node} caps memory per job and node")
        part.mem = rec.max_mem_per_node
    if part.cpus is None and rec.total_cpus and rec.total_nodes:
        part.notes.append(f"about {rec.total_cpus // rec.total_nodes} CPUs per node on average "
                          "(TotalCPUs/TotalNodes); add `scontrol show node -o` output for exact values")
    if not part.gpus and rec.tres.get("gres/gpu") and not group:
        part.notes.append(f"{rec.tres['gres/gpu']} GPUs in total (TRES); add `scontrol show node -o` output "
                          "for the types and counts per node")


def _check_ranges(part: Partition) -> None:
    """UNLIMITED, out-of-range MaxTime and zero nodes become "not set", with a note."""
    if part.unlimited:
        part.notes.append("MaxTime UNLIMITED: no max_time")
    elif part.max_time is not None and (part.max_time <= 0 or part.max_time > MAX_SECONDS):
        part.notes.append(f"MaxTime of {part.max_time} s is outside what dvhpc accepts: no max_time")
        part.max_time = None
    if part.nodes == 0:
        part.notes.append("no nodes")
        part.nodes = None


def hostname_globs(names: Iterable[str], limit: int = 4) -> list[str]:
    """Shell globs for host names: `cn001` -> `cn*`, `log-2.hpc.example.edu` -> `log-*` and
    `*.hpc.example.edu`; names without a numbered part are kept as they are."""
    globs: list[str] = []
    for name in names:
        short, _, domain = name.partition(".")
        prefix = re.sub(r"\d+$", "", short)
        for glob in ([f"{prefix}*" if prefix and prefix != short else short] +
                     ([f"*.{domain}"] if domain.count(".") >= 1 and not domain.startswith("local") else [])):
            if glob and glob not in globs:
                globs.append(glob)
    return globs[:limit]
