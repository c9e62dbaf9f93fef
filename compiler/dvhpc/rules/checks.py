"""Stage 5, check: semantic checks of a resolved site (the mistakes that only show up after a job
waited in the queue). Reads the model and, for placeholders, the raw layers; reports diagnostics.

Each finding's stage comes from its rule (dvhpc.report.codes): `check_spec` reports the errors of
the spec against its own limits (Stage.CHECK: validate, compile and lint run it, so they agree on
errors), `check_site` lint's warnings (Stage.LINT).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from typing import Any

from dvhpc.frontend.document import Document
from dvhpc.frontend.layers import Layers
from dvhpc.model import keys
from dvhpc.model.site import Executor, Partition, Resources, Site
from dvhpc.report.codes import RULES
from dvhpc.report.diagnostics import Location, Note, Report, dotted
from dvhpc.report.rule import Stage
from dvhpc.rules.global_limits import check_global_limits

PLACEHOLDER = re.compile(r"<[A-Za-z][A-Za-z0-9_. -]*>|\b(?:TODO|CHANGEME|FIXME|XXX)\b")

# What a file's text must contain for any of its strings or keys to hold a PLACEHOLDER: its '<' or
# one of its words as written, or a backslash (an escape can spell either). Most specs have none:
# their data is not walked (tests/test_checks_placeholders.py compares this with the walk).
_PLACEHOLDER_SPELLINGS = ("<", "\\", "TODO", "CHANGEME", "FIXME", "XXX")


def may_hold_placeholder(doc: Document) -> bool:
    """False only when no string or key of `doc` can hold a placeholder (a document without its
    text is walked). Substring tests: a regular expression of the same takes eight times longer."""
    if not doc.lines:
        return True
    text = "\n".join(doc.lines)
    return any(spelling in text for spelling in _PLACEHOLDER_SPELLINGS)


def _mib(value: int) -> str:
    return f"{value} MiB ({value // 1024}G)" if value % 1024 == 0 else f"{value} MiB"


def _limit(part: Partition, key: str, value: int, limit: int, unit: str) -> dict:
    """The structured fields of a request over a partition limit (JSON output)."""
    return {"key": key, "partition": part.name, "value": value, "limit": limit, "unit": unit}


def _minutes(value: int) -> str:
    days, rest = divmod(value, 1440)
    hours, minutes = divmod(rest, 60)
    human = "".join(f"{n}{u}" for n, u in ((days, "d"), (hours, "h"), (minutes, "m")) if n) or "0m"
    return f"{value} min ({human})"


@functools.cache
def _wanted(stage: Stage) -> frozenset[str]:
    """The codes of one stage's rules (the registry is fixed: once per process, not per spec)."""
    return frozenset(code for code, rule in RULES.items() if rule.stage is stage)


# the codes Checker.fit reports (a request against its partition's limits)
_FIT_CODES = frozenset({"DV301", "DV302", "DV303", "DV304", "DV305", "DV307"})


class Checker:
    def __init__(self, layers: Layers, site: Site, report: Report, stage: Stage):
        self.layers = layers
        self.site = site
        self.report = report
        self.wanted = _wanted(stage)  # the codes this run reports
        # (code, location) -> (message template, rules, hint, notes): one finding per place
        self.grouped: dict[tuple, dict] = {}

    def where(self, *path) -> Location:
        return self.layers.where(tuple(path))

    def limit_note(self, part: Partition, key: str, text: str) -> Note:
        name = part.name
        if "," in name:  # several listed: the limit is the smallest of theirs; point at the one that has it
            listed = [self.site.partitions[n] for n in name.split(",") if n in self.site.partitions]
            name = next((p.name for p in listed if getattr(p, key, None) == getattr(part, key, None)), listed[0].name)
            text += f" (the smallest limit of the listed partitions: '{name}')"
        return Note(f"partition '{part.name}' {text}", self.layers.where(("slurm", "partitions", name, key)))

    def finding(self, code: str, res: Resources, key: str, message: str, *, hint=None, notes=(),
                fields: dict | None = None) -> None:
        """Group findings by the place of the value: a set used by five rules is one finding."""
        if code not in self.wanted:
            return
        sourced = res.sourced(keys.BY_NAME[key])
        location = sourced.origin.location if sourced and sourced.origin.location else (res.location or self.where())
        slot = self.grouped.setdefault((code, location, message), {"rules": [], "hint": hint, "notes": notes,
                                                                       "fields": fields or {}})
        slot["rules"].append(None if res.is_defaults else res.name)

    def flush(self) -> None:
        for (code, location, message), slot in sorted(self.grouped.items(), key=lambda item: (item[0][1], item[0][0])):
            names = ["defaults" if r is None else f"'{r}'" for r in slot["rules"]]
            who = ("rule " if names[0] != "defaults" and len(names) == 1 else "") + ", ".join(names)
            if len(names) > 1:
                who = "rules " + ", ".join(n for n in names)
            rules = ["defaults" if r is None else r for r in slot["rules"]]
            self.report.add(code, f"{who}: {message}", location, hint=slot["hint"], notes=slot["notes"],
                            fields={"rules": rules, **slot["fields"]})

    # ------------------------------------------------------------------ requests vs partitions

    def fit(self, res: Resources) -> None:
        part = res.partition
        if part is None:
            return
        time = res.attempts[0].value(keys.TIME)
        if part.max_time and time and time.minutes > part.max_time.minutes:
            self.finding("DV301", res, "time",
                         f"time {_minutes(time.minutes)} exceeds partition '{part.name}' max_time "
                         f"{_minutes(part.max_time.minutes)}",
                         hint="SLURM rejects the job at submission; shorten it or use a partition with a longer "
                         "MaxTime",
                         notes=(self.limit_note(part, "max_time", f"allows {part.max_time}"),),
                         fields=_limit(part, "time", time.minutes, part.max_time.minutes, "min"))
        self.fit_memory(res, part)
        self.fit_cpus(res, part)
        if res.gpu is not None:
            self.fit_gpus(res, part)
        nodes = res.value(keys.NODES)
        if part.nodes and nodes and nodes > part.nodes:
            self.finding("DV307", res, "nodes",
                         f"nodes {nodes} exceeds the {part.nodes} nodes of partition '{part.name}'",
                         notes=(self.limit_note(part, "nodes", f"has {part.nodes} nodes"),))

    def gpu_type_alone(self, res: Resources) -> None:
        if res.partition is None or res.gpu is not None or res.is_defaults:
            return
        if res.value(keys.GPU_TYPE):
            self.finding("DV306", res, "gpu_type",
                         f"gpu_type '{res.value(keys.GPU_TYPE)}' without gpus requests no GPU",
                         hint="set `gpus: 1` (or more)")

    def fit_memory(self, res: Resources, part: Partition) -> None:
        if not part.mem:
            return
        first = res.attempts[0]
        mem, per_cpu, cpus = first.value(keys.MEM), first.value(keys.MEM_PER_CPU), res.value(keys.CPUS)
        if mem is not None and mem.mib > part.mem.mib:
            node_mem = f"node memory {_mib(part.mem.mib)}"
            self.finding("DV302", res, "mem", f"mem {_mib(mem.mib)} exceeds partition '{part.name}' {node_mem}",
                         hint="no node can run it; SLURM rejects the job",
                         notes=(self.limit_note(part, "mem", f"has {part.mem} per node"),),
                         fields=_limit(part, "mem", mem.mib, part.mem.mib, "MiB"))
        if per_cpu is not None and cpus is not None and per_cpu.mib * cpus > part.mem.mib:
            node_mem = f"node memory {_mib(part.mem.mib)}"
            total = per_cpu.mib * cpus
            self.finding("DV302", res, "mem_per_cpu",
                         f"mem_per_cpu x cpus = {_mib(total)} exceeds partition '{part.name}' {node_mem}",
                         notes=(self.limit_note(part, "mem", f"has {part.mem} per node"),),
                         fields=_limit(part, "mem_per_cpu", total, part.mem.mib, "MiB"))

    def fit_cpus(self, res: Resources, part: Partition) -> None:
        per_node_tasks = res.value(keys.TASKS_PER_NODE) or 1
        cpus = res.value(keys.CPUS)  # not set: the rule's threads, which only the workflow knows
        if part.cpus and cpus is not None and cpus * per_node_tasks > part.cpus:
            key = "tasks_per_node" if per_node_tasks > 1 and cpus <= part.cpus else "cpus"
            what = f"cpus {cpus} x tasks_per_node {per_node_tasks} = {cpus * per_node_tasks}" \
                if per_node_tasks > 1 else f"cpus {cpus}"
            self.finding("DV303", res, key, f"{what} exceeds partition '{part.name}' CPUs per node {part.cpus}",
                         notes=(self.limit_note(part, "cpus", f"has {part.cpus} CPUs per node"),),
                         fields=_limit(part, key, cpus * per_node_tasks, part.cpus, "CPUs"))

    def fit_gpus(self, res: Resources, part: Partition) -> None:
        count = res.value(keys.GPUS) or 0
        if not part.gpus:
            self.finding("DV305", res, "gpus", f"asks for {count} GPU(s) but partition '{part.name}' has no GPUs",
                         hint="use a GPU partition (`partition:`) or drop `gpus`",
                         notes=(self.limit_note(part, "gpus", "defines no `gpus`"),))
            return
        gpu_type = res.value(keys.GPU_TYPE)
        if gpu_type and gpu_type not in part.gpus:
            return
        available = part.gpus.get(gpu_type, 0) if gpu_type else part.gpus_per_node
        if count > available:
            label = f"'{gpu_type}' GPUs" if gpu_type else "GPUs"
            has = ", ".join(f"{n} {t} GPUs" for t, n in part.gpus.items())
            self.finding("DV304", res, "gpus",
                         f"gpus {count} exceeds the {available} {label} per node of partition '{part.name}'",
                         fields={**_limit(part, "gpus", count, available, "GPUs"), "gpu_type": gpu_type},
                         notes=(self.limit_note(part, "gpus", f"has {has} per node"),))

    def retries(self, res: Resources) -> None:
        part = res.partition  # only a partition's limit caps an attempt
        if part is None or len(res.attempts) < 2 or not res.retry:
            return
        last = res.attempts[-1]
        for key in last.capped:
            values = " -> ".join(str(a.count(key)) for a in res.attempts)
            unit = "MiB" if key.kind is keys.Kind.MEMORY else "min"
            limit_key = "mem" if key is keys.MEM else "max_time"
            self.finding("DV310", res, "retry",
                         f"retry {key.name} {res.retry[key].value} is capped by partition '{part.name}' "
                         f"at attempt {len(res.attempts)}: {values} {unit}",
                         hint="the last attempt cannot grow as written; raise the partition limit, "
                         "lower the factor or restart_times",
                         notes=(self.limit_note(part, limit_key, "limit"),))

    def generic_cpus_per_gpu(self) -> None:
        # the template's --cpus-per-task={threads} is in every submission; sbatch takes no --cpus-per-gpu beside it
        for res in [self.site.defaults, *self.site.rules.values()]:
            per_gpu = res.value(keys.CPUS_PER_GPU)
            if per_gpu:
                self.finding("DV372", res, "cpus_per_gpu",
                             f"cpus_per_gpu {per_gpu} cannot be sent with executor cluster-generic: its submit "
                             "command asks for --cpus-per-task={threads}, which sbatch does not take beside "
                             "--cpus-per-gpu",
                             hint="give the rule `cpus` (CPUs per task) instead, or use executor slurm",
                             fields={"cpus_per_gpu": per_gpu})

    # ------------------------------------------------------------------ the spec as a whole

    def placeholders(self) -> None:
        for doc in self.layers.docs:
            if not may_hold_placeholder(doc):
                continue
            found: list = []
            _placeholders(doc.data, (), found)
            for path, match, is_key in found:
                self.report.add("DV320", f"leftover placeholder '{match.group(0)}' in {dotted(path)}",
                                doc.where(path, key=is_key),
                                hint="replace it with the real value (or a ${VARIABLE} set at run time)")

    def account(self) -> None:
        site = self.site
        if not site.accounting or site.account or keys.ACCOUNT in site.defaults:
            return
        missing = [name for name, res in site.rules.items() if keys.ACCOUNT not in res]
        if missing or not site.rules:
            self.report.add("DV321", "no slurm.account while accounting is on: jobs without an account land on the "
                            "default account (the executor plugin's account guess does not work)",
                            self.where("slurm") if "slurm" in self.layers.data else self.where(),
                            hint="set slurm.account (or `account` in resources.defaults)")

    def unused_sets(self) -> None:
        used: set[str] = set()
        data = self.layers.data.get("resources") or {}
        for group in ("rules", "sets"):
            for raw in (data.get(group) or {}).values():
                use = raw if isinstance(raw, str) else raw.get("use")
                used.update([use] if isinstance(use, str) else use or [])
        defaults_use = (data.get("defaults") or {}).get("use")
        used.update([defaults_use] if isinstance(defaults_use, str) else defaults_use or [])
        for name, location in self.site.sets.items():
            if name not in used:
                self.report.add("DV330", f"resource set '{name}' is defined but no rule uses it", location,
                                hint="remove it, or add `use: " + name + "` to a rule")

    def paths(self) -> None:
        site = self.site
        if site.datasets and site.datasets_root is None:
            self.report.add("DV331", "datasets are mounted but datasets.root is not set: a dataset that is not "
                            "mounted (and every dataset off the cluster) has no path", self.where("datasets"),
                            hint="set datasets.root, e.g. \"{data}/raw\"")
        cluster_texts = [(f"path '{e.name}'", e.cluster) for e in site.paths.values()]
        if site.datasets_root:
            cluster_texts.append(("datasets.root", site.datasets_root))
        cluster_texts += [(f"datasets.mounted.{d.name}", d.path) for d in site.datasets.values()]
        for label, text in cluster_texts:
            if not text.text.startswith(("/", "~", "$", "{")):
                self.report.add("DV332", f"{label} is relative on the cluster ('{text.text}'): it depends on "
                                "the folder jobs start in", text.location or self.where(),
                                hint="make it absolute, e.g. ${HOME}/...")
        if not site.detect.env and not site.detect.hostnames:
            self.report.add("DV333", "detect has no entries: on_cluster() is never true (unless DVHPC_ON_CLUSTER=1)",
                            self.where("detect") if "detect" in self.layers.data else self.where(),
                            hint="add detect.env (e.g. SLURM_CLUSTER_NAME) or detect.hostnames")

    def run(self) -> None:
        wanted = self.wanted
        # each pass (check, lint) runs only the checks of its own codes: fit is the hot one
        fits = bool(wanted & _FIT_CODES)
        for res in [self.site.defaults, *self.site.rules.values()]:
            if fits:
                self.fit(res)
            if "DV306" in wanted:
                self.gpu_type_alone(res)
            if "DV310" in wanted:
                self.retries(res)
        if "DV372" in wanted and self.site.snakemake.executor is Executor.CLUSTER_GENERIC:
            self.generic_cpus_per_gpu()
        self.flush()
        if "DV320" in wanted:
            self.placeholders()
        if "DV321" in wanted:
            self.account()
        if "DV330" in wanted:
            self.unused_sets()
        if wanted & {"DV331", "DV332", "DV333"}:
            self.paths()
        if "DV356" in wanted:
            check_global_limits(self.site, self.layers, self.report)


def _placeholders(data, path: tuple, found: list) -> None:
    """Append (path, match, is_key) for every string and mapping key that holds a placeholder.

    A path is built only for a hit or a container: this walk visits every string of every layer."""
    search = PLACEHOLDER.search
    if isinstance(data, dict):
        for key in data:
            match = search(key) if isinstance(key, str) else None
            if match:
                found.append((path + (key,), match, True))
        items: Iterable[tuple[Any, Any]] = data.items()
    elif isinstance(data, list):
        items = enumerate(data)
    else:
        match = search(data) if isinstance(data, str) else None
        if match:
            found.append((path, match, False))
        return
    for key, value in items:
        if isinstance(value, str):
            match = search(value)
            if match:
                found.append((path + (key,), match, False))
        elif isinstance(value, (dict, list)):
            _placeholders(value, path + (key,), found)


def check_spec(layers: Layers, site: Site, report: Report) -> None:
    """The errors of the spec against its own limits (DV301-DV307, DV320, DV321): what SLURM would
    refuse or what would be wrong. Run by validate, compile and lint, also on a site with unknown
    values (their checks are skipped), so one run reports every problem."""
    Checker(layers, site, report, Stage.CHECK).run()


def check_site(layers: Layers, site: Site, report: Report) -> None:
    """lint's warnings about a valid site (Stage.LINT); `check_spec` ran already."""
    Checker(layers, site, report, Stage.LINT).run()


def check_workflow(site: Site, layers: Layers, info, snakefile: str, report: Report) -> None:
    """Compare the spec's rules with the workflow's (info: dvhpc.rules.workflow.WorkflowInfo)."""
    from dvhpc.report.diagnostics import closest

    if info.error:
        # the static reader gives the place; Snakemake's errors come as "FILE:LINE: ..." when it knows it
        if info.error_location:
            file, line, column = info.error_location
            where = Location(_shown(file), line, column)
        else:
            match = re.match(r"(?P<file>[^:]+):(?P<line>\d+):", info.error)
            where = Location(_shown(match.group("file")), int(match.group("line")), 1) if match \
                else Location(snakefile, 1, 1)
        report.add("DV353", f"cannot read the workflow: {info.error}", where)
        return
    known = set(info.rules)
    for name, res in site.rules.items():
        if name not in known:
            suggestion = closest(name, known)
            report.add("DV350", f"rule '{name}' is not in the workflow {snakefile}"
                       + (f" (did you mean '{suggestion}'?)" if suggestion else ""),
                       res.location or layers.where(("resources", "rules")),
                       hint=None if suggestion else "its resources would never be used")
    where = layers.where(("resources", "rules"), key=True) if "resources" in layers.data else layers.where(())
    for name in sorted(known - set(site.rules)):
        if name in info.localrules:
            continue
        report.add("DV351", f"workflow rule '{name}' has no entry: it gets resources.defaults", where)
    for name in sorted(info.localrules):
        local = site.rules.get(name)
        gpus = local.sourced(keys.GPUS) if local is not None and local.gpu is not None else None
        if gpus is not None:
            report.add("DV352", f"rule '{name}' is a local rule (runs on the submit host) but asks for GPUs",
                       gpus.origin.location or where, hint="drop the GPUs or remove it from localrules")
    from dvhpc.rules.workflow_checks import check_local_rules

    check_local_rules(site, info.localrules, where, report)


def check_workflow_alone(info, snakefile: str, report: Report) -> None:
    """Findings about the workflow itself, reported once however many specs are linted."""
    for file, line, column, message in info.notes:
        report.add("DV354", message, Location(_shown(file), line, column))
    for name in sorted(info.localrules):
        if {"gpu", "gpus", "gres", "gpu_model"} & set(info.rule_resources.get(name, ())):
            file, line = info.rule_locations.get(name, (snakefile, 1))
            report.add("DV352", f"rule '{name}' is a local rule (runs on the submit host) but asks for GPUs "
                       "in its resources", Location(_shown(file), line, 1),
                       hint="drop the GPUs or remove it from localrules")


def _shown(path: str) -> str:
    """A workflow file as people refer to it: relative to the current folder when that is shorter."""
    import os

    relative = os.path.relpath(path) if os.path.isabs(path) else path
    return relative if len(relative) < len(path) else path
