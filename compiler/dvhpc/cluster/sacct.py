"""What SLURM's accounting says each job used: `sacct --parsable2` text (with its job steps) as one
`JobUsage` per job, and the live `sacct` call that `dvhpc tune` makes.

A job's rows are its allocation row (`123`, `123_4` for an array task) and its steps (`123.batch`,
`123.extern`, `123.0`). Peak memory is the largest MaxRSS over the steps; the state and times come
from the allocation row; a step that ran out of memory marks the job OUT_OF_MEMORY (SLURM sometimes
reports the job itself as FAILED then). Malformed rows become `Problem`s, never exceptions.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import math
import operator
import re
from dataclasses import dataclass

from dvhpc.cluster.live import COMMAND_TIMEOUT, Runner, run_command
from dvhpc.cluster.records import Parsed, Problem
from dvhpc.cluster.values import parse_mib, parse_slurm_time
from dvhpc.model.units import KIB

# the fields dvhpc asks for; an export with a header may have them in any order, or more
FIELDS = ("JobID", "JobName", "Comment", "State", "ExitCode", "Partition", "Submit", "Elapsed", "TotalCPU",
          "AllocCPUS", "ReqMem", "Timelimit", "MaxRSS", "NNodes", "WorkDir")
REQUIRED = ("JobID", "JobName", "Elapsed")
# states of a job that has ended; the rest (PENDING, RUNNING, ...) are still going
ENDED = frozenset({"COMPLETED", "FAILED", "TIMEOUT", "OUT_OF_MEMORY", "CANCELLED", "NODE_FAIL", "PREEMPTED",
                   "BOOT_FAIL", "DEADLINE"})
_JOB_ID = re.compile(r"^(\d+(?:_\d+|_\[[^\]]*\])?(?:\+\d+)?)(?:\.(.+))?$")


@dataclass(slots=True)
class JobUsage:
    """One job as accounting recorded it: memory in MiB, times in seconds (None: not recorded)."""

    job_id: str
    name: str
    comment: str = ""
    state: str = ""  # COMPLETED, FAILED, TIMEOUT, OUT_OF_MEMORY, CANCELLED, RUNNING, ...
    exit_code: str = ""
    partition: str = ""
    submit: str = ""  # ISO time; orders a rule's attempts
    elapsed: int | None = None
    total_cpu: float | None = None
    alloc_cpus: int | None = None
    req_mem: int | None = None  # MiB for the whole job
    time_limit: int | None = None
    max_rss: int | None = None  # MiB, the largest over the job's steps
    workdir: str = ""
    line: int = 0

    @property
    def cpu_efficiency(self) -> float | None:
        """TotalCPU / (Elapsed x AllocCPUS): 1.0 = every allocated CPU busy all the time."""
        if self.total_cpu is None or not self.elapsed or not self.alloc_cpus:
            return None
        return self.total_cpu / (self.elapsed * self.alloc_cpus)


@functools.cache
def normal_state(text: str) -> str:
    """`CANCELLED by 0` -> CANCELLED, `OUT_OF_ME+` (sacct's cut) -> OUT_OF_MEMORY."""
    word = text.strip().split(" ", 1)[0].upper()
    if word.endswith("+"):
        stem = word[:-1]
        word = next((s for s in sorted(ENDED) if s.startswith(stem)), word)
    return word


def parse_elapsed(text: str) -> float | None:
    """Elapsed or TotalCPU: `1-02:03:04`, `02:03:04`, `03:04.567`, `1-02`, `00:00:00.123`; None when
    empty. ValueError for other text (a bare number included: sacct never prints one)."""
    value = text.strip()
    if not value or value in ("INVALID", "Unknown"):
        return None
    try:
        days = 0
        if "-" in value:
            head, value = value.split("-", 1)
            days = int(head)
        whole, _, fraction = value.partition(".")
        parts = whole.split(":")
        if len(parts) == 3:
            hours, minutes, seconds = parts
        elif len(parts) == 2:  # D-HH:MM, or MM:SS without days
            hours, minutes, seconds = (parts[0], parts[1], "0") if days else ("0", parts[0], parts[1])
        elif len(parts) == 1 and days:  # D-HH
            hours, minutes, seconds = parts[0], "0", "0"
        else:
            raise ValueError
        total = days * 86400 + int(hours) * 3600 + int(minutes) * 60 + int(seconds)
        if min(days, int(hours), int(minutes), int(seconds)) < 0 or fraction and not fraction.isdigit():
            raise ValueError
    except ValueError:
        raise ValueError(f"not a duration: {text!r}") from None
    return total + float(f"0.{fraction}") if fraction else float(total)


def parse_rss(text: str) -> int | None:
    """MaxRSS (`168464K`, `1.5G`, `0`; a bare number is K, as sacct means it) in whole MiB, rounded
    up: a peak is never made smaller."""
    value = text.strip()
    if not value:
        return None
    if value[-1] in "Kk" and value[:-1].isdigit():  # the usual form: fast
        return -(-int(value[:-1]) // 1024)
    if value.isdigit():
        return -(-int(value) // 1024)
    return _rss_other(value)


@functools.cache
def _rss_other(value: str) -> int:
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([KMGTP])", value, re.I)
    if not match:
        raise ValueError(f"not a memory size: {value!r}")
    scale = {"K": 1, "M": KIB, "G": KIB**2, "T": KIB**3, "P": KIB**4}[match.group(2).upper()]
    return math.ceil(float(match.group(1)) * scale / KIB)


@functools.cache
def parse_req_mem(text: str, cpus: int | None, nodes: int | None) -> int | None:
    """ReqMem in MiB for the job: `4000M`, `16Gn` (per node), `4Gc` (per CPU, before SLURM 21.08)."""
    value = text.strip()
    if not value or re.fullmatch(r"0+[KMGTP]?[nc]?", value):
        return None
    per = ""
    if value.endswith(("n", "c")):
        value, per = value[:-1], value[-1]
    elif value.endswith(("/node", "/cpu")):
        value, per = value.rsplit("/", 1)[0], value[-4]
    mib = parse_mib(value)
    if per == "c":
        return mib * (cpus or 1)
    if per == "n":
        return mib * (nodes or 1)
    return mib


@contextlib.contextmanager
def gc_paused():
    """No cyclic garbage collection meanwhile: reading 100,000 rows makes millions of strings (none
    in a cycle), and the collector's passes over them took a third of the time."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def parse_sacct(text: str, source: str = "sacct") -> Parsed:
    """`sacct --parsable2` output (header first; without one, `FIELDS` in order) as JobUsage per job.

    Jobs keep their order of first appearance; rows of a step whose job row is missing are skipped.
    """
    with gc_paused():
        return _parse_sacct(text, source)


def _parse_sacct(text: str, source: str) -> Parsed:
    lines = text.splitlines()
    header: tuple[str, ...] = FIELDS
    start = 0
    if lines and "JobID" in lines[0].split("|"):
        header, start = tuple(lines[0].split("|")), 1
        missing = [f for f in REQUIRED if f not in header]
        if missing:
            message = f"not an export with the fields tune needs: no {', '.join(missing)}"
            return Parsed([], [Problem(source, 1, message)])
    col = {name: index for index, name in enumerate(header)}
    # the fields in FIELDS order, one C call a row; a field the header lacks reads as "" (index -1:
    # the empty item appended to every row)
    fields = operator.itemgetter(*(col.get(name, -1) for name in FIELDS))
    width = len(header)
    jobs: dict[str, JobUsage] = {}
    steps: list[tuple[int, str, str, str]] = []
    problems: list[Problem] = []
    for number, line in enumerate(lines[start:], start=start + 1):
        parts = line.split("|")
        if len(parts) < width:
            if line.strip():
                problems.append(Problem(source, number, f"{len(parts)} fields, the header has {width}"))
            continue
        parts.append("")
        (text_id, name, comment, state, exit_code, partition, submit, elapsed, total_cpu, cpus_text, req_mem,
         limit, rss, nodes, workdir) = fields(parts)
        job_id, dot, step = text_id.strip().partition(".")
        if not (job_id.isdigit() or _JOB_ID.match(job_id)) or (dot and not step):
            problems.append(Problem(source, number, f"not a job ID: {text_id[:40]!r}"))
        elif dot:
            if step != "extern":  # the extern step holds no process of the job
                steps.append((number, job_id, rss, state))
        else:
            try:
                cpus = _int(cpus_text)
                seconds = parse_elapsed(elapsed)
                jobs[job_id] = JobUsage(
                    job_id, name, comment, normal_state(state), exit_code, partition, submit,
                    None if seconds is None else int(seconds), parse_elapsed(total_cpu), cpus,
                    parse_req_mem(req_mem, cpus, _int(nodes)), _limit(limit), parse_rss(rss), workdir, number)
            except ValueError as exc:
                problems.append(Problem(source, number, f"job {job_id}: {exc}"))
    for number, job_id, rss, state in steps:
        _merge_step(jobs.get(job_id), number, job_id, rss, state, source, problems)
    return Parsed(list(jobs.values()), problems)


def _merge_step(job: JobUsage | None, number: int, job_id: str, rss_text: str, state: str, source: str,
                problems: list[Problem]) -> None:
    """A step's peak and state into its job (a step of a job not listed is left out)."""
    if job is None:
        return
    try:
        rss = parse_rss(rss_text)
    except ValueError as exc:
        problems.append(Problem(source, number, f"step of job {job_id}: {exc}"))
        return
    if rss is not None and (job.max_rss is None or rss > job.max_rss):
        job.max_rss = rss
    if state.startswith("OUT_OF_ME"):
        job.state = "OUT_OF_MEMORY"


def _int(text: str) -> int | None:
    value = text.strip()
    return int(value) if value.isdigit() else None


@functools.cache
def _limit(text: str) -> int | None:
    value = text.strip()
    if not value or value in ("Partition_Limit", "UNLIMITED", "INVALID"):
        return None
    return parse_slurm_time(value)


def query_args(since: str, user: str | None = None) -> list[str]:
    """The sacct call of `dvhpc tune`: every job and step since `since`, with a header."""
    args = ["sacct", "--parsable2", "--starttime", since, "--endtime", "now", f"--format={','.join(FIELDS)}"]
    args += ["--user", user] if user else ["--allusers"]
    return args


def live_usage(since: str, user: str | None = None, run: Runner = run_command,
               timeout: float = COMMAND_TIMEOUT) -> Parsed:
    """Ask the cluster's accounting; RuntimeError when sacct is missing or fails."""
    args = query_args(since, user)
    try:
        code, out, err = run(args, timeout)
    except FileNotFoundError:
        raise RuntimeError("`sacct` not found: no SLURM client on this machine (use --from FILE)") from None
    if code != 0:
        detail = (err or out).strip().splitlines()
        raise RuntimeError(f"`sacct` failed (exit {code}{': ' + detail[-1] if detail else ''})")
    return parse_sacct(out, "sacct")
