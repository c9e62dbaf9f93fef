"""`dvhpc init`: scaffold a site spec from what the cluster itself says.

Parsers (pure functions) read the output of `scontrol show partition -o`, `scontrol show node -o`,
`sinfo` (default and `-o`/`-O` formats with a header), `scontrol show config`, and the account
lists of `sacctmgr -n -P show assoc ... format=account` or `sshare`. Unknown keys are ignored;
a malformed line becomes a `Problem` (file:line and what is wrong), never an exception.

`aggregate` merges them into one `Partition` per SLURM partition: MaxTime as a dvhpc duration,
CPUs and memory of the *smallest* node (so a request that fits fits every node), node count, and
GPU types with the largest count per node. `scaffold` writes a commented site spec that
`dvhpc validate` and `dvhpc lint` accept. `from_files` recognises each `--from` file by its
content; `from_live` runs the commands itself (with timeouts).
"""

from __future__ import annotations

import getpass
import json
import os
import re
import socket
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from dvhpc.report.textsafe import printable
from dvhpc.model.units import KIB, MAX_SECONDS, Duration, Memory

SITE_RE = re.compile(r"^[a-z][a-z0-9_-]*$")
NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
SCHEMA_REF = "../schema/site.schema.json"
COMMAND_TIMEOUT = 30.0

# `Key=value` pairs of scontrol's one-line records; a value runs until the next ` Key=`.
_FIELD = re.compile(r"([^\s=]+)=(.*?)(?=\s+[^\s=]+=|\s*$)")
_UNLIMITED = {"unlimited", "infinite", "none"}


class InitError(Exception):
    """Init cannot go on (no SLURM commands, an unreadable or unrecognised --from file)."""


@dataclass(frozen=True)
class Problem:
    """Something in the input that was skipped or guessed; `line` 0 = the file as a whole."""

    source: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.source}:{self.line}: {self.message}" if self.line else f"{self.source}: {self.message}"


@dataclass
class PartitionRecord:
    """One partition as `scontrol show partition` reports it (memory in MiB, time in seconds)."""

    name: str
    default: bool = False
    max_time: int | None = None
    unlimited: bool = False
    nodes: str | None = None
    total_nodes: int | None = None
    total_cpus: int | None = None
    max_cpus_per_node: int | None = None
    max_mem_per_node: int | None = None
    def_mem_per_cpu: int | None = None
    tres: dict[str, str] = field(default_factory=dict)
    state: str | None = None
    line: int = 0


@dataclass
class NodeRecord:
    """One node as `scontrol show node` reports it (memory in MiB)."""

    name: str
    cpus: int | None = None
    mem: int | None = None
    gpus: dict[str, int] = field(default_factory=dict)
    partitions: list[str] | None = None
    state: str | None = None
    line: int = 0


@dataclass
class SinfoRow:
    """One row of `sinfo`: a group of nodes of one partition (minimum values where sinfo shows `48+`)."""

    partition: str
    default: bool = False
    max_time: int | None = None
    unlimited: bool = False
    cpus: int | None = None
    mem: int | None = None
    gpus: dict[str, int] | None = None
    nodes: int | None = None
    nodelist: str | None = None
    varies: tuple[str, ...] = ()
    line: int = 0


@dataclass
class Parsed:
    items: list
    problems: list[Problem] = field(default_factory=list)


@dataclass
class Partition:
    """A partition as the spec will describe it."""

    name: str
    default: bool = False
    max_time: int | None = None  # seconds
    unlimited: bool = False
    cpus: int | None = None
    mem: int | None = None  # MiB
    nodes: int | None = None
    gpus: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def max_time_text(self) -> str | None:
        return format_duration(self.max_time) if self.max_time else None

    @property
    def mem_text(self) -> str | None:
        return format_memory(self.mem) if self.mem else None


@dataclass
class ClusterFacts:
    """Everything init learned, from files or from the live cluster."""

    partitions: list[Partition] = field(default_factory=list)
    accounts: list[str] = field(default_factory=list)
    accounting: bool | None = None  # None = unknown
    cluster_name: str | None = None
    hostnames: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


@dataclass
class InitResult:
    text: str
    facts: ClusterFacts


# ---------------------------------------------------------------------------- values


def parse_slurm_time(text: str) -> int | None:
    """SLURM's time limit in seconds; None for UNLIMITED/infinite. Raises ValueError.

    Forms: `MM`, `MM:SS`, `HH:MM:SS`, `D-HH`, `D-HH:MM`, `D-HH:MM:SS`.
    """
    value = text.strip()
    if value.lower() in _UNLIMITED:
        return None
    match = re.fullmatch(r"(?:(\d+)-)?(\d+)(?::(\d+))?(?::(\d+))?", value)
    if not match:
        raise ValueError(f"not a SLURM time limit: {text!r}")
    days, first, second, third = match.groups()
    if days is not None:
        hours, minutes, seconds = int(first), int(second or 0), int(third or 0)
    elif second is None:
        hours, minutes, seconds = 0, int(first), 0
    elif third is None:
        hours, minutes, seconds = 0, int(first), int(second)
    else:
        hours, minutes, seconds = int(first), int(second), int(third)
    return int(days or 0) * 86400 + hours * 3600 + minutes * 60 + seconds


def format_duration(seconds: int) -> str:
    """A dvhpc duration: `2d`, `12h`, `1d12h`, `30min`."""
    return str(Duration(seconds))


def format_memory(mib: int) -> str:
    """Memory as dvhpc writes it: `180G` when whole GiB, else `184000M`."""
    return str(Memory(mib))


def parse_count(text: str) -> tuple[int, bool]:
    """A count as SLURM prints it: `48`, `48+` (at least), `1-64` (a range): (smallest, varies)."""
    value = text.strip()
    match = re.fullmatch(r"(\d+)(\+?)(?:-(\d+|infinite))?", value)
    if not match:
        raise ValueError(f"not a number: {text!r}")
    return int(match.group(1)), bool(match.group(2) or match.group(3))


def parse_mib(text: str, default_unit: str = "M") -> int:
    """Memory in MiB from `187000`, `187000M`, `2000G`, `1.95T`, `500000+` (smallest)."""
    value = text.strip().rstrip("+")
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([KMGTP]?)", value, re.I)
    if not match:
        raise ValueError(f"not a memory size: {text!r}")
    unit = (match.group(2) or default_unit).upper()
    scale = {"K": 1 / KIB, "M": 1, "G": KIB, "T": KIB**2, "P": KIB**3}[unit]
    return int(float(match.group(1)) * scale)


def _split_top(text: str, sep: str = ",") -> list[str]:
    """Split on `sep` outside brackets and parentheses."""
    parts, depth, current = [], 0, []
    for char in text:
        if char in "([":
            depth += 1
        elif char in ")]":
            depth = max(0, depth - 1)
        if char == sep and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return [p.strip() for p in parts if p.strip()]


def parse_gres(text: str) -> tuple[dict[str, int], list[str]]:
    """GPUs per type from a GRES string: `gpu:a100:4(S:0-1),gpu:h100:2` -> {a100: 4, h100: 2}.

    Untyped GPUs (`gpu:4`) count under the name `gpu`. Entries of one type add up
    (`gpu:v100:2(S:0),gpu:v100:2(S:1)`); other GRES (`mps`, `shard`, ...) are ignored.
    Returns (gpus, problems).
    """
    gpus: dict[str, int] = {}
    problems: list[str] = []
    value = (text or "").strip()
    if not value or value.lower() in ("(null)", "n/a", "none"):
        return gpus, problems
    for entry in _split_top(value):
        entry = re.sub(r"\(.*?\)$", "", entry).strip()
        parts = entry.split(":")
        if parts[0] != "gpu":
            continue
        count_text = "1"
        if len(parts) >= 2 and re.fullmatch(r"\d+[KMG]?", parts[-1]):
            count_text = parts.pop()
        gpu_type = ":".join(parts[1:]) or "gpu"
        count = int(count_text[:-1]) * {"K": 1000, "M": 10**6, "G": 10**9}[count_text[-1]] \
            if count_text[-1] in "KMG" else int(count_text)
        if not NAME_RE.match(gpu_type):
            problems.append(f"GPU type {gpu_type!r} is not a valid name; skipped")
            continue
        if count > 0:
            gpus[gpu_type] = gpus.get(gpu_type, 0) + count
    return gpus, problems


def expand_hostlist(text: str) -> list[str]:
    """`cn[001-003,007],gpu01` -> [cn001, cn002, cn003, cn007, gpu01] (several brackets multiply)."""
    names: list[str] = []
    for item in _split_top(text):
        expansions = [""]
        for literal, inside in re.findall(r"([^\[]*)(?:\[([^\]]*)\])?", item):
            if not literal and not inside:
                continue
            choices = [""]
            if inside:
                choices = []
                for rng in inside.split(","):
                    if "-" in rng:
                        lo, hi = rng.split("-", 1)
                        if lo.isdigit() and hi.isdigit() and int(hi) >= int(lo) and int(hi) - int(lo) < 100000:
                            choices += [str(n).zfill(len(lo)) for n in range(int(lo), int(hi) + 1)]
                            continue
                    choices.append(rng)
            expansions = [prefix + literal + choice for prefix in expansions for choice in choices]
        names += expansions
    return names


def _fields(record: str) -> dict[str, str]:
    return {m.group(1): m.group(2).strip() for m in _FIELD.finditer(record.strip())}


def _records(text: str, key: str, source: str) -> tuple[list[tuple[int, str]], list[Problem]]:
    """(line, record) for each `Key=...` record, one-line (-o) or multi-line (indented continuation)."""
    records: list[tuple[int, str]] = []
    problems: list[Problem] = []
    prefix = key + "="
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        if line.startswith(prefix):
            records.append((number, line))
        elif line[:1].isspace() and records:
            first, body = records[-1]
            records[-1] = (first, body + " " + line.strip())
        else:
            problems.append(Problem(source, number, f"not a `{prefix}...` record, skipped: {line.strip()[:80]!r}"))
    return records, problems


# ---------------------------------------------------------------------------- parsers


def parse_partitions(text: str, source: str = "scontrol show partition") -> Parsed:
    """`scontrol show partition -o` (or without -o)."""
    records, problems = _records(text, "PartitionName", source)
    items: list[PartitionRecord] = []
    for number, record in records:
        kv = _fields(record)
        name = kv.get("PartitionName", "")
        if not name:
            problems.append(Problem(source, number, "PartitionName without a value, skipped"))
            continue
        if any(p.name == name for p in items):
            problems.append(Problem(source, number, f"partition {name} listed again; the first record is used"))
            continue
        part = PartitionRecord(name=name, line=number, default=kv.get("Default", "NO").upper() == "YES",
                               nodes=kv.get("Nodes"), state=kv.get("State"))

        def take(key: str, convert: Callable[[str], object]) -> object:
            raw = kv.get(key)
            if raw is None or raw.upper() in ("UNLIMITED", "(NULL)", "N/A", "NONE", ""):
                return None
            try:
                return convert(raw)
            except ValueError:
                problems.append(Problem(source, number, f"partition {name}: cannot read {key}={raw!r}, ignored"))
                return None

        if "MaxTime" in kv:
            try:
                part.max_time = parse_slurm_time(kv["MaxTime"])
                part.unlimited = part.max_time is None
            except ValueError:
                problems.append(Problem(source, number,
                                        f"partition {name}: cannot read MaxTime={kv['MaxTime']!r}, ignored"))
        part.total_nodes = take("TotalNodes", int)  # type: ignore[assignment]
        part.total_cpus = take("TotalCPUs", int)  # type: ignore[assignment]
        part.max_cpus_per_node = take("MaxCPUsPerNode", int)  # type: ignore[assignment]
        part.max_mem_per_node = take("MaxMemPerNode", parse_mib)  # type: ignore[assignment]
        part.def_mem_per_cpu = take("DefMemPerCPU", parse_mib)  # type: ignore[assignment]
        tres = kv.get("TRES", "")
        if tres and tres != "(null)":
            part.tres = dict(item.split("=", 1) for item in tres.split(",") if "=" in item)
        items.append(part)
    return Parsed(items, problems)


def parse_nodes(text: str, source: str = "scontrol show node") -> Parsed:
    """`scontrol show node -o` (or without -o)."""
    records, problems = _records(text, "NodeName", source)
    items: list[NodeRecord] = []
    for number, record in records:
        kv = _fields(record)
        name = kv.get("NodeName", "")
        if not name:
            problems.append(Problem(source, number, "NodeName without a value, skipped"))
            continue
        node = NodeRecord(name=name, line=number, state=kv.get("State"))
        for key, attr, convert in (("CPUTot", "cpus", int), ("RealMemory", "mem", parse_mib)):
            raw = kv.get(key)
            if raw is None:
                continue
            try:
                setattr(node, attr, convert(raw))
            except ValueError:
                problems.append(Problem(source, number, f"node {name}: cannot read {key}={raw!r}, ignored"))
        gpus, gres_problems = parse_gres(kv.get("Gres", ""))
        node.gpus = gpus
        problems += [Problem(source, number, f"node {name}: {p}") for p in gres_problems]
        if "Partitions" in kv:
            node.partitions = [p for p in kv["Partitions"].split(",") if p and p != "(null)"]
        items.append(node)
    return Parsed(items, problems)


# sinfo column headers (default, -l, -N, -s, -o "%..." and -O "...") -> our field names
_SINFO_COLUMNS = {
    "PARTITION": "partition", "TIMELIMIT": "time", "CPUS": "cpus", "MEMORY": "mem", "GRES": "gres",
    "NODES": "nodes", "NODES(A/I/O/T)": "nodes_aiot", "NODELIST": "nodelist", "AVAIL": "avail",
}
_SINFO_MAYBE_EMPTY = {"RESERVATION", "REASON", "AVAIL_FEATURES", "ACTIVE_FEATURES", "AVAIL_FE"}
_SINFO_STATES = {"up", "down", "drain", "inact", "inactive", "up*", "down*"}


def _is_sinfo_header(line: str) -> bool:
    tokens = re.split(r"[\s|]+", line.strip())
    return "PARTITION" in tokens and all(t == t.upper() for t in tokens)


def parse_sinfo(text: str, source: str = "sinfo") -> Parsed:
    """`sinfo` with a header line: the default format, `-l`, `-N`, `-s`, `-o "%P %l %c %m %G %D"`,
    `-O partition,...`, also `|`-separated. The default partition carries a `*`; memory is in MB."""
    lines = text.splitlines()
    problems: list[Problem] = []
    items: list[SinfoRow] = []
    header: list[str] | None = None
    sep: str | None = None
    start = 0
    for index, line in enumerate(lines[:5]):
        if _is_sinfo_header(line):
            sep = "|" if "|" in line else None
            header = [h.strip().upper() for h in (line.split("|") if sep else line.split())]
            start = index + 1
            break
    if header is None:
        first = next((ln for ln in lines if ln.strip()), "")
        tokens = first.split()
        if len(tokens) == 6 and tokens[1].lower() in _SINFO_STATES:
            header = ["PARTITION", "AVAIL", "TIMELIMIT", "NODES", "STATE", "NODELIST"]
            problems.append(Problem(source, 0, "no header line; read as sinfo's default format (sinfo -h)"))
        else:
            problems.append(Problem(source, 0, "no sinfo header line (PARTITION ...): run sinfo without -h"))
            return Parsed(items, problems)
    columns = [_SINFO_COLUMNS.get(h) for h in header]
    if "partition" not in columns:
        problems.append(Problem(source, start, "sinfo output without a PARTITION column"))
        return Parsed(items, problems)
    for number, line in enumerate(lines[start:], start + 1):
        if not line.strip():
            continue
        cells = [c.strip() for c in line.split("|")] if sep else line.split(None, len(header) - 1)
        if len(cells) < len(header):
            # an empty column (sinfo -l's RESERVATION) shifts the words: columns before it are
            # read from the left, columns after it from the right
            gap = next((i for i, h in enumerate(header) if h in _SINFO_MAYBE_EMPTY), None)
            if sep or gap is None or len(cells) < gap:
                problems.append(Problem(source, number, f"expected {len(header)} columns, found {len(cells)}, skipped"))
                continue
            cells = cells[:gap] + [""] * (len(header) - len(cells)) + cells[gap:]
        values = {col: cell for col, cell in zip(columns, cells) if col}
        name = values["partition"]
        row = SinfoRow(partition=name.rstrip("*"), default=name.endswith("*"), nodelist=values.get("nodelist"),
                       line=number)
        varies: list[str] = []
        try:
            if "time" in values:
                if values["time"].lower() in ("n/a", ""):
                    pass
                else:
                    row.max_time = parse_slurm_time(values["time"])
                    row.unlimited = row.max_time is None
            if "cpus" in values:
                row.cpus, more = parse_count(values["cpus"])
                varies += ["cpus"] if more else []
            if "mem" in values:
                row.mem = parse_mib(values["mem"])
                varies += ["mem"] if values["mem"].strip().endswith("+") else []
            if "nodes" in values:
                row.nodes = parse_count(values["nodes"])[0]
            elif "nodes_aiot" in values:
                row.nodes = int(values["nodes_aiot"].split("/")[-1])
        except ValueError as exc:
            problems.append(Problem(source, number, f"partition {row.partition}: {exc}; row skipped"))
            continue
        if "gres" in values:
            row.gpus, gres_problems = parse_gres(values["gres"])
            problems += [Problem(source, number, p) for p in gres_problems]
        row.varies = tuple(varies)
        items.append(row)
    return Parsed(items, problems)


def parse_config(text: str) -> dict[str, str]:
    """`scontrol show config`: `Key = value` lines as a dict."""
    config: dict[str, str] = {}
    for line in text.splitlines():
        match = re.match(r"^([A-Za-z][\w\[\]().]*)\s+=\s?(.*)$", line)
        if match:
            config.setdefault(match.group(1), match.group(2).strip())
    return config


def parse_accounts(text: str, source: str = "sacctmgr", user: str | None = None) -> Parsed:
    """Account names, in order, without repeats, from `sacctmgr -n -P show assoc user=U format=account`
    (any `|`-separated format whose first column is the account, header optional) or from `sshare`
    (`-P` or aligned columns; only rows with a user, and only `user`'s rows when given)."""
    lines = [ln for ln in text.splitlines() if ln.strip()]
    problems: list[Problem] = []
    accounts: list[str] = []
    if not lines:
        return Parsed(accounts, problems)
    head = lines[0].strip()
    rows: list[tuple[int, str, str | None]] = []  # (line, account, user or None)
    if re.match(r"^Account\b", head, re.I) and ("User" in head or "|" in head):
        if "|" in head:
            names = [h.strip().lower() for h in head.split("|")]
            for number, line in enumerate(text.splitlines(), 1):
                if number == 1 or not line.strip() or line.strip() == head:
                    continue
                cells = dict(zip(names, (c.strip() for c in line.split("|"))))
                rows.append((number, cells.get("account", ""), cells.get("user")))
        else:  # sshare's aligned table: column widths from the dashes line
            all_lines = text.splitlines()
            dash_index = next((i for i, ln in enumerate(all_lines) if re.match(r"^-+( +-+)*\s*$", ln)), None)
            if dash_index is None:
                problems.append(Problem(source, 1, "sshare table without its ----- line"))
                return Parsed(accounts, problems)
            spans = [m.span() for m in re.finditer(r"-+", all_lines[dash_index])]
            titles = [all_lines[dash_index - 1][a:b].strip().lower() for a, b in spans] if dash_index else []
            if "account" not in titles:
                problems.append(Problem(source, dash_index, "sshare table without an Account column"))
                return Parsed(accounts, problems)
            for number, line in enumerate(all_lines[dash_index + 1:], dash_index + 2):
                if not line.strip():
                    continue
                cells = {title: line[a:b + 1].strip() if i < len(spans) - 1 else line[a:].strip()
                         for i, (title, (a, b)) in enumerate(zip(titles, spans))}
                rows.append((number, cells.get("account", ""), cells.get("user") or ""))
    else:
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            rows.append((number, line.split("|")[0].strip(), None))
    users = sorted({u for _, _, u in rows if u})
    if user is None and len(users) > 1:
        problems.append(Problem(source, 0, f"associations of several users ({', '.join(users)}): the accounts of all "
                                "are listed; record it with `-u $USER` (sshare) or `user=$USER` (sacctmgr)"))
    for number, account, row_user in rows:
        if row_user is not None and (not row_user or (user and row_user != user)):
            continue  # sshare: an account's own line, or someone else's association
        if not account or account.lower() == "account":
            continue
        if not NAME_RE.match(account) or " " in account:
            problems.append(Problem(source, number, f"not an account name, skipped: {account[:60]!r}"))
            continue
        if account not in accounts:
            accounts.append(account)
    return Parsed(accounts, problems)


# ---------------------------------------------------------------------------- recognising files

KINDS = ("partitions", "nodes", "sinfo", "config", "accounts")


def detect_kind(text: str) -> str | None:
    """Which command wrote `text`: one of KINDS, or None."""
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if not lines:
        return None
    if any(ln.startswith("PartitionName=") for ln in lines[:3]):
        return "partitions"
    if any(ln.startswith("NodeName=") for ln in lines[:3]):
        return "nodes"
    if lines[0].startswith("Configuration data as of") or sum(
            bool(re.match(r"^[A-Za-z][\w\[\]().]*\s+= ", ln)) for ln in lines[:10]) >= min(3, len(lines)):
        return "config"
    if any(_is_sinfo_header(ln) for ln in lines[:5]):
        return "sinfo"
    head = lines[0].strip()
    if re.match(r"^Account\b", head, re.I):
        return "accounts"
    if all(re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]*(\|[^|]*)*\|?", ln.strip()) for ln in lines):
        return "accounts"
    tokens = lines[0].split()
    if len(tokens) == 6 and tokens[1].lower() in _SINFO_STATES:
        return "sinfo"
    return None


# ---------------------------------------------------------------------------- aggregation


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
    by_record = {}
    for rec in partitions:
        by_record.setdefault(rec.name, rec)
    members: dict[str, list[NodeRecord]] = {name: [] for name in order}
    by_node = {n.name: n for n in nodes}
    for name in order:
        rec = by_record.get(name)
        listed = [n for n in nodes if n.partitions is not None and name in n.partitions]
        if not listed and rec and rec.nodes and rec.nodes not in ("(null)", ""):
            wanted = list(by_node) if rec.nodes.upper() == "ALL" else expand_hostlist(rec.nodes)
            listed = [by_node[n] for n in wanted if n in by_node]
        members[name] = listed

    result: list[Partition] = []
    for name in order:
        rec = by_record.get(name)
        rows = [r for r in sinfo if r.partition == name]
        part = Partition(name=name)
        notes = part.notes
        # limits: scontrol first, sinfo fills in
        if rec is not None:
            part.default = rec.default
            part.max_time, part.unlimited = rec.max_time, rec.unlimited
            if rec.state and rec.state.upper() != "UP":
                notes.append(f"State={rec.state}")
        else:
            part.default = any(r.default for r in rows)
        timed = [r for r in rows if r.max_time is not None or r.unlimited]
        if timed and part.max_time is None and not part.unlimited:
            part.max_time, part.unlimited = timed[0].max_time, timed[0].unlimited
        # node count
        if rec is not None and rec.total_nodes is not None:
            part.nodes = rec.total_nodes
        elif members[name]:
            part.nodes = len(members[name])
        elif rows and any(r.nodes is not None for r in rows):
            if all(r.nodelist for r in rows) and all(r.nodes == 1 for r in rows):  # sinfo -N: a row per node
                part.nodes = len({r.nodelist for r in rows})
            else:
                part.nodes = sum(r.nodes or 0 for r in rows)
        # per-node CPUs, memory, GPUs: node records, else sinfo rows
        group = members[name]
        cpus = [n.cpus for n in group if n.cpus]
        mems = [n.mem for n in group if n.mem and n.mem > 1]
        gpu_maps = [n.gpus for n in group]
        source = "nodes"
        if not group and rows:
            cpus = [r.cpus for r in rows if r.cpus]
            mems = [r.mem for r in rows if r.mem and r.mem > 1]
            gpu_maps = [r.gpus or {} for r in rows]
            source = "sinfo"
        varied = []
        for key, values, label, fmt in (("cpus", cpus, "CPUs", str), ("mem", mems, "memory", format_memory)):
            if not values:
                continue
            setattr(part, key, min(values))
            plus = source == "sinfo" and any(key in r.varies for r in rows)  # sinfo's `48+`
            if len(set(values)) > 1 or plus:
                shown = _range(values, fmt) if len(set(values)) > 1 else fmt(min(values))
                varied.append(f"{shown}{'+' if plus else ''} {label}")
        if varied:
            notes.append(f"nodes differ ({', '.join(varied)}): the smallest is used, so every node fits")
        if group and len(mems) < len(group) and source == "nodes":
            notes.append(f"{len(group) - len(mems)} node(s) report no RealMemory; left out of the minimum")
        gpus: dict[str, int] = {}
        for gmap in gpu_maps:
            for gtype, count in gmap.items():
                gpus[gtype] = max(gpus.get(gtype, 0), count)
        for gtype in sorted(gpus):
            counts = [g.get(gtype, 0) for g in gpu_maps if g.get(gtype)]
            if len(set(counts)) > 1:
                notes.append(f"{gtype} GPUs per node range {_range(counts)}: the largest is used")
        if gpus and any(not g for g in gpu_maps):
            notes.append("some nodes have no GPUs")
        if "gpu" in gpus:
            notes.append("GPUs without a type (gpu:N): leave gpu_type unset for this partition")
        part.gpus = dict(sorted(gpus.items()))
        # partition caps
        if rec is not None:
            if rec.max_cpus_per_node and (part.cpus is None or rec.max_cpus_per_node < part.cpus):
                notes.append(f"MaxCPUsPerNode={rec.max_cpus_per_node} caps CPUs per job and node")
                part.cpus = rec.max_cpus_per_node
            if rec.max_mem_per_node and (part.mem is None or rec.max_mem_per_node < part.mem):
                notes.append(f"MaxMemPerNode={rec.max_mem_per_node} caps memory per job and node")
                part.mem = rec.max_mem_per_node
            if part.cpus is None and rec.total_cpus and rec.total_nodes:
                notes.append(f"about {rec.total_cpus // rec.total_nodes} CPUs per node on average "
                             "(TotalCPUs/TotalNodes); add `scontrol show node -o` output for exact values")
            if not part.gpus and rec.tres.get("gres/gpu") and not group:
                notes.append(f"{rec.tres['gres/gpu']} GPUs in total (TRES); add `scontrol show node -o` output "
                             "for the types and counts per node")
        if part.unlimited:
            notes.append("MaxTime UNLIMITED: no max_time")
        elif part.max_time is not None and (part.max_time <= 0 or part.max_time > MAX_SECONDS):
            notes.append(f"MaxTime of {part.max_time} s is outside what dvhpc accepts: no max_time")
            part.max_time = None
        if part.nodes == 0:
            notes.append("no nodes")
            part.nodes = None
        result.append(part)
    defaults = [p for p in result if p.default]
    for extra in defaults[1:]:
        extra.default = False
        extra.notes.append(f"also marked default; '{defaults[0].name}' is used as the default")
    return result


# ---------------------------------------------------------------------------- the spec text

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
    small = {"cpus": 1, "mem": format_memory(_fit_mem(2 * KIB, limit_mem)), "time": format_duration(_fit_time(900, limit_time))}
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


# ---------------------------------------------------------------------------- inputs


def facts_from_texts(texts: Iterable[tuple[str, str]], user: str | None = None) -> ClusterFacts:
    """ClusterFacts from (source name, text) pairs; each text is recognised by its content."""
    facts = ClusterFacts()
    part_records: list[PartitionRecord] = []
    node_records: list[NodeRecord] = []
    sinfo_rows: list[SinfoRow] = []
    config: dict[str, str] = {}
    accounts_seen = False
    for source, text in texts:
        kind = detect_kind(text)
        facts.sources.append(source)
        if kind is None and not text.strip():
            raise InitError(f"{source}: the file is empty")
        if kind is None:
            raise InitError(
                f"{source}: cannot tell which command wrote this file; init reads the output of "
                "`scontrol show partition -o`, `scontrol show node -o`, `sinfo` (with its header line), "
                "`scontrol show config` and `sacctmgr -n -P show assoc user=$USER format=account` (or `sshare`)")
        if kind == "partitions":
            parsed = parse_partitions(text, source)
            part_records += parsed.items
        elif kind == "nodes":
            parsed = parse_nodes(text, source)
            node_records += parsed.items
        elif kind == "sinfo":
            parsed = parse_sinfo(text, source)
            sinfo_rows += parsed.items
        elif kind == "config":
            parsed = Parsed([])
            config.update(parse_config(text))
        else:
            parsed = parse_accounts(text, source, user)
            accounts_seen = True
            facts.accounts += [a for a in parsed.items if a not in facts.accounts]
        facts.problems += parsed.problems
    facts.partitions = aggregate(part_records, node_records, sinfo_rows)
    if not facts.partitions:
        facts.problems.append(Problem(", ".join(facts.sources) or "input", 0, "no partitions found"))
    unknown = [p.name for p in facts.partitions if p.cpus is None or p.mem is None]
    if unknown:
        facts.notes.append(f"CPUs or memory per node unknown for {', '.join(unknown)}: add the output of "
                           "`scontrol show node -o` (or `sinfo -o \"%P %l %c %m %G %D\"`)")
    facts.cluster_name = config.get("ClusterName") or None
    storage = config.get("AccountingStorageType", "")
    if storage:
        facts.accounting = "none" not in storage
    elif accounts_seen:
        facts.accounting = True  # sacctmgr/sshare answer only with slurmdbd
    facts.hostnames = hostname_globs(n.name for n in node_records)
    facts.problems.sort(key=lambda p: (facts.sources.index(p.source) if p.source in facts.sources else 0, p.line))
    return facts


def from_files(paths: Iterable[str | Path], user: str | None = None) -> ClusterFacts:
    """ClusterFacts from saved command outputs. `user` picks that user's rows of an `sshare` or
    `sacctmgr ... format=account,user` table (the files are usually recorded by someone else)."""
    texts = []
    for path in paths:
        try:
            texts.append((str(path), Path(path).read_text(encoding="utf-8", errors="replace")))
        except OSError as exc:
            raise InitError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    return facts_from_texts(texts, user)


def current_user() -> str:
    return os.environ.get("USER") or getpass.getuser()


Runner = Callable[[list[str], float], "tuple[int, str, str]"]  # (args, timeout) -> (exit code, stdout, stderr)


def run_command(args: list[str], timeout: float = COMMAND_TIMEOUT) -> tuple[int, str, str]:
    """(exit code, stdout, stderr); FileNotFoundError when the command is missing."""
    try:
        proc = subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return 124, "", f"timed out after {timeout:.0f}s"
    return proc.returncode, proc.stdout, proc.stderr


_FROM_HINT = (
    "run `dvhpc init` on a login node of the cluster, or save these there and pass them with --from:\n"
    "  scontrol show partition -o > partitions.txt\n"
    "  scontrol show node -o > nodes.txt\n"
    "  scontrol show config > config.txt\n"
    "  sacctmgr -n -P show assoc user=$USER format=account > accounts.txt\n"
    "  dvhpc init --site NAME --from partitions.txt --from nodes.txt --from config.txt --from accounts.txt"
)


def from_live(run: Runner = run_command, user: str | None = None, timeout: float = COMMAND_TIMEOUT) -> ClusterFacts:
    """Ask the cluster: scontrol (partitions, nodes, config), sacct (accounting works?), sacctmgr (accounts)."""
    user = user or current_user()
    texts: list[tuple[str, str]] = []

    def ask(args: list[str], required: bool) -> str | None:
        label = " ".join(args)
        try:
            code, out, err = run(args, timeout)
        except FileNotFoundError:
            if required:
                raise InitError(f"`{args[0]}` not found: no SLURM client on this machine; {_FROM_HINT}") from None
            return None
        if code != 0:
            if required:
                detail = (err or out).strip().splitlines()
                raise InitError(f"`{label}` failed (exit {code}{': ' + detail[-1] if detail else ''}); {_FROM_HINT}")
            return None
        return out

    partitions = ask(["scontrol", "show", "partition", "-o"], True)
    texts.append(("scontrol show partition -o", partitions or ""))
    nodes = ask(["scontrol", "show", "node", "-o"], True)
    texts.append(("scontrol show node -o", nodes or ""))
    config = ask(["scontrol", "show", "config"], False)
    if config:
        texts.append(("scontrol show config", config))
    facts = facts_from_texts([(s, t) for s, t in texts if t.strip()], user)
    facts.sources = [s for s, _ in texts]
    sacct = ask(["sacct", "-n", "-X", "-P", "--format=JobID", "--starttime", "now"], False)
    if sacct is not None:
        facts.accounting = True
    elif facts.accounting is None or facts.accounting:
        facts.accounting = False
        facts.notes.append("sacct does not work here: accounting is off (job status via squeue)")
    if facts.accounting:
        listed = ask(["sacctmgr", "-n", "-P", "show", "assoc", f"user={user}", "format=account"], False)
        if listed is not None:
            facts.sources.append(f"sacctmgr show assoc user={user}")
            parsed = parse_accounts(listed, "sacctmgr")
            facts.problems += parsed.problems
            accounts = parsed.items
            default = ask(["sacctmgr", "-n", "-P", "show", "user", user, "format=defaultaccount"], False)
            first = (default or "").strip().splitlines()[:1]
            if first and first[0].strip() in accounts:  # the user's default account first
                accounts.remove(first[0].strip())
                accounts.insert(0, first[0].strip())
            facts.accounts = accounts
        else:
            facts.notes.append("sacctmgr did not answer: no accounts listed")
    try:
        fqdn = socket.getfqdn()
        names = [fqdn] if fqdn and fqdn not in ("localhost", "localhost.localdomain") else [socket.gethostname()]
    except OSError:
        names = []
    facts.hostnames = hostname_globs(names + [g for g in facts.hostnames])
    return facts


def init_site(site: str, from_paths: Iterable[str | Path] = (), *, run: Runner = run_command,
              user: str | None = None) -> InitResult:
    """The site spec for `site`: from `--from` files when given, else from the live cluster."""
    if not SITE_RE.match(site) or len(site) > 64:
        raise InitError(f"site name {site!r} must be lowercase letters, digits, '_' and '-', starting with a letter")
    paths = list(from_paths)
    facts = from_files(paths, user) if paths else from_live(run, user)
    text = scaffold(site, facts.partitions, facts.accounts, facts.accounting, cluster_name=facts.cluster_name,
                    hostnames=facts.hostnames, sources=[Path(s).name if paths else s for s in facts.sources],
                    notes=facts.notes)
    return InitResult(text, facts)
