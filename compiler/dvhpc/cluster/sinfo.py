"""Parser of `sinfo` tables: the default format, `-l`, `-N`, `-s`, `-o "%..."` and `-O ...`, aligned
or `|`-separated. A malformed row becomes a `Problem`, never an exception."""

from __future__ import annotations

import re

from dvhpc.cluster.records import Parsed, Problem, SinfoRow
from dvhpc.cluster.values import parse_count, parse_gres, parse_mib, parse_slurm_time

# sinfo column headers (default, -l, -N, -s, -o "%..." and -O "...") -> our field names
_SINFO_COLUMNS = {
    "PARTITION": "partition", "TIMELIMIT": "time", "CPUS": "cpus", "MEMORY": "mem", "GRES": "gres",
    "NODES": "nodes", "NODES(A/I/O/T)": "nodes_aiot", "NODELIST": "nodelist", "AVAIL": "avail",
}
_SINFO_MAYBE_EMPTY = {"RESERVATION", "REASON", "AVAIL_FEATURES", "ACTIVE_FEATURES", "AVAIL_FE"}
_SINFO_STATES = {"up", "down", "drain", "inact", "inactive", "up*", "down*"}


def is_sinfo_header(line: str) -> bool:
    """A header line of sinfo: upper-case column titles, PARTITION among them."""
    tokens = re.split(r"[\s|]+", line.strip())
    return "PARTITION" in tokens and all(t == t.upper() for t in tokens)


def is_headerless_sinfo_row(line: str) -> bool:
    """A row of sinfo's default format printed without its header (`sinfo -h`)."""
    tokens = line.split()
    return len(tokens) == 6 and tokens[1].lower() in _SINFO_STATES


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
        if is_sinfo_header(line):
            sep = "|" if "|" in line else None
            header = [h.strip().upper() for h in (line.split("|") if sep else line.split())]
            start = index + 1
            break
    if header is None:
        first = next((ln for ln in lines if ln.strip()), "")
        if is_headerless_sinfo_row(first):
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


