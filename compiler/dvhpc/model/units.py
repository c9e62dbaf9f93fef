"""Units as types, parsed once at the edge: memory, durations, retry factors.

Memory follows SLURM: `G` means GiB (1G = 1024 MiB). `GB`/`MB` are decimal and converted
exactly (rounded up to whole MiB). Durations accept compact forms (`13h20m`, `1.5h`) and SLURM's
own (`MM:SS`, `D-HH:MM`). Bare numbers are refused: a number without a unit is the bug we
exist to prevent.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Generic, TypeVar, cast

KIB = 1024


class UnitError(ValueError):
    """A value that does not parse; `code` is the diagnostic code, `hint` how to fix it."""

    def __init__(self, code: str, message: str, hint: str | None = None):
        super().__init__(message)
        self.code = code
        self.hint = hint


# Bytes per unit. Binary units (SLURM's meaning) and explicit decimal ones.
_MEMORY_UNITS: dict[str, int] = {
    "K": KIB, "KI": KIB, "KIB": KIB,
    "M": KIB**2, "MI": KIB**2, "MIB": KIB**2,
    "G": KIB**3, "GI": KIB**3, "GIB": KIB**3,
    "T": KIB**4, "TI": KIB**4, "TIB": KIB**4,
    "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12,
}
_MEMORY_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]+)\s*$")

ParseFn = TypeVar("ParseFn", bound=Callable[..., Any])


def _memo_text(parse: ParseFn) -> ParseFn:
    """Cache a parser's results for text: a lint run meets the same few values ('16G', '2h')
    thousands of times. Errors are raised, never cached; the results are immutable."""
    cache: dict[str, object] = {}

    @functools.wraps(parse)
    def parse_text(cls: Any, text: object) -> Any:
        if type(text) is not str:
            return parse(cls, text)
        result = cache.get(text)
        if result is None:
            result = parse(cls, text)
            if len(cache) < 10_000:
                cache[text] = result
        return result

    return cast(ParseFn, parse_text)  # functools.wraps keeps the signature; mypy cannot see it


MAX_MIB = 2**40  # a petabyte of RAM per job is certainly a typo


@dataclass(frozen=True, order=True)
class Memory:
    """An amount of memory in whole MiB (what `sbatch --mem` reads as a bare number)."""

    mib: int

    @classmethod
    @_memo_text
    def parse(cls, text: object) -> Memory:
        if isinstance(text, bool) or not isinstance(text, (str, int, float)):
            raise UnitError("DV201", f"memory must be a string like '16G', not {type(text).__name__}")
        if isinstance(text, (int, float)):
            raise UnitError(
                "DV204",
                f"memory '{text}' has no unit",
                f"write '{text}M' for MiB or '{text}G' for GiB",
            )
        match = _MEMORY_RE.match(text)
        if not match:
            if re.fullmatch(r"\s*\d+(\.\d+)?\s*", text):
                raise UnitError(
                    "DV204", f"memory '{text}' has no unit", f"write '{text.strip()}M' or '{text.strip()}G'"
                )
            raise UnitError("DV201", f"invalid memory size '{text}'", "use e.g. 512M, 16G, 1.5T, 16GiB or 16GB")
        number, unit = match.groups()
        factor = _MEMORY_UNITS.get(unit.upper())
        if factor is None:
            raise UnitError(
                "DV201",
                f"unknown memory unit '{unit}' in '{text}'",
                "units: K, M, G, T (binary, as SLURM reads them), KiB..TiB, or KB..TB (decimal)",
            )
        mib = math.ceil(Fraction(number) * factor / KIB**2)
        if mib <= 0:
            raise UnitError("DV201", f"memory '{text}' must be more than zero")
        if mib > MAX_MIB:
            raise UnitError("DV201", f"memory '{text}' is implausibly large")
        return cls(mib)

    def __str__(self) -> str:
        for unit, size in (("T", KIB**2), ("G", KIB), ("M", 1)):
            if self.mib % size == 0:
                return f"{self.mib // size}{unit}"
        raise AssertionError("unreachable: every MiB count is divisible by 1")

    @property
    def count(self) -> int:
        """The whole number Snakemake's mem_mb and SLURM's --mem read: MiB."""
        return self.mib

    def scaled(self, factor: Fraction) -> Memory:
        """Grown by `factor`, rounded down to whole MiB (integer arithmetic, as the profile's expression)."""
        return Memory(self.mib * factor.numerator // factor.denominator)


_DURATION_UNITS = {"d": 86400, "h": 3600, "m": 60, "min": 60, "s": 1}
_COMPACT_RE = re.compile(r"(\d+(?:\.\d+)?)(d|h|min|m|s)")
_SLURM_RE = re.compile(r"^(?:(\d+)-)?(\d+)(?::(\d+))?(?::(\d+))?$")

MAX_SECONDS = 366 * 86400


@dataclass(frozen=True, order=True)
class Duration:
    """A wall-clock duration in whole seconds; SLURM and Snakemake want whole minutes."""

    seconds: int

    @classmethod
    @_memo_text
    def parse(cls, text: object) -> Duration:
        if isinstance(text, bool) or not isinstance(text, (str, int, float)):
            raise UnitError("DV202", f"duration must be a string like '2h', not {type(text).__name__}")
        if isinstance(text, (int, float)):
            raise UnitError(
                "DV204",
                f"duration '{text}' has no unit",
                f"write '{text}min' for minutes or '{text}h' for hours (Snakemake reads a bare number as minutes)",
            )
        value = text.strip().replace(" ", "")
        if re.fullmatch(r"\d+(\.\d+)?", value):
            raise UnitError(
                "DV204",
                f"duration '{text}' has no unit",
                f"write '{value}min' or '{value}h'; SLURM's forms need a colon or a dash (e.g. '{value}:00')",
            )
        seconds = cls._parse_compact(value)
        if seconds is None:
            seconds = cls._parse_slurm(value)
        if seconds is None:
            raise UnitError(
                "DV202",
                f"invalid duration '{text}'",
                "use e.g. 90s, 30min, 2h, 13h20m, 4d4h, 1.5h, or SLURM's MM:SS, HH:MM:SS, D-HH, D-HH:MM:SS",
            )
        if seconds <= 0:
            raise UnitError("DV202", f"duration '{text}' must be more than zero")
        if seconds > MAX_SECONDS:
            raise UnitError("DV202", f"duration '{text}' is longer than a year")
        return cls(seconds)

    @staticmethod
    def _parse_compact(value: str) -> int | None:
        pos, total, last_rank = 0, Fraction(0), -1
        order = ["d", "h", "min", "m", "s"]
        for match in _COMPACT_RE.finditer(value):
            if match.start() != pos:
                return None
            unit = match.group(2)
            rank = order.index(unit) if unit != "min" else order.index("m")
            if rank <= last_rank:  # units must go from large to small, once each
                return None
            last_rank = rank
            total += Fraction(match.group(1)) * _DURATION_UNITS[unit]
            pos = match.end()
        if pos != len(value) or pos == 0:
            return None
        return math.ceil(total)

    @staticmethod
    def _parse_slurm(value: str) -> int | None:
        match = _SLURM_RE.match(value)
        if not match:
            return None
        days, first, second, third = match.groups()
        if days is None:
            if second is None:
                return None  # a bare number: refused earlier
            if third is None:  # MM:SS
                parts = (0, int(first), int(second))
            else:  # HH:MM:SS
                parts = (int(first), int(second), int(third))
        else:  # D-HH, D-HH:MM, D-HH:MM:SS
            parts = (int(first), int(second or 0), int(third or 0))
        hours, minutes, seconds = parts
        if (second is not None and minutes >= 60 and (days or third)) or seconds >= 60:
            return None
        return int(days or 0) * 86400 + hours * 3600 + minutes * 60 + seconds

    @property
    def minutes(self) -> int:
        """Whole minutes, rounded up: asking SLURM for less time than written would kill the job."""
        return max(1, math.ceil(self.seconds / 60))

    def __str__(self) -> str:
        rest = self.seconds
        parts = []
        for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
            count, rest = divmod(rest, size)
            if count:
                parts.append(f"{count}{unit}")
        text = "".join(parts)
        return text + "in" if text.endswith("m") and len(parts) == 1 else text

    @property
    def slurm(self) -> str:
        """SLURM's D-HH:MM:SS form."""
        days, rest = divmod(self.minutes * 60, 86400)
        hours, rest = divmod(rest, 3600)
        return f"{days}-{hours:02d}:{rest // 60:02d}:00"

    @property
    def count(self) -> int:
        """The whole number Snakemake's runtime and SLURM's --time read: minutes."""
        return self.minutes

    def scaled(self, factor: Fraction) -> Duration:
        """Grown by `factor` in whole minutes, rounded down: what Snakemake computes from runtime."""
        return Duration(self.minutes * factor.numerator // factor.denominator * 60)


_FACTOR_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*x\s*$")


@dataclass(frozen=True)
class Factor:
    """A retry scaling factor such as `2x` or `1.5x`, applied as factor ** (attempt - 1)."""

    value: Fraction

    @classmethod
    @_memo_text
    def parse(cls, text: object) -> Factor:
        if isinstance(text, str):
            match = _FACTOR_RE.match(text)
            if match:
                value = Fraction(match.group(1))
                if 1 <= value <= 100:
                    return cls(value)
                raise UnitError("DV203", f"retry factor '{text}' must be between 1x and 100x")
        raise UnitError("DV203", f"invalid retry factor {text!r}", "write a factor like '2x' or '1.5x'")

    def __str__(self) -> str:
        number = self.value.numerator if self.value.denominator == 1 else float(self.value)
        return f"{number}x"

    @property
    def literal(self) -> str:
        """The factor as a Python literal for a Snakemake expression."""
        return str(self.value.numerator) if self.value.denominator == 1 else repr(float(self.value))

    def at(self, attempt: int) -> Fraction:
        return self.value ** (attempt - 1)


Q = TypeVar("Q", Memory, Duration)


@dataclass(frozen=True)
class Scaled(Generic[Q]):
    """A request that grows per retry attempt: base x factor^(attempt - 1), held at `cap`.

    One value renders both what attempt n asks for (`at`) and the Snakemake expression of
    `attempt` that computes the same number (`expression`), in integer arithmetic both: a
    non-integer factor p/q is `base * p ** (attempt - 1) // q ** (attempt - 1)`, never a float.
    A cap below the base does not shrink it: attempt 1 asks for what was written.
    """

    base: Q
    factor: Factor | None = None
    cap: Q | None = None

    @property
    def limit(self) -> Q | None:
        """The most any attempt asks for, when retries grow it and a partition limits it."""
        if self.factor is None or self.cap is None:
            return None
        return self.cap if self.cap.count >= self.base.count else self.base

    def grown(self, attempt: int) -> Q:
        """The value at `attempt` before the cap."""
        if self.factor is None or attempt == 1:
            return self.base
        return self.base.scaled(self.factor.at(attempt))

    def is_capped(self, attempt: int) -> bool:
        if self.factor is None or attempt == 1:  # nothing grew: a cap below the base does not shrink it
            return False
        limit = self.limit
        return limit is not None and self.grown(attempt).count > limit.count

    def at(self, attempt: int) -> Q:
        if self.factor is None or attempt == 1:  # what was written (the checks ask for attempt 1 most)
            return self.base
        limit = self.limit
        return limit if limit is not None and self.is_capped(attempt) else self.grown(attempt)

    def expression(self) -> int | str:
        """The whole number, or Snakemake's Python expression of `attempt` for it."""
        base = self.base.count
        if self.factor is None:
            return base
        value = self.factor.value
        if value.denominator == 1:
            text = f"int({base} * {value.numerator} ** (attempt - 1))"
        else:
            text = f"{base} * {value.numerator} ** (attempt - 1) // {value.denominator} ** (attempt - 1)"
        limit = self.limit
        return f"min({text}, {limit.count})" if limit is not None else text


@dataclass(frozen=True)
class GpuRequest:
    """GPUs a job asks for: a count, optionally of one type."""

    count: int
    type: str | None = None

    @property
    def typed(self) -> str:
        """`type:count` or `count`, as --gpus and --gpus-per-node read it."""
        return f"{self.type}:{self.count}" if self.type else str(self.count)
