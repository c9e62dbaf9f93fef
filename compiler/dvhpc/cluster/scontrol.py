"""Parsers of `scontrol show partition`, `scontrol show node` (one-line `-o` or multi-line) and
`scontrol show config`. Unknown keys are ignored; a malformed line becomes a `Problem`, never an
exception."""

from __future__ import annotations

import re
from collections.abc import Callable

from dvhpc.cluster.records import NodeRecord, Parsed, PartitionRecord, Problem
from dvhpc.cluster.values import parse_gres, parse_mib, parse_slurm_time

# `Key=value` pairs of scontrol's one-line records; a value runs until the next ` Key=`.
_FIELD = re.compile(r"([^\s=]+)=(.*?)(?=\s+[^\s=]+=|\s*$)")


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

# Numbers of a partition record: scontrol key, PartitionRecord attribute, how to read it.
_PARTITION_NUMBERS: tuple[tuple[str, str, Callable[[str], int]], ...] = (
    ("TotalNodes", "total_nodes", int), ("TotalCPUs", "total_cpus", int),
    ("MaxCPUsPerNode", "max_cpus_per_node", int), ("MaxMemPerNode", "max_mem_per_node", parse_mib),
    ("DefMemPerCPU", "def_mem_per_cpu", parse_mib),
)
_NO_VALUE = ("UNLIMITED", "(NULL)", "N/A", "NONE", "")


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

        if "MaxTime" in kv:
            try:
                part.max_time = parse_slurm_time(kv["MaxTime"])
                part.unlimited = part.max_time is None
            except ValueError:
                problems.append(Problem(source, number,
                                        f"partition {name}: cannot read MaxTime={kv['MaxTime']!r}, ignored"))
        for key, attr, convert in _PARTITION_NUMBERS:
            raw = kv.get(key)
            if raw is None or raw.upper() in _NO_VALUE:
                continue
            try:
                setattr(part, attr, convert(raw))
            except ValueError:
                problems.append(Problem(source, number, f"partition {name}: cannot read {key}={raw!r}, ignored"))
        tres = kv.get("TRES", "")
        if tres and tres != "(null)":
            part.tres = dict(item.split("=", 1) for item in tres.split(",") if "=" in item)
        part.allow_accounts, part.allow_qos = _names(kv.get("AllowAccounts"), None), _names(kv.get("AllowQos"), None)
        part.deny_accounts = _names(kv.get("DenyAccounts"), []) or []
        part.deny_qos = _names(kv.get("DenyQos"), []) or []
        own_qos = kv.get("QoS", "")
        part.qos = own_qos if own_qos and own_qos.upper() not in _NO_VALUE else None
        items.append(part)
    return Parsed(items, problems)


def _names(raw: str | None, unset: list[str] | None) -> list[str] | None:
    """An access list (`AllowAccounts=a,b`): `unset` for ALL, (null) or no value."""
    if raw is None or raw.upper() in ("ALL", "(NULL)", ""):
        return unset
    return [name for name in raw.split(",") if name]


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


def parse_config(text: str) -> dict[str, str]:
    """`scontrol show config`: `Key = value` lines as a dict."""
    config: dict[str, str] = {}
    for line in text.splitlines():
        match = re.match(r"^([A-Za-z][\w\[\]().]*)\s+=\s?(.*)$", line)
        if match:
            config.setdefault(match.group(1), match.group(2).strip())
    return config

