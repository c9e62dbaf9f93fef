"""What a profile's own comments say, where it disagrees with what Snakemake reads.

`runtime: 1800  # 30 minutes` is 1800 minutes (1d6h) to Snakemake: the import keeps that meaning
and says so. `<NAME>` placeholders in a path become `${NAME}`, expanded when the job runs.
"""

from __future__ import annotations

import re

_QUANTITY = re.compile(r"(\d+(?:\.\d+)?)\s*(minutes?|mins?|m|hours?|hrs?|h|days?|d|seconds?|secs?|s|"
                       r"[kmgt]i?b?|[kmgt]bytes?)\b", re.I)
_MINUTES = {"s": 1 / 60, "sec": 1 / 60, "second": 1 / 60, "m": 1, "min": 1, "minute": 1, "h": 60, "hr": 60,
            "hour": 60, "d": 1440, "day": 1440}
_MB = {"k": 1e-3, "m": 1, "g": 1e3, "t": 1e6, "ki": 1.024e-3, "mi": 1.048576, "gi": 1073.741824, "ti": 1099511.627776}
PLACEHOLDER = re.compile(r"<([A-Za-z_][A-Za-z0-9_]*)>")


def comment_of(line: str) -> str:
    """The text after a YAML comment mark on `line` (outside quotes), or ''."""
    quote = ""
    for index, char in enumerate(line):
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (index == 0 or line[index - 1] in " \t"):
            return line[index + 1:].strip()
    return ""


def stated(comment: str, kind: str) -> float | None:
    """The first duration (minutes) or size (MB) the comment states, for kind 'time' or 'size'."""
    for number, unit in _QUANTITY.findall(comment):
        unit = unit.lower()
        if kind == "time":
            base = unit.rstrip("s") if len(unit) > 1 else unit
            if base in _MINUTES:
                return float(number) * _MINUTES[base]
        else:
            base = unit.removesuffix("bytes").removesuffix("byte").removesuffix("b") or unit
            if base in _MB:
                return float(number) * _MB[base]
    return None


def human_minutes(minutes: float) -> str:
    days, rest = divmod(int(round(minutes)), 1440)
    hours, mins = divmod(rest, 60)
    text = (f"{days}d" if days else "") + (f"{hours}h" if hours else "") + (f"{mins}min" if mins else "")
    return text or "0min"


def disagreement(line: str, kind: str, value: int) -> tuple[str, str] | None:
    """(what the comment on `line` says, what `value` means) when they name different amounts
    (minutes for kind 'time', MB for 'size'); None when the comment agrees or states nothing."""
    said = stated(comment_of(line), kind)
    if said is None or said <= 0 or abs(said - value) <= 0.05 * max(said, value):
        return None
    if kind == "time":
        return human_minutes(said), human_minutes(value)
    return f"{said:g} MB", f"{value} MB"


def placeholders_as_variables(text: str) -> tuple[str, list[str]]:
    """`<NAME>` -> `${NAME}`, and the names replaced."""
    names = PLACEHOLDER.findall(text)
    return PLACEHOLDER.sub(r"${\1}", text), names
