"""Diagnostics are data: a stable code, a severity, a message, a location and a hint.

Every stage reports problems by appending `Diagnostic`s to a `Report`; renderers
(`dvhpc.report.render`) turn them into text, JSON, GitHub annotations or SARIF.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from enum import Enum


class Severity(str, Enum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True, order=True)
class Location:
    """A span in a source file; lines and columns are 1-based, `end_*` inclusive of the last char."""

    file: str
    line: int = 1
    column: int = 1
    end_line: int = 0
    end_column: int = 0

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True)
class Note:
    message: str
    location: Location | None = None


@dataclass(frozen=True)
class Diagnostic:
    code: str
    message: str
    location: Location
    severity: Severity = Severity.ERROR
    hint: str | None = None
    notes: tuple[Note, ...] = ()
    suppressed: bool = False
    # False where the location is in a file whose lines must not be quoted (not a spec, a FIFO)
    show_source: bool = True

    def sort_key(self) -> tuple:
        loc = self.location
        return (loc.file, loc.line, loc.column, self.code, self.message)


# The catalogue: codes are stable; never renumber, only add. Documented in docs/diagnostics.md.
CODES: dict[str, tuple[Severity, str]] = {
    # DV0xx: reading files
    "DV001": (Severity.ERROR, "file cannot be read (missing, unreadable, not a file)"),
    "DV002": (Severity.ERROR, "file is not valid text (binary data, NUL bytes, bad encoding)"),
    "DV003": (Severity.ERROR, "YAML or TOML syntax error"),
    "DV004": (Severity.ERROR, "duplicate key in a mapping"),
    "DV005": (Severity.ERROR, "input too large or too deeply nested (size, alias expansion, depth, a number over 100 digits)"),
    "DV006": (Severity.ERROR, "unsupported YAML feature (non-string key, custom tag, recursive alias)"),
    "DV007": (Severity.ERROR, "not a regular file, or not a dvhpc spec (FIFO, device, another kind of file)"),
    "DV008": (Severity.ERROR, "line-break character that YAML 1.1 and YAML 1.2 read differently (U+0085, U+2028, U+2029)"),
    "DV010": (Severity.ERROR, "`extends` target missing or unreadable"),
    "DV011": (Severity.ERROR, "cycle in `extends`"),
    # DV1xx: schema
    "DV100": (Severity.ERROR, "wrong type"),
    "DV101": (Severity.ERROR, "required key missing"),
    "DV102": (Severity.ERROR, "unknown key"),
    "DV103": (Severity.ERROR, "value not allowed (enum, pattern, range)"),
    "DV104": (Severity.ERROR, "value matches none of the accepted forms"),
    "DV105": (Severity.ERROR, "unsupported spec format version"),
    # DV2xx: units and references
    "DV201": (Severity.ERROR, "invalid memory size"),
    "DV202": (Severity.ERROR, "invalid duration"),
    "DV203": (Severity.ERROR, "invalid retry factor"),
    "DV204": (Severity.ERROR, "number without a unit"),
    "DV210": (Severity.ERROR, "unknown resource set"),
    "DV211": (Severity.ERROR, "unknown partition"),
    "DV212": (Severity.ERROR, "GPU type not offered by the partition"),
    "DV213": (Severity.ERROR, "cycle or self-reference in resource sets"),
    "DV220": (Severity.ERROR, "bad run-time variable syntax (`${VAR}`, `{name}`)"),
    "DV221": (Severity.ERROR, "unknown `{name}` reference in a path"),
    "DV222": (Severity.ERROR, "cycle in path references"),
    "DV230": (Severity.ERROR, "more than one default partition"),
    "DV231": (Severity.ERROR, "environment variable a spec may not set (it would make shells run code)"),
    "DV232": (Severity.ERROR, "`slurm_extra` flag that the SLURM executor plugin manages itself"),
    "DV233": (Severity.ERROR, "`slurm_extra` item with quotes or spaces (one flag per item, no quoting)"),
    "DV234": (Severity.ERROR, "value that cannot reach a shell or command line safely (character class, leading '-')"),
    "DV235": (Severity.WARNING, "environment variable outside the safe set, allowed by `allow_unsafe_variables`"),
    # DV3xx: lint (semantic checks)
    "DV301": (Severity.ERROR, "time exceeds the partition's max_time"),
    "DV302": (Severity.ERROR, "memory exceeds the partition's node memory"),
    "DV303": (Severity.ERROR, "CPUs exceed the partition's CPUs per node"),
    "DV304": (Severity.ERROR, "GPUs exceed the partition's GPUs per node"),
    "DV305": (Severity.ERROR, "GPUs requested on a partition without GPUs"),
    "DV306": (Severity.WARNING, "gpu_type without gpus"),
    "DV307": (Severity.ERROR, "nodes exceed the partition's node count"),
    "DV310": (Severity.WARNING, "retry scaling capped by a partition limit"),
    "DV320": (Severity.ERROR, "leftover placeholder (<YOUR_...>, TODO, CHANGEME, FIXME)"),
    "DV321": (Severity.ERROR, "no account while accounting is on"),
    "DV330": (Severity.WARNING, "resource set defined but never used"),
    "DV331": (Severity.WARNING, "datasets without a root path"),
    "DV332": (Severity.WARNING, "path relative on the cluster"),
    "DV333": (Severity.WARNING, "detect can never match"),
    "DV340": (Severity.ERROR, "not a Snakemake option, or only an abbreviation of one"),
    "DV341": (Severity.ERROR, "Snakemake option that dvhpc writes from another spec key"),
    "DV342": (Severity.ERROR, "Snakemake option of an executor plugin the site does not use"),
    "DV343": (Severity.ERROR, "Snakemake option value that Snakemake would refuse or read as another option"),
    "DV350": (Severity.ERROR, "spec rule not in the workflow"),
    "DV351": (Severity.INFO, "workflow rule without an entry (gets the defaults)"),
    "DV352": (Severity.WARNING, "GPU resources on a local rule"),
    "DV353": (Severity.ERROR, "the workflow cannot be read"),
    "DV354": (Severity.WARNING, "workflow part the static reader cannot follow (use --workflow-exec to run Snakemake's parser)"),
    "DV360": (Severity.ERROR, "generated script fails shellcheck"),
    "DV361": (Severity.INFO, "shellcheck not available; generated scripts not checked"),
    # DV5xx: import of a hand-written profile
    "DV501": (Severity.ERROR, "import: a profile value could not be mapped"),
    "DV502": (Severity.WARNING, "import: a decision to review (comment disagrees, placeholder, approximation)"),
    "DV503": (Severity.INFO, "import: what was changed and why"),
    # DV4xx: compile / write
    "DV401": (Severity.ERROR, "generated file was edited by hand (use --force to overwrite)"),
    "DV402": (Severity.ERROR, "output folder cannot be written"),
    "DV403": (Severity.ERROR, "generated folder is broken or unreadable (compile --check, diff)"),
}


def dotted(path) -> str:
    """A spec path as people write it: resources.rules.x.slurm_extra[0]."""
    text = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")
    return text or "the top level"


def closest(word: str, candidates, cutoff: float = 0.6) -> str | None:
    """The best did-you-mean candidate, or None."""
    matches = difflib.get_close_matches(word, sorted(map(str, candidates)), n=1, cutoff=cutoff)
    return matches[0] if matches else None


@dataclass
class Report:
    """Collects diagnostics from every stage of one run."""

    items: list[Diagnostic] = field(default_factory=list)

    def add(
        self,
        code: str,
        message: str,
        location: Location,
        *,
        hint: str | None = None,
        notes: tuple[Note, ...] = (),
        severity: Severity | None = None,
        show_source: bool = True,
    ) -> Diagnostic:
        diag = Diagnostic(
            code=code,
            message=message,
            location=location,
            severity=severity or CODES[code][0],
            hint=hint,
            notes=notes,
            show_source=show_source,
        )
        self.items.append(diag)
        return diag

    def extend(self, other: "Report") -> None:
        self.items.extend(other.items)

    @property
    def has_errors(self) -> bool:
        return any(d.severity is Severity.ERROR and not d.suppressed for d in self.items)

    def sorted(self) -> list[Diagnostic]:
        seen: set = set()
        unique = []
        for diag in sorted(self.items, key=Diagnostic.sort_key):
            key = (diag.code, diag.location, diag.message)
            if key not in seen:
                seen.add(key)
                unique.append(diag)
        return unique
