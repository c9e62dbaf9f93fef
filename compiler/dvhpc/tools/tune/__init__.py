"""`dvhpc tune`: right-size each rule's resources from what its jobs really used.

  sources   accounting (live sacct, a saved export), the slurm plugin's efficiency report and
            Snakemake benchmark files -> jobs mapped to rules and attempts
  proposal  per rule: n, median, p95, max and the request -> a proposal (stats: quantiles, units)
  render    text, Markdown, JSON;  html: a self-contained page with SVG charts
  write     the proposals written into the spec where each value comes from
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass, field

from dvhpc.cluster.records import Problem
from dvhpc.cluster.sacct import gc_paused, live_usage
from dvhpc.model.site import Site
from dvhpc.report.diagnostics import Location, Report
from dvhpc.tools.tune.model import Evidence, Options, TuneResult
from dvhpc.tools.tune.proposal import propose
from dvhpc.tools.tune.sources import TuneInputError, add_sacct, read_paths

DEFAULT_SINCE_DAYS = 30
__all__ = ["Gathered", "Options", "TuneInputError", "TuneResult", "gather", "parse_headroom", "problems_report",
           "since_default", "since_time", "tune"]


def since_default(today: _dt.date | None = None) -> str:
    return ((today or _dt.date.today()) - _dt.timedelta(days=DEFAULT_SINCE_DAYS)).isoformat()


def parse_headroom(text: str) -> float:
    """`20%` or `0.2` -> 0.2 (ValueError otherwise; 0 to 400 %)."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(%?)\s*", text)
    if not match:
        raise ValueError(f"not a headroom: {text!r} (write e.g. 20%)")
    value = float(match.group(1)) / (100 if match.group(2) else 1)
    if not 0 <= value <= 4:
        raise ValueError(f"headroom {text!r} is not between 0% and 400%")
    return value


_RELATIVE = re.compile(r"now(?:-(\d+)(days|hours|minutes))?")
_ISO = re.compile(r"\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2})?)?")


def since_time(text: str, now: _dt.datetime | None = None) -> str:
    """`--since` as the ISO time sacct's Submit column is compared with: `2026-11-01`,
    `2026-11-01T08:00[:00]`, `now-7days` (hours, minutes). ValueError for other forms."""
    value = text.strip()
    if _ISO.fullmatch(value):
        return value
    match = _RELATIVE.fullmatch(value)
    if not match:
        raise ValueError(f"--since {text!r}: write a date (2026-11-01, 2026-11-01T08:00) or now-7days")
    delta = _dt.timedelta(**{match.group(2): int(match.group(1))}) if match.group(1) else _dt.timedelta()
    return ((now or _dt.datetime.now()) - delta).strftime("%Y-%m-%dT%H:%M:%S")


@dataclass
class Gathered:
    evidence: Evidence
    problems: list[Problem] = field(default_factory=list)


def gather(site: Site, from_paths: list[str], since: str | None) -> Gathered:
    """The jobs of the spec's rules: from the files given, else from the live sacct since `since`.
    TuneInputError for a file of no known form; RuntimeError when sacct fails."""
    with gc_paused():
        return _gather(site, from_paths, since)


def _gather(site: Site, from_paths: list[str], since: str | None) -> Gathered:
    evidence = Evidence()
    problems: list[Problem] = []
    if from_paths:
        read_paths(from_paths, site, evidence, problems)
        if since:
            since = since_time(since)
            before = len(evidence.jobs)
            evidence.jobs = [j for j in evidence.jobs if not j.submit or j.submit >= since]
            if before != len(evidence.jobs):
                evidence.notes.append(f"{before - len(evidence.jobs)} job(s) submitted before {since} left out")
    else:
        start = since or since_default()
        parsed = live_usage(start)
        problems += parsed.problems
        add_sacct(parsed.items, site, evidence)
        evidence.sources.append(f"sacct since {start} ({len(parsed.items)} jobs)")
    return Gathered(evidence, problems)


def tune(site: Site, gathered: Gathered, options: Options, rules: list[str] | None) -> TuneResult:
    return propose(site, gathered.evidence, options, rules)


def problems_report(problems: list[Problem], report: Report) -> None:
    """Skipped input rows as DV700 warnings at their file:line."""
    for problem in problems:
        report.add("DV700", problem.message, Location(problem.source, max(1, problem.line), 1), show_source=False)

