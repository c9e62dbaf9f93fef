"""The Snakemake versions a profile is for: the version matrix dvhpc verifies, a site's declared
range (`environment.require.snakemake`), and what follows from it (the profile's file name).

The matrix is proven with the real packages by tests/test_versions_matrix.py (venvs built by
tests/matrix/venvs.py from tests/matrix/matrix.json, which pins what pip resolved for each
Snakemake). Every key's profile form (`dvhpc.model.keys.Form`) reads the same on all of them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dvhpc.report.diagnostics import Location, Report

# Snakemake releases the test suite runs, each with the executor plugins pip resolved for it.
MATRIX: tuple[str, ...] = ("9.1.5", "9.16.3", "9.27.1")
PLUGINS: dict[str, str] = {"slurm": "2.8.0", "cluster-generic": "1.0.9"}  # the same for every row
# What bootstrap.sh accepts: the verified release and its patch releases.
PLUGIN_RANGES: dict[str, str] = {name: f"~={version}" for name, version in PLUGINS.items()}
DEFAULT_RANGE = f">={MATRIX[0]},<={MATRIX[-1]}"  # a site that declares none runs on what is verified

# Snakemake reads `profile.vN+.yaml` from 9.19 on (and `config.vN+.yaml` from 8.0): a range that
# starts at 9.19 names its profile so that no older Snakemake reads it at all.
PROFILE_NAMES_FROM = (9, 19)

# Why versions below the matrix are refused (no form is proven there; README "Verified versions").
BELOW_MATRIX = {
    "8": "Snakemake 8.x keeps a quoted string's quotes in set-resources and reads profiles as "
         "config.v8+.yaml; 7.x has no expressions in set-resources and reads only config.yaml",
    "9.0": "Snakemake 9.0 to 9.1.4 are not in the version matrix",
}

# Snakemake caps every rule's threads at --cores. With a remote executor and no --cores, 9.1.5 sets
# it to the submit host's CPU count (cli.py: `args.cores = available_cpu_count()`; a 32-thread rule
# ran with threads 2 on a 2-CPU login node, also inside its job), 9.16.3 and 9.27.1 leave it unset
# (no cap). The profile says `cores` explicitly, so no version caps (the scheduler ignores --cores
# when jobs go to a cluster; measured by tests/test_versions_matrix.py with cluster-generic's
# --cpus-per-task={threads}).
UNCAPPED_CORES = 1_000_000

_CLAUSE = re.compile(r"^\s*(==|!=|>=|<=|~=|>|<)?\s*(\d+(?:\.\d+)*)\s*$")


def parse_version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


@dataclass(frozen=True)
class Range:
    """A version requirement such as `>=9.19` or `~=9.1.5` (the schema's version_spec): clauses
    that all hold; `==X.Y` and `!=X.Y` compare by prefix, a bare `X.Y` means `==X.Y`."""

    text: str
    clauses: tuple[tuple[str, tuple[int, ...]], ...]

    @classmethod
    def parse(cls, text: str) -> Range:
        clauses = []
        for part in text.split(","):
            match = _CLAUSE.match(part)
            if match is None:
                raise ValueError(f"not a version requirement: {text!r}")
            clauses.append((match.group(1) or "==", parse_version(match.group(2))))
        return cls(text.strip(), tuple(clauses))

    def admits(self, version: str | tuple[int, ...]) -> bool:
        v = parse_version(version) if isinstance(version, str) else version
        return all(_holds(op, v, want) for op, want in self.clauses)

    def lowest(self) -> tuple[int, ...] | None:
        """The lowest version the range admits (None: no lower bound)."""
        lows = [want for op, want in self.clauses if op in (">=", "~=", "==")]
        lows += [want + (0,) * (3 - len(want)) + (1,) for op, want in self.clauses if op == ">"]
        return max(lows) if lows else None

    def below_matrix(self) -> bool:
        """Whether the range admits a version older than the matrix's oldest."""
        low = self.lowest()
        return low is None or _padded(low) < _padded(parse_version(MATRIX[0]))

    def verified(self) -> tuple[str, ...]:
        return tuple(v for v in MATRIX if self.admits(v))


def _padded(v: tuple[int, ...]) -> tuple[int, ...]:
    return v + (0,) * (4 - len(v))


def _prefix_eq(v: tuple[int, ...], want: tuple[int, ...]) -> bool:
    return _padded(v)[:len(want)] == want


def _holds(op: str, v: tuple[int, ...], want: tuple[int, ...]) -> bool:
    a, b = _padded(v), _padded(want)
    if op == "~=":
        return a >= b and _prefix_eq(v, want[:-1])
    return {">=": a >= b, "<=": a <= b, ">": a > b, "<": a < b,
            "==": _prefix_eq(v, want), "!=": not _prefix_eq(v, want)}[op]


def declared(text: str | None) -> Range:
    """The range a site runs on: its `environment.require.snakemake`, else the matrix."""
    return Range.parse(text if text else DEFAULT_RANGE)


def profile_file(text: str | None) -> str:
    """The profile's file name for a range, as Snakemake's versioned lookup picks it: `vN+` keeps
    Snakemake < N from reading it; `profile.` (9.19+) also keeps 9.0 to 9.18 out."""
    low = declared(text).lowest()
    if low is not None and _padded(low) >= _padded(PROFILE_NAMES_FROM):
        return "profile.v9+.yaml"
    return "config.v9+.yaml"


PROFILE_FILES = ("profile.v9+.yaml", "config.v9+.yaml")  # every name profile_file gives

# The key of the guard file: no Snakemake option starts with it, so Snakemake stops on it
# ("unrecognized arguments: --this-profile-is-for-snakemake=...").
GUARD_KEY = "this-profile-is-for-snakemake"


def guard_file(text: str | None) -> str | None:
    """The file Snakemake 10 would read instead of the profile, when the declared range ends
    before 10: its versioned lookup takes the highest `vN+` at most its major, so a `v10+` file
    holding only GUARD_KEY makes 10 and later stop instead of reading a 9.x profile."""
    if not text:
        return None
    wanted = Range.parse(text)
    bounded = any(op in ("<", "<=", "~=", "==") for op, _ in wanted.clauses)
    if not bounded or wanted.admits((10,)) or any(wanted.admits((10, minor)) for minor in range(100)):
        return None
    return profile_file(text).replace(".v9+.", ".v10+.")


def check_snakemake_range(text: str, where: Location, report: Report) -> None:
    """DV370/DV371: a declared range reaching below the matrix (no form is proven there: refused),
    or admitting no version of it (forms proven only on the versions around it: a warning)."""
    try:
        wanted = Range.parse(text)
    except ValueError:
        return  # the schema's version_spec pattern reports it
    matrix = ", ".join(MATRIX)
    if wanted.below_matrix():
        low = wanted.lowest()
        why = BELOW_MATRIX["8"] if low is None or _padded(low) < _padded((9,)) else BELOW_MATRIX["9.0"]
        report.add("DV370", f"environment.require.snakemake '{text}' admits Snakemake versions older than "
                   f"{MATRIX[0]}, where no profile form is verified: {why}", where,
                   hint=f"require a version dvhpc verifies (matrix: {matrix}), e.g. '>={MATRIX[0]}' or '~={MATRIX[0]}'")
    elif not wanted.verified():
        report.add("DV371", f"environment.require.snakemake '{text}' admits no version of dvhpc's version "
                   f"matrix ({matrix}): the profile's forms are verified only on those", where,
                   hint="widen the range to include a verified version, or check the profile on yours")
