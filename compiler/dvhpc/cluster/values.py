"""SLURM's forms of single values — time limits, counts, memory sizes, GRES, host lists — and the
dvhpc forms they become. Each parser raises ValueError on text it cannot read."""

from __future__ import annotations

import re

from dvhpc.model.units import KIB, Duration, Memory

# A partition, GPU type or account name that dvhpc writes into a spec.
NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
_UNLIMITED = {"unlimited", "infinite", "none"}


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
    parts: list[str] = []
    current: list[str] = []
    depth = 0
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
