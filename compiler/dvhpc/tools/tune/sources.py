"""Where `dvhpc tune` reads what jobs used, and which rule and attempt each job was.

- `sacct --parsable2` (live, or an export with its header): the slurm plugin comments each job
  `rule_<rule>` or `rule_<rule>_wildcards_<w>` and names it after the run's UUID; dvhpc's
  cluster-generic template names it `<run id>-<rule>`. Anything else is another workflow's job.
- the slurm plugin's efficiency report (`efficiency_report_<run>.csv`): one row per job step.
- Snakemake `benchmark:` files (a folder of TSV files): the rule from the extended format's
  `rule_name` column, else from the path (a folder or file named after the rule).

Attempts: the jobs of one rule instance in one run (same name and comment), in submission order;
where that cannot tell (cluster-generic names carry no wildcards), the attempt whose request (memory,
time) the spec gives; else unknown.
"""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from pathlib import Path

from dvhpc.cluster.records import Problem
from dvhpc.cluster.sacct import JobUsage, parse_sacct
from dvhpc.model import keys
from dvhpc.model.site import Site
from dvhpc.tools.tune.model import SUCCEEDED, Evidence, Job

_COMMENT = re.compile(r"^rule_([A-Za-z_]\w*?)(?:_wildcards_(.*))?$")
_GENERIC_NAME = re.compile(r"^(.+)-([A-Za-z_]\w*)$")
MAX_INPUT_BYTES = 512 * 1024 * 1024


class TuneInputError(Exception):
    """An input that is not one of the forms tune reads (DV701)."""

    def __init__(self, message: str, source: str):
        super().__init__(message)
        self.source = source


def kind_of(text: str) -> str | None:
    """`sacct`, `efficiency` or `benchmark` by the first line, None when none of them."""
    first = text.split("\n", 1)[0].lstrip("\ufeff").strip()
    if "|" in first and ("JobID" in first.split("|") or re.match(r"^\d+(_\d+)?(\.\w+)?\|", first)):
        return "sacct"
    columns = next(csv.reader([first]), [])
    if "JobID" in columns and ("MaxRSS_MB" in columns or "Elapsed_sec" in columns):
        return "efficiency"
    if first.split("\t")[:2] == ["s", "h:m:s"]:
        return "benchmark"
    return None


def read_paths(paths: list[str], site: Site, evidence: Evidence, problems: list[Problem]) -> None:
    """Jobs from saved files: each file by its content, a folder's benchmark files by their paths."""
    for given in paths:
        path = Path(given)
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
            found = 0
            for file in files:
                text = _read(file)
                if kind_of(text) == "benchmark":
                    found += 1
                    evidence.jobs += benchmark_jobs(text, str(file), _path_rule(file.relative_to(path), site),
                                                    site, problems)
            if not found:
                raise TuneInputError("no Snakemake benchmark files (TSV with a `s  h:m:s` header) in this folder",
                                     given)
            evidence.sources.append(f"{given} ({found} benchmark file{'s' if found != 1 else ''})")
            continue
        text = _read(path)
        kind = kind_of(text)
        if kind == "sacct":
            parsed = parse_sacct(text, given)
            problems += parsed.problems
            add_sacct(parsed.items, site, evidence)
            evidence.sources.append(f"{given} (sacct export, {len(parsed.items)} jobs)")
        elif kind == "efficiency":
            evidence.jobs += efficiency_jobs(text, given, site, evidence, problems)
            evidence.sources.append(f"{given} (slurm plugin efficiency report)")
            evidence.notes.append("the efficiency report records no job states: its jobs count as succeeded")
        elif kind == "benchmark":
            evidence.jobs += benchmark_jobs(text, given, _path_rule(Path(path.name), site), site, problems)
            evidence.sources.append(f"{given} (Snakemake benchmark file)")
        else:
            raise TuneInputError("not a `sacct --parsable2` export with its header, a slurm plugin efficiency "
                                 "report (CSV) or a Snakemake benchmark file (TSV)", given)


def _read(path: Path) -> str:
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_INPUT_BYTES + 1)
    except OSError as exc:
        raise TuneInputError(f"cannot read it: {exc.strerror or exc}", str(path)) from None
    if len(data) > MAX_INPUT_BYTES:
        raise TuneInputError(f"larger than {MAX_INPUT_BYTES // 2**20} MiB", str(path))
    return data.decode("utf-8", "replace")


# ---------------------------------------------------------------------------------------- sacct

def rule_of(usage: JobUsage) -> tuple[str, str] | None:
    """(rule, instance key) of a Snakemake job, None for another workflow's job."""
    comment = usage.comment
    if comment.startswith("rule_"):
        rule = comment[5:].split("_wildcards_", 1)[0]
        if rule.isidentifier():
            return rule, f"{usage.name}\0{comment}"
    match = _GENERIC_NAME.match(usage.name)
    if match and not usage.comment:
        return match.group(2), ""  # "": no instance key, the request tells the attempt
    return None


def add_sacct(usages: list[JobUsage], site: Site, evidence: Evidence) -> None:
    groups: dict[str, list[Job]] = defaultdict(list)
    for usage in usages:
        found = rule_of(usage)
        if found is None or (not found[1] and found[0] not in site.rules):
            evidence.ignored += 1
            continue
        rule, instance = found
        if rule not in site.rules:
            evidence.unknown_rules[rule] += 1
            continue
        job = Job(rule, usage.job_id, usage.state, None, usage.max_rss, usage.elapsed, usage.total_cpu,
                  usage.alloc_cpus, usage.req_mem, usage.time_limit, usage.submit, usage.job_id)
        evidence.jobs.append(job)
        if instance:
            groups[instance].append(job)
        else:
            job.attempt = attempt_by_request(job, site)
    for jobs in groups.values():
        if len(jobs) > 1:
            jobs.sort(key=lambda j: (j.submit, _id_order(j.job_id)))
        for number, job in enumerate(jobs, start=1):
            job.attempt = number


def _id_order(job_id: str) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", job_id))


def attempt_by_request(job: Job, site: Site) -> int | None:
    """The attempt whose memory and time the job asked for, when exactly one matches."""
    res = site.rules[job.rule]
    minutes = job.time_limit // 60 if job.time_limit is not None else None
    matching = [a.number for a in res.attempts
                if (minutes is None or a.count(keys.TIME) in (None, minutes))
                and (job.req_mem is None or a.count(keys.MEM) in (None, job.req_mem))]
    return matching[0] if len(matching) == 1 else None


# ------------------------------------------------------------------------------- efficiency report

def efficiency_jobs(text: str, source: str, site: Site, evidence: Evidence, problems: list[Problem]) -> list[Job]:
    """The slurm plugin's efficiency report: step rows (pandas' to_csv, an index column first)."""
    by_job: dict[str, Job] = {}
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    for number, row in enumerate(reader, start=2):
        rule_text = row.get("RuleName") or ""
        match = _COMMENT.match(rule_text)
        rule = match.group(1) if match else rule_text
        if not rule:
            evidence.ignored += 1
            continue
        if rule not in site.rules:
            evidence.unknown_rules[rule] += 1
            continue
        try:
            main = (row.get("MainJobID") or row.get("JobID") or "").split(".")[0]
            mem = float(row["MaxRSS_MB"]) if row.get("MaxRSS_MB") else None
            elapsed = float(row["Elapsed_sec"]) if row.get("Elapsed_sec") else None
            cpu = float(row["TotalCPU_sec"]) if row.get("TotalCPU_sec") else None
            cpus = int(float(row["NCPUS"])) if row.get("NCPUS") else None
            req = int(float(row["RequestedMem_MB"])) if row.get("RequestedMem_MB") else None
        except (KeyError, ValueError) as exc:
            problems.append(Problem(source, number, f"not a number: {exc}"))
            continue
        job = by_job.get(main)
        if job is None:
            by_job[main] = Job(rule, main, SUCCEEDED, mem=mem or None, elapsed=elapsed, cpu_time=cpu, cpus=cpus,
                               req_mem=req or None, where=f"{source}:{number}")
        else:  # another step of the same job: the peak and the longest
            job.mem = max(job.mem or 0, mem or 0) or None
            job.elapsed = max(job.elapsed or 0, elapsed or 0)
            job.cpu_time = (job.cpu_time or 0) + (cpu or 0)
    return list(by_job.values())


# --------------------------------------------------------------------------------- benchmark files

def _path_rule(relative: Path, site: Site) -> str | None:
    """The rule a benchmark file belongs to by its path: a folder or file named after a rule, or a
    file name that starts with a rule's name and a separator (the longest such name)."""
    parts = list(relative.parts)
    stem = relative.name.split(".")[0]
    for part in [*parts[:-1], stem]:
        if part in site.rules:
            return part
    for part in [*parts[:-1], stem]:
        prefixes = [r for r in site.rules if re.match(rf"^{re.escape(r)}[._-]", part)]
        if prefixes:
            return max(prefixes, key=len)
    return None


def benchmark_jobs(text: str, source: str, path_rule: str | None, site: Site, problems: list[Problem]) -> list[Job]:
    lines = text.splitlines()
    header = lines[0].split("\t")
    col = {name: i for i, name in enumerate(header)}
    jobs = []
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        parts = line.split("\t")
        rule = parts[col["rule_name"]] if "rule_name" in col and len(parts) > col["rule_name"] else path_rule
        if not rule or rule not in site.rules:
            problems.append(Problem(source, number, "no rule of the spec for this benchmark file"
                                    + (f" (rule {rule!r})" if rule else "")))
            break
        try:
            elapsed = float(parts[col["s"]])
            mem = _na(parts[col["max_rss"]]) if "max_rss" in col else None
            cpu = _na(parts[col["cpu_time"]]) if "cpu_time" in col else None
            threads = _na(parts[col["threads"]]) if "threads" in col and len(parts) > col["threads"] else None
        except (IndexError, ValueError) as exc:
            problems.append(Problem(source, number, f"not a benchmark row: {exc}"))
            continue
        cpus = int(threads) if threads else site.rules[rule].value(keys.CPUS)
        jobs.append(Job(rule, f"{Path(source).name}:{number}", SUCCEEDED, mem=mem, elapsed=elapsed, cpu_time=cpu,
                        cpus=cpus, where=f"{source}:{number}"))
    return jobs


def _na(text: str) -> float | None:
    value = text.strip()
    return None if value in ("NA", "-", "") else float(value)
