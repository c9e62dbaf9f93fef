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
    found = _header(lines, source, problems)
    if found is None:
        return Parsed(items, problems)
    header, sep, start = found
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
        # a `|` row may have more cells than the header: those are not read
        values = {col: cell for col, cell in zip(columns, cells, strict=False) if col}
        name = values["partition"]
        row = SinfoRow(partition=name.rstrip("*"), default=name.endswith("*"), nodelist=values.get("nodelist"),
                       line=number)
        try:
            row.varies = _read_limits(row, values)
        except ValueError as exc:
            problems.append(Problem(source, number, f"partition {row.partition}: {exc}; row skipped"))
            continue
        if "gres" in values:
            row.gpus, gres_problems = parse_gres(values["gres"])
            problems += [Problem(source, number, p) for p in gres_problems]
        items.append(row)
    return Parsed(items, problems)


def _header(lines: list[str], source: str, problems: list[Problem]) -> tuple[list[str], str | None, int] | None:
    """The column titles, the separator (`|` or None for blanks) and the first row's index; None without."""
    for index, line in enumerate(lines[:5]):
        if is_sinfo_header(line):
            sep = "|" if "|" in line else None
            return [h.strip().upper() for h in (line.split("|") if sep else line.split())], sep, index + 1
    first = next((ln for ln in lines if ln.strip()), "")
    if is_headerless_sinfo_row(first):
        problems.append(Problem(source, 0, "no header line; read as sinfo's default format (sinfo -h)"))
        return ["PARTITION", "AVAIL", "TIMELIMIT", "NODES", "STATE", "NODELIST"], None, 0
    problems.append(Problem(source, 0, "no sinfo header line (PARTITION ...): run sinfo without -h"))
    return None


def _read_limits(row: SinfoRow, values: dict[str, str]) -> tuple[str, ...]:
    """Time, CPUs, memory and nodes of a row into `row`; the limits that vary across its nodes. ValueError."""
    varies: list[str] = []
    if "time" in values and values["time"].lower() not in ("n/a", ""):
        row.max_time = parse_slurm_time(values["time"])
        row.unlimited = row.max_time is None
    if "cpus" in values:
        row.cpus, more = parse_count(values["cpus"])
        varies += ["cpus"] if more else []
    if "mem" in values:
        row.mem = parse_mib(values["mem"])
        varies += ["mem"] if values["mem"].strip().endswith("+") else []
    row.nodes = _nodes(values, row.nodes)
    return tuple(varies)


def _nodes(values: dict[str, str], unknown: int | None) -> int | None:
    if "nodes" in values:
        return parse_count(values["nodes"])[0]
    if "nodes_aiot" in values:  # allocated/idle/other/total
        return int(values["nodes_aiot"].split("/")[-1])
    return unknown


