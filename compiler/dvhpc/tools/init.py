"""`dvhpc init`: scaffold a commented site spec from what the cluster itself says.

The facts come from `dvhpc.cluster` (recorded `--from` outputs or the live cluster); this module
writes them as a spec that `dvhpc validate` and `dvhpc lint` accept.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from dvhpc.cluster.facts import ClusterFacts, ClusterFactsError, ClusterUnreachable, Partition
from dvhpc.cluster.live import Runner, from_live, run_command
from dvhpc.cluster.recorded import from_files
from dvhpc.cluster.values import NAME_RE, format_duration, format_memory
from dvhpc.model.units import KIB
from dvhpc.report.textsafe import printable

SITE_RE = re.compile(r"^[a-z][a-z0-9_-]*$")
SCHEMA_REF = "../schema/site.schema.json"


class InitError(Exception):
    """Init cannot go on (no SLURM commands, an unreadable or unrecognised --from file, a bad site name)."""


@dataclass
class InitResult:
    """The spec text and the facts it was written from."""

    text: str
    facts: ClusterFacts


_RESERVED = {"y", "n", "yes", "no", "on", "off", "true", "false", "null", "~"}


def _scalar(value: object) -> str:
    """A YAML scalar that reads back as the same value."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    text = str(value)
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_./-]*", text) and text.lower() not in _RESERVED \
            and not re.fullmatch(r"[-+]?(\.inf|\.nan)", text, re.I):
        return text
    if re.fullmatch(r"\d+(\.\d+)?[a-zA-Z][a-zA-Z0-9.]*", text) and \
            not re.fullmatch(r"\d+(\.\d*)?e[-+]?\d+|0[xob][0-9a-f_]+", text, re.I):
        return text  # 2d, 180G, 1d12h
    return json.dumps(text)


def _flow(mapping: dict) -> str:
    items = []
    for key, value in mapping.items():
        items.append(f"{_scalar(key)}: {_flow(value) if isinstance(value, dict) else _scalar(value)}")
    return "{" + ", ".join(items) + "}"


def _line(text: str, comment: str | None = None, column: int = 38) -> str:
    if not comment:
        return text
    return f"{text.ljust(column - 1)} # {comment}" if len(text) < column - 1 else f"{text}  # {comment}"


def _fit_time(want: int, limit: int | None, factor: float = 1.0) -> int:
    """`want` seconds, or less so that `factor` times it stays within `limit` (whole minutes)."""
    if limit is None:
        return want
    return max(60, min(want, int(limit / factor) // 60 * 60))


def _fit_mem(want: int, limit: int | None, factor: int = 1) -> int:
    """`want` MiB, or less so that `factor` times it fits `limit` (whole GiB from 8G up)."""
    if limit is None:
        return want
    room = limit // factor
    if room >= want:
        return want
    return max(1, room // KIB * KIB if room >= 8 * KIB else room)


def scaffold(site: str, partitions: list[Partition], accounts: list[str], accounting: bool | None, *,
             cluster_name: str | None = None, hostnames: Iterable[str] = (), sources: Iterable[str] = (),
             notes: Iterable[str] = (), schema_ref: str = SCHEMA_REF) -> str:
    """The commented site spec (YAML text). `accounting` None = not known (written as false, with a note)."""
    if not SITE_RE.match(site) or len(site) > 64:
        raise InitError(f"site name {site!r} must be lowercase letters, digits, '_' and '-', starting with a letter")
    valid = [p for p in partitions if NAME_RE.match(p.name)]
    default = next((p for p in valid if p.default), None)
    lines = [
        *_head(site, list(sources), notes, cluster_name, schema_ref),
        *_detect(cluster_name or site, not cluster_name, list(hostnames)),
        *_slurm(accounts, accounting),
        *_partitions(valid, [p for p in partitions if p not in valid]),
        *_snakemake(),
        *_resources(valid, default),
        "# environment:                      # how the runner and the jobs get their software, e.g.",
        "#   modules: {purge: true, load: [anaconda3]}",
        "#   conda: my-env",
    ]
    if accounting and not accounts:
        lines += ["", "lint:",
                  "  ignore: [DV321]                   # no account known yet: remove once slurm.account is set"]
    # Each item is one line of YAML. File names, notes and account names from the input reach
    # comments: a line break (NEL, U+2028/9 included) or a control character in them is escaped,
    # so no input can start a line of its own (a key) or hide text from the reader.
    return "\n".join(printable(line) for line in lines) + "\n"


def _head(site: str, sources: list[str], notes: Iterable[str], cluster_name: str | None,
          schema_ref: str) -> list[str]:
    out = [f"# yaml-language-server: $schema={schema_ref}",
           f"# Site spec for '{site}', scaffolded by `dvhpc init`" + (" from:" if sources else ".")]
    line = "#  "
    for index, source in enumerate(sources):
        piece = f" {source}" + ("," if index < len(sources) - 1 else "")
        if len(line) + len(piece) > 100 and line != "#  ":
            out.append(line)
            line = "#  "
        line += piece
    if sources:
        out.append(line)
    out.append("# Check every value (limits are per node: the smallest node of each partition, so a request")
    out.append(f"# that fits fits every node), then: dvhpc validate {site}.yaml && dvhpc lint {site}.yaml")
    out += [f"# - {note}" for note in notes]
    return out + ["dvhpc: 1", f"site: {site}",
                  f"description: {_scalar(f'SLURM cluster {cluster_name or site} (scaffolded by dvhpc init)')}", ""]


def _detect(env_name: str, name_guessed: bool, globs: list[str]) -> list[str]:
    out = [_line("detect:", '"am I on this cluster?" at run time: true if any entry matches'),
           _line(f"  env: {_flow({'SLURM_CLUSTER_NAME': env_name})}",
                 "set inside jobs" + ("; the ClusterName was not known, check it" if name_guessed else ""))]
    if globs:
        out.append(_line(f"  hostnames: [{', '.join(json.dumps(g) for g in globs)}]",
                         "shell-style globs: add the login nodes"))
    else:
        out.append('  # hostnames: ["login*.example.org"]  # shell-style globs for the login nodes')
    return out + [""]


def _slurm(accounts: list[str], accounting: bool | None) -> list[str]:
    out = ["slurm:"]
    if accounts:
        others = accounts[1:]
        out.append(_line(f"  account: {_scalar(accounts[0])}", f"yours too: {', '.join(others)}" if others
                         else "sent with every job unless a rule overrides it"))
    elif accounting:
        out.append(_line("  # account: <your account>", "no account of yours was listed; ask your admins"))
    if accounting is None:
        out.append(_line("  accounting: false", "not known from the input: true if `sacct` works (then set account)"))
    else:
        out.append(_line(f"  accounting: {_scalar(accounting)}",
                         "slurmdbd accounting: sacct works" if accounting else "no slurmdbd: job status via squeue"))
    return out + [_line("  gpu_flag: gpus", "how GPUs are requested: gpus | gres | gpus-per-node")]


def _partitions(valid: list[Partition], invalid: list[Partition]) -> list[str]:
    out = [f"  # partition {bad.name!r} is not a valid name and was left out" for bad in invalid]
    if not valid:
        return out + ["  partitions: {}                    # none found", ""]
    out.append(_line("  partitions:", "limits per node"))
    width = max(len(_scalar(p.name)) for p in valid) + 1
    for part in valid:
        out += [f"    # {part.name}: {note}" for note in part.notes]
        out.append(f"    {(_scalar(part.name) + ':').ljust(width)} {_flow(_partition_entry(part))}")
    return out + [""]


def _partition_entry(part: Partition) -> dict[str, object]:
    entry: dict[str, object] = {}
    if part.default:
        entry["default"] = True
    if part.max_time_text:
        entry["max_time"] = part.max_time_text
    if part.cpus and 1 <= part.cpus <= 100000:
        entry["cpus"] = part.cpus
    if part.mem_text:
        entry["mem"] = part.mem_text
    if part.nodes and 1 <= part.nodes <= 1000000:
        entry["nodes"] = part.nodes
    gpus = {k: min(v, 1024) for k, v in part.gpus.items()}
    if gpus:
        entry["gpus"] = gpus
    return entry


def _snakemake() -> list[str]:
    return ["snakemake:", *(_line(f"  {key}: {_scalar(value)}", comment) for key, value, comment in (
        ("executor", "slurm", "slurm (executor plugin) | cluster-generic (sbatch template)"),
        ("jobs", 100, "jobs queued or running at once"),
        ("latency_wait", "60s", "shared file systems can be slow to show outputs"),
        ("restart_times", 1, "retries of a failed job; `retry` factors grow mem/time"),
        ("keep_going", True, None),
        ("rerun_incomplete", True, None),
        ("printshellcmds", True, None),
        ("logdir", "logs/slurm", "${VAR} and ~ allowed, kept for run time"),
        ("keep_successful_logs", False, None),
        ("delete_logs_older_than", "10d", None),
    )), ""]


def _resources(valid: list[Partition], default: Partition | None) -> list[str]:
    limit_time = default.max_time if default else None
    limit_mem = default.mem if default else None
    defaults: dict[str, object] = {"partition": default.name} if default else {}
    defaults["cpus"] = 1
    defaults["mem"] = format_memory(_fit_mem(4 * KIB, limit_mem))
    defaults["time"] = format_duration(_fit_time(3600, limit_time))
    with_gpus = [p for p in valid if p.gpus]
    gpu_part = next((p for p in with_gpus if "gpu" in p.name.lower()), None) or \
        next((p for p in with_gpus if not p.default), None) or next(iter(with_gpus), None)
    small = {"cpus": 1, "mem": format_memory(_fit_mem(2 * KIB, limit_mem)),
             "time": format_duration(_fit_time(900, limit_time))}
    return [
        "resources:",
        _line(f"  defaults: {_flow(defaults)}",
              "every rule without its own values" if default else "no default partition found: SLURM picks one"),
        "  # Examples (uncomment and adapt): named sets that rules `use`, and per-rule resources.",
        "  # sets:",
        *(f"  #   {name}: {_flow(values)}" for name, values in _example_sets(default or next(iter(valid), None),
                                                                        gpu_part)),
        "  # rules:                          # Snakemake rule name -> resources, or the name of a set",
        "  #   prepare_data: bigger",
        f"  #   train_model: {{use: {'gpu_job' if gpu_part else 'bigger'}, retry: {{mem: 2x, time: 1.5x}}}}",
        f"  #   plot_results: {_flow(small)}",
        "",
    ]


def _example_sets(base: Partition | None, gpu_part: Partition | None) -> list[tuple[str, dict[str, object]]]:
    """The commented `sets` of the scaffold: a bigger CPU job, and a GPU job where a partition has GPUs."""
    big: dict[str, object] = {"partition": base.name} if base else {}
    big["cpus"] = min(8, base.cpus) if base and base.cpus else 8
    big["mem"] = format_memory(_fit_mem(32 * KIB, base.mem if base else None, 2))
    big["time"] = format_duration(_fit_time(12 * 3600, base.max_time if base else None, 1.5))
    sets: list[tuple[str, dict[str, object]]] = [("bigger", big)]
    if gpu_part:
        gpu_set: dict[str, object] = {"partition": gpu_part.name, "gpus": 1}
        typed = [t for t in gpu_part.gpus if t != "gpu"]
        if typed:
            gpu_set["gpu_type"] = typed[0]
        gpu_set["cpus"] = min(8, gpu_part.cpus) if gpu_part.cpus else 8
        gpu_set["mem"] = format_memory(_fit_mem(32 * KIB, gpu_part.mem, 2))
        gpu_set["time"] = format_duration(_fit_time(4 * 3600, gpu_part.max_time, 1.5))
        sets.append(("gpu_job", gpu_set))
    return sets


FROM_HINT = (
    "run `dvhpc init` on a login node of the cluster, or save these there and pass them with --from:\n"
    "  scontrol show partition -o > partitions.txt\n"
    "  scontrol show node -o > nodes.txt\n"
    "  scontrol show config > config.txt\n"
    "  sacctmgr -n -P show assoc user=$USER format=account > accounts.txt\n"
    "  dvhpc init --site NAME --from partitions.txt --from nodes.txt --from config.txt --from accounts.txt"
)


def init_site(site: str, from_paths: Iterable[str | Path] = (), *, run: Runner = run_command,
              user: str | None = None) -> InitResult:
    """The site spec for `site`: from `--from` files when given, else from the live cluster."""
    if not SITE_RE.match(site) or len(site) > 64:
        raise InitError(f"site name {site!r} must be lowercase letters, digits, '_' and '-', starting with a letter")
    paths = list(from_paths)
    try:
        facts = from_files(paths, user) if paths else from_live(run, user)
    except ClusterUnreachable as exc:
        raise InitError(f"{exc}; {FROM_HINT}") from exc
    except ClusterFactsError as exc:
        raise InitError(str(exc)) from exc
    text = scaffold(site, facts.partitions, facts.accounts, facts.accounting, cluster_name=facts.cluster_name,
                    hostnames=facts.hostnames, sources=[Path(s).name if paths else s for s in facts.sources],
                    notes=facts.notes)
    return InitResult(text, facts)
