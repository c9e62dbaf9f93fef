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
    out: list[str] = []

    def add(line: str) -> None:
        # Each call is one line of YAML. File names, notes and account names from the input reach
        # comments: a line break (NEL, U+2028/9 included) or a control character in them is escaped,
        # so no input can start a line of its own (a key) or hide text from the reader.
        out.append(printable(line))

    sources = list(sources)
    add(f"# yaml-language-server: $schema={schema_ref}")
    add(f"# Site spec for '{site}', scaffolded by `dvhpc init`" + (" from:" if sources else "."))
    line = "#  "
    for index, source in enumerate(sources):
        piece = f" {source}" + ("," if index < len(sources) - 1 else "")
        if len(line) + len(piece) > 100 and line != "#  ":
            add(line)
            line = "#  "
        line += piece
    if sources:
        add(line)
    add("# Check every value (limits are per node: the smallest node of each partition, so a request")
    add(f"# that fits fits every node), then: dvhpc validate {site}.yaml && dvhpc lint {site}.yaml")
    for note in notes:
        add(f"# - {note}")
    add("dvhpc: 1")
    add(f"site: {site}")
    add(f"description: {_scalar(f'SLURM cluster {cluster_name or site} (scaffolded by dvhpc init)')}")
    add("")

    # detect
    add(_line("detect:", '"am I on this cluster?" at run time: true if any entry matches'))
    env_name = cluster_name or site
    add(_line(f"  env: {_flow({'SLURM_CLUSTER_NAME': env_name})}",
              "set inside jobs" + ("" if cluster_name else "; the ClusterName was not known, check it")))
    globs = list(hostnames)
    if globs:
        add(_line(f"  hostnames: [{', '.join(json.dumps(g) for g in globs)}]",
                  "shell-style globs: add the login nodes"))
    else:
        add('  # hostnames: ["login*.example.org"]  # shell-style globs for the login nodes')
    add("")

    # slurm
    add("slurm:")
    known_accounting = accounting is not None
    accounting_value = bool(accounting)
    if accounts:
        others = accounts[1:]
        add(_line(f"  account: {_scalar(accounts[0])}",
                  f"yours too: {', '.join(others)}" if others else "sent with every job unless a rule overrides it"))
    elif accounting_value:
        add(_line("  # account: <your account>", "no account of yours was listed; ask your admins"))
    if not known_accounting:
        add(_line("  accounting: false", "not known from the input: true if `sacct` works (then set account)"))
    else:
        add(_line(f"  accounting: {_scalar(accounting_value)}",
                  "slurmdbd accounting: sacct works" if accounting_value else "no slurmdbd: job status via squeue"))
    add(_line("  gpu_flag: gpus", "how GPUs are requested: gpus | gres | gpus-per-node"))
    valid = [p for p in partitions if NAME_RE.match(p.name)]
    for bad in partitions:
        if bad not in valid:
            add(f"  # partition {bad.name!r} is not a valid name and was left out")
    default = next((p for p in valid if p.default), None)
    if valid:
        add(_line("  partitions:", "limits per node"))
        width = max(len(_scalar(p.name)) for p in valid) + 1
        for part in valid:
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
            for note in part.notes:
                add(f"    # {part.name}: {note}")
            add(f"    {(_scalar(part.name) + ':').ljust(width)} {_flow(entry)}")
    else:
        add("  partitions: {}                    # none found")
    add("")

    # snakemake
    add("snakemake:")
    for key, value, comment in (
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
    ):
        add(_line(f"  {key}: {_scalar(value)}", comment))
    add("")

    # resources
    add("resources:")
    defaults: dict[str, object] = {}
    limit_time = default.max_time if default else None
    limit_mem = default.mem if default else None
    if default:
        defaults["partition"] = default.name
    defaults["cpus"] = 1
    defaults["mem"] = format_memory(_fit_mem(4 * KIB, limit_mem))
    defaults["time"] = format_duration(_fit_time(3600, limit_time))
    add(_line(f"  defaults: {_flow(defaults)}",
              "every rule without its own values" if default else "no default partition found: SLURM picks one"))
    add("  # Examples (uncomment and adapt): named sets that rules `use`, and per-rule resources.")
    base = default or (valid[0] if valid else None)
    with_gpus = [p for p in valid if p.gpus]
    gpu_part = next((p for p in with_gpus if "gpu" in p.name.lower()), None) or \
        next((p for p in with_gpus if not p.default), None) or next(iter(with_gpus), None)
    sets: list[tuple[str, dict]] = []
    big: dict[str, object] = {}
    if base:
        big["partition"] = base.name
    big["cpus"] = min(8, base.cpus) if base and base.cpus else 8
    big["mem"] = format_memory(_fit_mem(32 * KIB, base.mem if base else None, 2))
    big["time"] = format_duration(_fit_time(12 * 3600, base.max_time if base else None, 1.5))
    sets.append(("bigger", big))
    if gpu_part:
        gpu_set: dict[str, object] = {"partition": gpu_part.name, "gpus": 1}
        typed = [t for t in gpu_part.gpus if t != "gpu"]
        if typed:
            gpu_set["gpu_type"] = typed[0]
        gpu_set["cpus"] = min(8, gpu_part.cpus) if gpu_part.cpus else 8
        gpu_set["mem"] = format_memory(_fit_mem(32 * KIB, gpu_part.mem, 2))
        gpu_set["time"] = format_duration(_fit_time(4 * 3600, gpu_part.max_time, 1.5))
        sets.append(("gpu_job", gpu_set))
    add("  # sets:")
    for name, values in sets:
        add(f"  #   {name}: {_flow(values)}")
    add("  # rules:                          # Snakemake rule name -> resources, or the name of a set")
    add("  #   prepare_data: bigger")
    if gpu_part:
        add("  #   train_model: {use: gpu_job, retry: {mem: 2x, time: 1.5x}}")
    else:
        add("  #   train_model: {use: bigger, retry: {mem: 2x, time: 1.5x}}")
    small = {"cpus": 1, "mem": format_memory(_fit_mem(2 * KIB, limit_mem)),
             "time": format_duration(_fit_time(900, limit_time))}
    add(f"  #   plot_results: {_flow(small)}")
    add("")
    add("# environment:                      # how the runner and the jobs get their software, e.g.")
    add("#   modules: {purge: true, load: [anaconda3]}")
    add("#   conda: my-env")
    if accounting_value and not accounts:
        add("")
        add("lint:")
        add("  ignore: [DV321]                   # no account known yet: remove once slurm.account is set")
    return "\n".join(out) + "\n"


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
