"""What each SLURM command reports, record by record, before aggregation; and what was skipped.

Memory is in MiB and time in seconds, as the parsers read them; `line` is the line of the record
in its source (0 = the source as a whole).
"""

from __future__ import annotations

from dataclasses import dataclass, field


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
    allow_accounts: list[str] | None = None  # None = ALL
    deny_accounts: list[str] = field(default_factory=list)
    allow_qos: list[str] | None = None
    deny_qos: list[str] = field(default_factory=list)
    qos: str | None = None
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
    """What one parser read: its records (or names) in order, and what it skipped."""

    items: list
    problems: list[Problem] = field(default_factory=list)


