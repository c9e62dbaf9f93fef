"""What `dvhpc tune` reads and proposes: jobs mapped to rules, each rule's measures and proposals.

Memory is in MiB, times in seconds, CPUs as counts; proposals are the model's typed units
(`Memory`, `Duration`, an int for CPUs), so they print as a spec writes them.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from dvhpc.model.units import Duration, Memory
from dvhpc.report.diagnostics import Location

SUCCEEDED = "COMPLETED"
# why a job did not succeed, by the state accounting gives it
CAUSES = {"OUT_OF_MEMORY": "out of memory", "TIMEOUT": "out of time", "FAILED": "failed",
          "CANCELLED": "cancelled", "NODE_FAIL": "node failure", "PREEMPTED": "preempted"}


@dataclass(slots=True)
class Job:
    """One job of one rule, as one source recorded it (None: not recorded)."""

    rule: str
    job_id: str
    state: str
    attempt: int | None = None
    mem: float | None = None  # peak resident memory, MiB
    elapsed: float | None = None  # seconds
    cpu_time: float | None = None  # seconds of CPU over all its CPUs
    cpus: int | None = None  # CPUs allocated
    req_mem: int | None = None  # MiB asked for
    time_limit: int | None = None  # seconds asked for
    submit: str = ""
    where: str = ""  # file:line or "sacct"

    @property
    def succeeded(self) -> bool:
        return self.state == SUCCEEDED

    @property
    def cores_used(self) -> float | None:
        """CPUs busy on average: TotalCPU / Elapsed."""
        if self.cpu_time is None or not self.elapsed:
            return None
        return self.cpu_time / self.elapsed

    @property
    def cpu_efficiency(self) -> float | None:
        """TotalCPU / (Elapsed x AllocCPUS)."""
        used = self.cores_used
        return None if used is None or not self.cpus else used / self.cpus


@dataclass
class Evidence:
    """Every job read, by rule; what was ignored and why; notes on the sources."""

    jobs: list[Job] = field(default_factory=list)
    ignored: int = 0  # jobs of other workflows (no rule comment or name)
    unknown_rules: Counter[str] = field(default_factory=Counter)  # rules the spec has no entry for
    sources: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Options:
    quantile: float = 0.95
    headroom: float = 0.20  # added to the quantile: 0.2 = 20 %
    min_jobs: int = 5


@dataclass
class Measure:
    """One resource of one rule: what succeeded used, what the spec asks for, what to ask for."""

    key: str  # mem, time, cpus
    n: int = 0
    median: float | None = None
    high: float | None = None  # the quantile (p95 by default)
    max: float | None = None
    requested: Memory | Duration | int | None = None
    proposed: Memory | Duration | int | None = None
    reasons: list[str] = field(default_factory=list)  # raised, capped, too few jobs ...
    capped: bool = False
    origin: str = ""  # "rule x", "set gpu_train", "defaults", "Snakemake/SLURM default"
    location: Location | None = None
    shared_with: tuple[str, ...] = ()  # other rules whose value comes from the same place

    @property
    def changes(self) -> bool:
        return self.proposed is not None and self.proposed != self.requested


@dataclass
class RuleTune:
    """The report of one rule."""

    rule: str
    jobs: list[Job]
    states: Counter[str]
    causes: Counter[str]
    succeeded_on: Counter[int]  # attempt -> jobs that succeeded on it
    cpu_efficiency: float | None  # median over succeeded jobs
    measures: list[Measure]
    enough: bool  # at least min_jobs succeeded
    partition: str | None = None


@dataclass
class TuneResult:
    site: str
    spec: str
    options: Options
    rules: list[RuleTune]
    evidence: Evidence

    @property
    def too_few(self) -> list[RuleTune]:
        return [r for r in self.rules if not r.enough]
