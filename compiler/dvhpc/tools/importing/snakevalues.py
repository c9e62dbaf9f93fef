"""Profile resource values as Snakemake 9.27.1 reads them, without running any of their code.

Snakemake turns `default-resources`/`set-resources` entries into `name=value` strings
(`snakemake/profiles.py` format_val: a YAML string that reads as a number becomes a quoted
string), evaluates each value as a Python expression per job (`attempt`, `threads`, `input`
...; a NameError or SyntaxError keeps the text), then parses `mem`/`disk` with humanfriendly's
parse_size (decimal, MB rounded up) and `runtime` with parse_timespan (minutes). Here the
expression is evaluated by walking its syntax tree over a few safe operations: dvhpc never runs
code from a profile; what it cannot evaluate is reported.
"""

from __future__ import annotations

import ast
import math
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

SIZED = {"mem", "disk"}       # snakemake.resources.SizedResources
TIMED = {"runtime"}           # snakemake.resources.TimeResources


class Unevaluable(ValueError):
    """An expression dvhpc does not evaluate (a call or name it does not model)."""


class Unparsable(ValueError):
    """A value Snakemake itself refuses (a size or duration it cannot parse)."""


def profile_text(value: Any) -> str:
    """What `name=<text>` Snakemake builds for a mapping value (profiles.py format_val)."""
    if isinstance(value, str):
        for kind in (int, float):
            try:
                kind(value)
                return repr(value)
            except ValueError:
                pass
        return value
    return str(value)


@dataclass(frozen=True)
class Job:
    """The names an expression can read, for one job."""

    attempt: int = 1
    threads: int = 1
    input_mb: float = 0.0


class _Input:
    def __init__(self, size_mb: float):
        self.size_mb = size_mb
        self.size = int(size_mb * 1e6)


_BINARY: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: operator.pow,
}
_COMPARE: dict[type, Callable[[Any, Any], Any]] = {
    ast.Lt: operator.lt, ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge,
    ast.Eq: operator.eq, ast.NotEq: operator.ne,
}
_CALLS: dict[str, Callable[..., Any]] = {
    "min": min, "max": max, "int": int, "float": float, "round": round, "abs": abs, "str": str,
}


class _NameMissing(Exception):
    pass


def _eval(node: ast.AST, job: Job) -> Any:  # noqa: C901 -- one case per syntax node kind
    if isinstance(node, ast.Expression):
        return _eval(node.body, job)
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float, str, bool, type(None))):
        return node.value
    if isinstance(node, ast.Name):
        names = {"attempt": job.attempt, "threads": job.threads, "input": _Input(job.input_mb),
                 "True": True, "False": False, "None": None}
        if node.id in names:
            return names[node.id]
        if node.id in _CALLS or node.id in ("wildcards", "system_tmpdir", "shutil", "output", "params"):
            raise Unevaluable(f"'{node.id}'")
        raise _NameMissing(node.id)
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "input" \
            and node.attr in ("size_mb", "size"):
        return getattr(_Input(job.input_mb), node.attr)
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _eval(node.left, job), _eval(node.right, job)
        if isinstance(node.op, ast.Pow) and (not isinstance(right, (int, float)) or abs(right) > 64):
            raise Unevaluable("a large power")
        return _BINARY[type(node.op)](left, right)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd, ast.Not)):
        value = _eval(node.operand, job)
        return -value if isinstance(node.op, ast.USub) else (not value if isinstance(node.op, ast.Not) else +value)
    if isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in _COMPARE:
        return _COMPARE[type(node.ops[0])](_eval(node.left, job), _eval(node.comparators[0], job))
    if isinstance(node, ast.IfExp):
        return _eval(node.body, job) if _eval(node.test, job) else _eval(node.orelse, job)
    if isinstance(node, ast.BoolOp):
        values = [_eval(value, job) for value in node.values]
        result = values[0]
        for value in values[1:]:
            result = (result and value) if isinstance(node.op, ast.And) else (result or value)
        return result
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _CALLS \
            and not node.keywords:
        return _CALLS[node.func.id](*(_eval(arg, job) for arg in node.args))
    if isinstance(node, (ast.Tuple, ast.List)):  # `vcpu,hpcpu`: Python reaches the NameError first
        items = [_eval(item, job) for item in node.elts]
        return tuple(items) if isinstance(node, ast.Tuple) else items
    if isinstance(node, ast.JoinedStr):
        return "".join(str(_eval(part.value, job)) if isinstance(part, ast.FormattedValue) else str(part.value)
                       for part in node.values if isinstance(part, (ast.FormattedValue, ast.Constant)))
    for child in ast.iter_child_nodes(node):  # Python evaluates the operands first: an unknown name there is a
        if isinstance(child, ast.expr):        # NameError, which makes Snakemake keep the text (`a100|h100`)
            _eval(child, job)
    raise Unevaluable(ast.dump(node)[:40])


def evaluate(text: str, job: Job) -> Any:
    """The value of `text` for `job`, as Snakemake's cli_evaluator gives it (raw text on a
    NameError or SyntaxError); Unevaluable for code dvhpc does not run."""
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError:
        return text
    try:
        return _eval(tree, job)
    except _NameMissing:
        return text
    except (TypeError, ZeroDivisionError, OverflowError, ValueError) as exc:
        if isinstance(exc, Unevaluable):
            raise
        raise Unevaluable(str(exc)) from None


_SIZE_UNITS = {"": 1, "b": 1, "k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12, "p": 10**15,
               "ki": 2**10, "mi": 2**20, "gi": 2**30, "ti": 2**40, "pi": 2**50}
_TIME_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
_TOKEN = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)(.*)", re.S)


@dataclass(frozen=True)
class Parsed:
    value: int
    dropped: str  # text after the first number and unit that humanfriendly ignored


def parse_size_mb(text: str) -> Parsed:
    """humanfriendly.parse_size(text) / 1e6, rounded up, at least 1 (Snakemake's `mem`/`disk`)."""
    stripped = text.strip("'\"")
    if stripped.isdecimal():
        return Parsed(int(stripped), "")
    match = _TOKEN.fullmatch(stripped)
    if not match:
        raise Unparsable(f"{text!r} could not be parsed as size in MB")
    number, unit, rest = float(match.group(1)), match.group(2).lower(), match.group(3).strip()
    unit = unit[:-1] if unit.endswith("b") and len(unit) > 1 else unit
    unit = unit[:-5] if unit.endswith("bytes") else unit
    if unit not in _SIZE_UNITS:
        raise Unparsable(f"{text!r} could not be parsed as size in MB")
    return Parsed(max(math.ceil(number * _SIZE_UNITS[unit] / 1e6), 1), rest)


def parse_minutes(text: str) -> Parsed:
    """humanfriendly.parse_timespan(text) in whole minutes, at least 1 (Snakemake's `runtime`)."""
    stripped = text.strip("'\"")
    if stripped.isdecimal():
        return Parsed(int(stripped), "")
    match = _TOKEN.fullmatch(stripped)
    unit = match.group(2).lower() if match else ""
    aliases = {"sec": "s", "secs": "s", "second": "s", "seconds": "s", "min": "m", "mins": "m", "minute": "m",
               "minutes": "m", "hour": "h", "hours": "h", "day": "d", "days": "d", "week": "w", "weeks": "w",
               "year": "y", "years": "y", "": "s"}
    unit = aliases.get(unit, unit)
    if not match or match.group(3).strip() or unit not in _TIME_UNITS:
        raise Unparsable(f"{text!r} could not be parsed as minutes")
    return Parsed(max(int(round(float(match.group(1)) * _TIME_UNITS[unit]) / 60), 1), "")


def as_snakemake(name: str, value: Any) -> tuple[Any, str]:
    """(the job's value of resource `name`, text Snakemake dropped) after its unit parsing."""
    if name in SIZED | TIMED and isinstance(value, str):
        parsed = (parse_size_mb if name in SIZED else parse_minutes)(value)
        return parsed.value, parsed.dropped
    return value, ""
