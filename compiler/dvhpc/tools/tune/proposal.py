"""Per rule: what its jobs used and what to ask for instead.

memory and time: the quantile (p95) of what succeeded plus the headroom, never below the largest
successful use, at least the headroom above a request that ran out (OUT_OF_MEMORY, TIMEOUT), rounded
up to friendly units, capped at the partition's limit (said when the cap binds). CPUs: the quantile
of the CPUs busy on average (TotalCPU / Elapsed) plus the headroom, never more than asked for (more
CPUs than used cannot be shown to help). Only with at least `min_jobs` succeeded jobs.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Callable
from typing import TypeVar

from dvhpc.model import keys
from dvhpc.model.site import Resources, Site
from dvhpc.model.units import Duration, Memory
from dvhpc.tools.tune.model import CAUSES, Evidence, Job, Measure, Options, RuleTune, TuneResult
from dvhpc.tools.tune.stats import friendly_duration, friendly_memory, quantile

ENGINE_DEFAULT = "Snakemake/SLURM default"
Q = TypeVar("Q", Memory, Duration)


def propose(site: Site, evidence: Evidence, options: Options, only: list[str] | None = None) -> TuneResult:
    by_rule: dict[str, list[Job]] = {}
    for job in evidence.jobs:
        by_rule.setdefault(job.rule, []).append(job)
    names = sorted(by_rule) if not only else [r for r in only if r in site.rules]
    places = Places(site)
    rules = [tune_rule(places, site.rules[name], by_rule.get(name, []), options) for name in names]
    return TuneResult(site.name, site.spec_file, options, rules, evidence)


class Places:
    """Which rules take a key's value from each place (a set, the defaults): found once per key."""

    def __init__(self, site: Site):
        self.site = site
        self.by_key: dict[str, dict[tuple, list[str]]] = {}

    def sharing(self, key: keys.Key, place) -> list[str]:
        table = self.by_key.get(key.name)
        if table is None:
            table = self.by_key[key.name] = {}
            for rule in self.site.rules.values():
                sourced = rule.sourced(key)
                loc = sourced.origin.location if sourced is not None else None
                if loc is not None:
                    table.setdefault((loc.file, loc.line, loc.column), []).append(rule.name)
        return table.get((place.file, place.line, place.column), [])


def tune_rule(places: Places, res: Resources, jobs: list[Job], options: Options) -> RuleTune:
    ok = [j for j in jobs if j.succeeded]
    ended = [j for j in jobs if not j.succeeded and j.state in CAUSES]
    enough = len(ok) >= options.min_jobs
    efficiency = [e for j in ok if (e := j.cpu_efficiency) is not None]
    measures = [
        _memory(places, res, ok, [j for j in ended if j.state == "OUT_OF_MEMORY"], options, enough),
        _time(places, res, ok, [j for j in ended if j.state == "TIMEOUT"], options, enough),
        _cpus(places, res, ok, options, enough),
    ]
    return RuleTune(
        rule=res.name, jobs=jobs, states=Counter(j.state for j in jobs),
        causes=Counter(CAUSES[j.state] for j in ended),
        succeeded_on=Counter(j.attempt for j in ok if j.attempt is not None),
        cpu_efficiency=statistics.median(efficiency) if efficiency else None,
        measures=measures, enough=enough, partition=res.partition.name if res.partition else None)


def _measure(places: Places, res: Resources, key: keys.Key, values: list[float]) -> Measure:
    measure = Measure(key.name, n=len(values))
    if values:
        measure.median = statistics.median(values)
        measure.max = max(values)
    sourced = res.sourced(key)
    if sourced is None:
        measure.origin = ENGINE_DEFAULT
        return measure
    measure.requested = sourced.value
    measure.origin = sourced.origin.label
    place = sourced.origin.location
    measure.location = place
    if place is not None and measure.origin != f"rule {res.name}":
        measure.shared_with = tuple(sorted(r for r in places.sharing(key, place) if r != res.name))
    return measure


def _propose(measure: Measure, values: list[float], options: Options, enough: bool,
             ran_out: list[tuple[float, str]], make: Callable[[float], Q], cap: Q | None, cap_label: str,
             show: Callable[[float], str]) -> None:
    """Fill `measure.high` and (with enough evidence) `measure.proposed`."""
    if values:
        measure.high = quantile(values, options.quantile)
    if not enough:
        measure.reasons.append("too few succeeded jobs")
        return
    if not values:
        measure.reasons.append("not recorded by the source")
        return
    assert measure.high is not None and measure.max is not None
    want = max(measure.high * (1 + options.headroom), measure.max)
    if ran_out:
        limit, what = max(ran_out)
        said = f"{len(ran_out)} job(s) ran out of {what} at up to {show(limit)}"
        if limit * (1 + options.headroom) > want:
            want = limit * (1 + options.headroom)
            measure.reasons.append(f"raised: {said}")
        else:
            measure.reasons.append(f"{said} (the proposal is above it)")
    proposed = make(want)
    if cap is not None and proposed > cap:
        measure.reasons.append(f"capped at {cap_label} ({cap}); {proposed} wanted")
        proposed, measure.capped = cap, True
    measure.proposed = proposed


def _memory(places: Places, res: Resources, ok: list[Job], oom: list[Job], options: Options,
            enough: bool) -> Measure:
    values = [j.mem for j in ok if j.mem is not None]
    measure = _measure(places, res, keys.MEM, values)
    if keys.MEM_PER_CPU in res and keys.MEM not in res:
        measure.high = quantile(values, options.quantile) if values else None
        measure.reasons.append("the rule asks memory per CPU (mem_per_cpu): not proposed")
        return measure
    part = res.partition
    _propose(measure, values, options, enough, [(j.req_mem, "memory") for j in oom if j.req_mem],
             friendly_memory, part.mem if part else None, f"partition {part.name if part else ''}'s memory",
             lambda mib: str(Memory(math.ceil(mib))))
    return measure


def _time(places: Places, res: Resources, ok: list[Job], timeouts: list[Job], options: Options,
          enough: bool) -> Measure:
    values = [j.elapsed for j in ok if j.elapsed is not None]
    measure = _measure(places, res, keys.TIME, values)
    part = res.partition
    ran_out = [(float(j.time_limit if j.time_limit is not None else j.elapsed or 0), "time") for j in timeouts]
    _propose(measure, values, options, enough, [r for r in ran_out if r[0] > 0], friendly_duration,
             part.max_time if part else None, f"partition {part.name if part else ''}'s max_time",
             lambda s: str(Duration(max(1, math.ceil(s)))))
    return measure


def _cpus(places: Places, res: Resources, ok: list[Job], options: Options, enough: bool) -> Measure:
    values = [c for j in ok if (c := j.cores_used) is not None]
    measure = _measure(places, res, keys.CPUS, values)
    if values:
        measure.high = quantile(values, options.quantile)
    if not enough:
        measure.reasons.append("too few succeeded jobs")
        return measure
    asked = measure.requested if isinstance(measure.requested, int) else None
    if not values or asked is None:
        measure.reasons.append("not recorded by the source" if not values else "CPUs not set in the spec")
        return measure
    assert measure.high is not None
    measure.proposed = max(1, min(asked, math.ceil(measure.high * (1 + options.headroom) - 1e-9)))
    if measure.proposed == asked and measure.high >= 0.9 * asked:
        measure.reasons.append("the jobs keep every CPU busy: more might help, measure before raising")
    return measure
