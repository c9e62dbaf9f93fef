"""Inputs of the `dvhpc tune` benchmark row (issue 18): a spec with many rules and a `sacct
--parsable2` export of their jobs, as a busy project's month of accounting looks.

Each job has its allocation row and `.batch` and `.extern` steps (three rows), plus a `.0` step
for one in three; runs are named by UUID and commented `rule_<rule>_wildcards_<w>` as the slurm
plugin does; about 4 % ran out of memory or time and were retried; some rows are other people's
interactive jobs. Deterministic (fixed seed).
"""

from __future__ import annotations

import random
import uuid
from pathlib import Path

SEED = 18
FIELDS = ("JobID|JobName|Comment|State|ExitCode|Partition|Submit|Elapsed|TotalCPU|AllocCPUS|ReqMem|Timelimit|"
          "MaxRSS|NNodes|WorkDir")


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    days, rest = divmod(seconds, 86400)
    text = f"{rest // 3600:02d}:{rest % 3600 // 60:02d}:{rest % 60:02d}"
    return f"{days}-{text}" if days else text


def spec_text(rules: int) -> str:
    lines = ["dvhpc: 1", "site: tunebench", "slurm:", "  partitions:",
             "    cpu: {default: true, max_time: 2d, cpus: 64, mem: 256G, nodes: 100}",
             "    gpu: {max_time: 2d, cpus: 32, mem: 512G, nodes: 10, gpus: {a100: 4}}",
             "snakemake: {restart_times: 1}", "resources:", "  defaults: {partition: cpu, cpus: 1, mem: 4G, time: 2h}",
             "  sets:", "    gpu_train: {partition: gpu, gpus: 1, gpu_type: a100, cpus: 8, mem: 64G, time: 12h}",
             "  rules:"]
    for index in range(rules):
        kind = index % 3
        if kind == 0:
            lines.append(f"    rule_{index:04d}: {{use: gpu_train}}  # a GPU rule")
        else:
            lines.append(f"    rule_{index:04d}: {{mem: {2 + index % 14}G, time: {1 + index % 9}h, cpus: {1 + kind}}}")
    return "\n".join(lines) + "\n"


def export_text(rules: int, rows: int) -> str:
    rng = random.Random(SEED)
    out = [FIELDS]
    job = 1_000_000
    runs = [str(uuid.UUID(int=rng.getrandbits(128))) for _ in range(40)]
    while len(out) <= rows:
        job += 1
        if rng.random() < 0.03:  # someone else's interactive job
            out.append(f"{job}|bash||COMPLETED|0:0|cpu|2026-11-0{1 + job % 9}T10:00:00|01:00:00|00:10:00|2|8G|"
                       f"02:00:00||1|/home/x")
            out.append(f"{job}.extern|extern||COMPLETED|0:0|cpu||01:00:00|00:00:00|2|||1024K|1|")
            continue
        index = rng.randrange(rules)
        rule = f"rule_{index:04d}"
        mem_g, hours = (64, 12) if index % 3 == 0 else (2 + index % 14, 1 + index % 9)
        used_mib = mem_g * 1024 * rng.uniform(0.2, 0.8)
        elapsed = hours * 3600 * rng.uniform(0.1, 0.7)
        state = "COMPLETED"
        roll = rng.random()
        if roll < 0.02:
            state, used_mib = "OUT_OF_MEMORY", mem_g * 1024.0
        elif roll < 0.04:
            state, elapsed = "TIMEOUT", hours * 3600.0
        cpus = 8 if index % 3 == 0 else 1 + index % 3
        cpu_time = elapsed * cpus * rng.uniform(0.3, 0.95)
        submit = f"2026-11-{1 + job % 28:02d}T{job % 24:02d}:{job % 60:02d}:00"
        comment = f"rule_{rule}_wildcards_sample={job % 500}"
        common = f"|{_clock(elapsed)}|{_clock(cpu_time)}.{job % 1000:03d}|{cpus}|"
        out.append(f"{job}|{runs[job % 40]}|{comment}|{state}|0:0|{'gpu' if index % 3 == 0 else 'cpu'}|{submit}"
                   f"{common}{mem_g}G|{_clock(hours * 3600)}||1|/scratch/p")
        out.append(f"{job}.batch|batch||{state}|0:0||{submit}{common}||{int(used_mib * 1024 * 0.6)}K|1|")
        out.append(f"{job}.extern|extern||COMPLETED|0:0||{submit}{common}||1024K|1|")
        if job % 3 == 0:
            out.append(f"{job}.0|python||{state}|0:0||{submit}{common}||{int(used_mib * 1024)}K|1|")
    return "\n".join(out[:rows + 1]) + "\n"


def write_inputs(folder: Path, rules: int = 300, rows: int = 100_000) -> tuple[Path, Path]:
    """(spec, export) in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    spec, export = folder / "tunebench.yaml", folder / "sacct-export.txt"
    spec.write_text(spec_text(rules))
    export.write_text(export_text(rules, rows))
    return spec, export
