"""The spec against the cluster (`dvhpc lint --cluster`): what `sbatch` or the scheduler would refuse,
found before a job is submitted.

The facts come from the live cluster or a `dvhpc snapshot` (`dvhpc.cluster.facts.ClusterFacts`):
- every partition the spec declares exists, and its limits are the cluster's (drift: DV600-DV602);
- every rule fits the cluster's partition at every retry attempt, GPU types included (DV603, DV604);
- each rule's account exists, the user is associated with it, and it may use the partition
  (association partition lists, the partition's AllowAccounts/DenyAccounts) (DV610-DV612);
- the QOS exists, is allowed, and its limits, the association's and the partition QOS's hold for
  every rule at every attempt (MaxWall, MaxTRESPerJob), and `snakemake.jobs` for MaxSubmit/MaxJobs
  (DV613-DV617).
Without accounting details (sacctmgr missing or failing) the account and QOS checks say they were
skipped (DV620), never that they passed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from dvhpc.cluster.facts import Association, ClusterFacts, Limits
from dvhpc.cluster.facts import Partition as ClusterPartition
from dvhpc.cluster.values import format_duration, format_memory
from dvhpc.frontend.layers import Layers
from dvhpc.model import keys
from dvhpc.model.site import Attempt, Partition, Resources, Site
from dvhpc.report.diagnostics import Location, Note, Report
from dvhpc.report.rule import Stage
from dvhpc.rules.checks import Checker

UNLIMITED = float("inf")


def check_cluster(layers: Layers, site: Site, facts: ClusterFacts, report: Report) -> None:
    """Every cluster check of one resolved site; findings grouped by the spec line that causes them."""
    _ClusterChecks(layers, site, facts, report).run()


@dataclass(frozen=True)
class _Limit:
    """One per-node limit a spec's partition declares and the cluster reports."""

    key: str
    spec: int | None
    cluster: float | None  # None: not known; UNLIMITED
    show: Callable[[int], str]


def _show_limit(limit: _Limit, value: float | None) -> str:
    return "UNLIMITED" if value == UNLIMITED else "not known" if value is None else limit.show(int(value))


def _cluster_limits(spec: Partition, part: ClusterPartition) -> list[_Limit]:
    time = UNLIMITED if part.unlimited else part.max_time
    return [
        _Limit("max_time", spec.max_time.minutes * 60 if spec.max_time else None, time, format_duration),
        _Limit("cpus", spec.cpus, part.cpus, str),
        _Limit("mem", spec.mem.mib if spec.mem else None, part.mem, format_memory),
        _Limit("nodes", spec.nodes, part.nodes, str),
    ]


def _gpus_text(gpus: dict[str, int]) -> str:
    return ", ".join(f"{kind}: {count}" for kind, count in sorted(gpus.items())) or "none"


class _ClusterChecks:
    def __init__(self, layers: Layers, site: Site, facts: ClusterFacts, report: Report):
        self.layers, self.site, self.facts, self.report = layers, site, facts, report
        self.checker = Checker(layers, site, report, Stage.CLUSTER)
        self.parts = {p.name: p for p in facts.partitions}
        self.cluster_default = next((p for p in facts.partitions if p.default), None)
        self.used_limits: dict[str, tuple[Limits, Location | None]] = {}  # label -> limits a rule runs under

    def run(self) -> None:
        self.partitions()
        for res in self.site.rules.values():
            part = self.cluster_partition(res)
            if part is None:
                continue
            self.fits(res, part)
            self.access(res, part)
        self.checker.flush()
        self.job_counts()
        self.skipped()

    # ------------------------------------------------------------------ partitions

    def spec_place(self, name: str, key: str | None = None) -> Location:
        path = ("slurm", "partitions", name)
        if key is not None and self.layers.defines((*path, key)):
            return self.layers.where((*path, key))
        return self.layers.where(path, key=True)

    def partitions(self) -> None:
        names = ", ".join(self.parts) or "none"
        for name, spec in self.site.partitions.items():
            part = self.parts.get(name)
            if part is None:
                self.report.add("DV600", f"partition '{name}' is not on the cluster (its partitions: {names})",
                                self.spec_place(name), fields={"partition": name, "cluster": list(self.parts)},
                                hint="rename it to a partition the cluster has, or remove it")
                continue
            for limit in _cluster_limits(spec, part):
                self.drift(name, limit)
            self.drift_gpus(name, spec, part)
            if spec.default and self.cluster_default is not None and self.cluster_default.name != name:
                self.report.add("DV601", f"partition '{name}': default in the spec, but the cluster's default "
                                f"partition is '{self.cluster_default.name}'", self.spec_place(name, "default"),
                                hint="rules without a partition run on the cluster's default; mark that one "
                                "`default: true`",
                                fields={"partition": name, "key": "default", "spec": name,
                                        "cluster": self.cluster_default.name})

    def drift(self, name: str, limit: _Limit) -> None:
        if limit.spec is None or limit.cluster is None or limit.spec == limit.cluster:
            return
        message = (f"partition '{name}': {limit.key} {limit.show(limit.spec)} in the spec, "
                   f"{_show_limit(limit, limit.cluster)} on the cluster")
        fields = {"partition": name, "key": limit.key, "spec": limit.spec,
                  "cluster": None if limit.cluster == UNLIMITED else limit.cluster}
        if limit.spec > limit.cluster:
            self.report.add("DV601", message, self.spec_place(name, limit.key), fields=fields,
                            hint="the spec's checks and retry caps use a limit the cluster does not grant; "
                            "write the cluster's value")
        else:
            self.report.add("DV602", message, self.spec_place(name, limit.key), fields=fields,
                            hint="write the cluster's value (or silence this if the lower limit is deliberate)")

    def drift_gpus(self, name: str, spec: Partition, part: ClusterPartition) -> None:
        if spec.gpus == part.gpus or part.cpus is None:  # no node records: GPUs not known
            return
        message = (f"partition '{name}': gpus {_gpus_text(spec.gpus)} in the spec, "
                   f"{_gpus_text(part.gpus)} on the cluster")
        fields = {"partition": name, "key": "gpus", "spec": spec.gpus, "cluster": part.gpus}
        more = any(count > part.gpus.get(kind, 0) for kind, count in spec.gpus.items())
        self.report.add("DV601" if more else "DV602", message, self.spec_place(name, "gpus"), fields=fields,
                        hint="write the cluster's GPU types and counts per node")

    def cluster_partition(self, res: Resources) -> ClusterPartition | None:
        """The cluster's partition a rule's jobs land in (its own, else the cluster's default)."""
        if res.partition is not None:
            return self.parts.get(res.partition.name)  # a missing one is DV600 at its declaration
        return self.cluster_default

    # ------------------------------------------------------------------ requests vs the cluster's partition

    def fits(self, res: Resources, part: ClusterPartition) -> None:
        spec = res.partition
        checks: list[tuple[str, Callable[[Attempt], int | None], float | None, int | None, Callable[[int], str]]] = [
            ("time", _seconds, UNLIMITED if part.unlimited else part.max_time,
             spec.max_time.minutes * 60 if spec and spec.max_time else None, format_duration),
            ("mem", lambda a: a.count(keys.MEM), part.mem, spec.mem.mib if spec and spec.mem else None, format_memory),
        ]
        cpus = res.value(keys.CPUS)
        if cpus is not None:
            per_node = cpus * (res.value(keys.TASKS_PER_NODE) or 1)
            checks.append(("cpus", lambda _a: per_node, part.cpus, spec.cpus if spec else None, str))
        nodes = res.value(keys.NODES)
        if nodes is not None:
            checks.append(("nodes", lambda _a: nodes, part.nodes, spec.nodes if spec else None, str))
        for key, ask, cluster, own, show in checks:
            self.fit(res, part, key, ask, cluster, own, show)
        self.fit_gpus(res, part)

    def fit(self, res: Resources, part: ClusterPartition, key: str, ask: Callable[[Attempt], int | None],
            cluster: float | None, own: int | None, show: Callable[[int], str]) -> None:
        """DV603 at the first attempt over the cluster's limit that the spec's own limit let through
        (a request over the spec's limit is DV301-DV307 already)."""
        if cluster is None or cluster == UNLIMITED:
            return
        for attempt in res.attempts:
            value = ask(attempt)
            if value is None or value <= cluster or (own is not None and value > own):
                continue
            at = f" at attempt {attempt.number}" if attempt.number > 1 else ""
            self.checker.finding("DV603", res, key,
                                 f"{key} {show(value)}{at} exceeds the cluster's partition '{part.name}' "
                                 f"({show(int(cluster))})",
                                 hint="SLURM refuses the job at submission; ask for less or fix the partition's "
                                 "limit in the spec", fields={"key": key, "partition": part.name, "value": value,
                                                              "limit": int(cluster), "attempt": attempt.number})
            return

    def fit_gpus(self, res: Resources, part: ClusterPartition) -> None:
        gpu = res.gpu
        if gpu is None or part.cpus is None:  # without node records the cluster's GPUs are not known
            return
        if gpu.type and gpu.type not in part.gpus:
            self.checker.finding("DV604", res, "gpu_type",
                                 f"GPU type '{gpu.type}' is not on the cluster's partition '{part.name}' "
                                 f"(its GPUs: {_gpus_text(part.gpus)})",
                                 hint="use one of the partition's GPU types", fields={"gpu_type": gpu.type,
                                                                                      "partition": part.name})
            return
        have = part.gpus.get(gpu.type, 0) if gpu.type else max(part.gpus.values(), default=0)
        spec = res.partition
        own = (spec.gpus.get(gpu.type, 0) if gpu.type else spec.gpus_per_node) if spec and spec.gpus else None
        if gpu.count > have and (own is None or gpu.count <= own):
            self.checker.finding("DV603", res, "gpus",
                                 f"gpus {gpu.count} exceeds the cluster's partition '{part.name}' "
                                 f"({_gpus_text(part.gpus)} per node)",
                                 hint="SLURM refuses the job at submission; ask for fewer GPUs",
                                 fields={"key": "gpus", "partition": part.name, "value": gpu.count, "limit": have})

    # ------------------------------------------------------------------ accounts and QOS

    def access(self, res: Resources, part: ClusterPartition) -> None:
        account = res.value(keys.ACCOUNT)
        label = f"account '{account}'" if account else f"the user's default account '{self.facts.default_account}'"
        account = account or self.facts.default_account
        if account is None:
            return  # nothing set and no default known: SLURM picks, nothing to check
        if part.allow_accounts is not None and account not in part.allow_accounts \
                or account in part.deny_accounts:
            allowed = ", ".join(part.allow_accounts or []) or "none"
            why = f"denies {account}" if account in part.deny_accounts else f"allows only {allowed}"
            self.checker.finding("DV612", res, "account", f"{label} may not use partition '{part.name}' "
                                 f"(the partition {why})", fields={"account": account, "partition": part.name})
            return
        if self.facts.associations is None:
            return  # DV620 says why
        assoc = self.association(res, account, label, part)
        if assoc is not None:
            self.qos(res, assoc, part)

    def association(self, res: Resources, account: str, label: str, part: ClusterPartition) -> Association | None:
        facts = self.facts
        assert facts.associations is not None
        user = facts.user or "the user"
        mine = [a for a in facts.associations if a.account == account]
        fields = {"account": account, "user": facts.user, "partition": part.name}
        if not mine and facts.cluster_accounts is not None and account not in facts.cluster_accounts:
            self.checker.finding("DV610", res, "account", f"{label} does not exist on the cluster "
                                 f"(the accounts of {user}: {', '.join(facts.accounts) or 'none'})", fields=fields,
                                 hint="use one of the user's accounts (`sacctmgr show assoc user=$USER`)")
            return None
        if not mine:
            self.checker.finding("DV611", res, "account", f"{user} has no association with {label} "
                                 f"(the accounts of {user}: {', '.join(facts.accounts) or 'none'})", fields=fields,
                                 hint="ask the cluster's admins to add you to the account, or use one of yours")
            return None
        usable = [a for a in mine if a.partition in (part.name, None)]
        if not usable:
            places = ", ".join(sorted({a.partition or "" for a in mine}))
            self.checker.finding("DV612", res, "account", f"{label} may not use partition '{part.name}' "
                                 f"({user}'s associations with it are for partition {places})", fields=fields,
                                 hint="use the partition the association allows, or another account")
            return None
        return min(usable, key=lambda a: a.partition is None)  # a partition's own association first

    def qos(self, res: Resources, assoc: Association, part: ClusterPartition) -> None:
        facts = self.facts
        asked = res.value(keys.QOS)
        known = {q.name: q for q in facts.qos} if facts.qos is not None else None
        if asked and known is not None and asked not in known:
            self.checker.finding("DV613", res, "qos", f"QOS '{asked}' does not exist on the cluster "
                                 f"(its QOS: {', '.join(known) or 'none'})", fields={"qos": asked})
            return
        if asked and assoc.qos and asked not in assoc.qos:
            self.checker.finding("DV614", res, "qos", f"QOS '{asked}' is not allowed for account '{assoc.account}' "
                                 f"(it allows {', '.join(assoc.qos)})", fields={"qos": asked, "account": assoc.account})
            return
        name = asked or assoc.default_qos or (assoc.qos[0] if len(assoc.qos) == 1 else
                                              "normal" if "normal" in assoc.qos else None)
        if name and (part.allow_qos is not None and name not in part.allow_qos or name in part.deny_qos):
            self.checker.finding("DV614", res, "qos", f"QOS '{name}' may not be used in partition '{part.name}'",
                                 fields={"qos": name, "partition": part.name})
            return
        self.limits(res, f"account '{assoc.account}' (its association)", assoc.limits)
        if name and known is not None and name in known:
            self.limits(res, f"QOS '{name}'", known[name].limits)
        if part.qos and known is not None and part.qos in known:
            self.limits(res, f"partition '{part.name}' QOS '{part.qos}'", known[part.qos].limits)

    def limits(self, res: Resources, label: str, limits: Limits) -> None:
        """MaxWall and MaxTRESPerJob at every attempt: the first attempt over each limit, at its key's line."""
        if limits.max_jobs is not None or limits.max_submit is not None:
            self.used_limits.setdefault(label, (limits, res.location))
        checks: list[tuple[str, str, int, Callable[[Attempt], int | None], Callable[[int], str]]] = []
        if limits.max_wall is not None:
            checks.append(("time", "MaxWall", limits.max_wall, _seconds, format_duration))
        for tres, limit in sorted(limits.max_tres_per_job.items()):
            found = _job_tres(res, tres)
            if found is not None:
                key, ask, show = found
                checks.append((key, f"MaxTRESPerJob {tres}", limit, ask, show))
        for key, what, limit, ask, show in checks:
            for attempt in res.attempts:
                value = ask(attempt)
                if value is None or value <= limit:
                    continue
                at = f" at attempt {attempt.number}" if attempt.number > 1 else ""
                self.checker.finding("DV615", res, key, f"{key} {show(value)}{at} exceeds {label} {what} {show(limit)}",
                                     hint="the job is refused or never starts; ask for less or use another QOS",
                                     fields={"key": key, "limit_name": what, "value": value, "limit": limit,
                                             "attempt": attempt.number})
                break

    def job_counts(self) -> None:
        jobs = self.site.snakemake.jobs
        if not isinstance(jobs, int):
            return
        place = self.layers.where(("snakemake", "jobs"))
        for label, (limits, _where) in sorted(self.used_limits.items()):
            if limits.max_submit is not None and jobs > limits.max_submit:
                self.report.add("DV616", f"snakemake.jobs {jobs} exceeds {label} MaxSubmit {limits.max_submit}",
                                place, hint=f"sbatch refuses submissions past {limits.max_submit}; set jobs to at "
                                f"most {limits.max_submit}", fields={"jobs": jobs, "limit": limits.max_submit})
            elif limits.max_jobs is not None and jobs > limits.max_jobs:
                self.report.add("DV617", f"snakemake.jobs {jobs} exceeds {label} MaxJobs {limits.max_jobs}",
                                place, hint=f"only {limits.max_jobs} run at once, the rest wait in the queue",
                                fields={"jobs": jobs, "limit": limits.max_jobs})

    def skipped(self) -> None:
        facts = self.facts
        if facts.associations is not None and facts.qos is not None:
            return
        why = facts.accounting_skipped or "the cluster facts have no accounting details"
        what = "account and QOS checks" if facts.associations is None else "QOS checks"
        place = self.layers.where(("slurm", "account")) if self.layers.defines(("slurm", "account")) \
            else self.layers.where(())
        self.report.add("DV620", f"{what} skipped: {why}", place,
                        notes=(Note("partitions, limits and GPU types were checked"),),
                        hint="run `dvhpc lint --cluster` where sacctmgr works, or take the snapshot there")


def _seconds(attempt: Attempt) -> int | None:
    """The time limit sent at an attempt (whole minutes), in seconds."""
    minutes = attempt.count(keys.TIME)
    return None if minutes is None else minutes * 60


def _job_tres(res: Resources, tres: str) -> tuple[str, Callable[[Attempt], int | None], Callable[[int], str]] | None:
    """The spec key, the job's total per attempt and its display for one TRES of a MaxTRESPerJob limit."""
    nodes = res.value(keys.NODES) or 1
    tasks = res.value(keys.TASKS) or (res.value(keys.TASKS_PER_NODE) or 1) * nodes
    cpus, per_gpu, gpus = res.value(keys.CPUS), res.value(keys.CPUS_PER_GPU), res.value(keys.GPUS) or 0
    job_cpus = cpus * tasks if cpus else per_gpu * gpus if per_gpu and gpus else None
    if tres == "cpu" and job_cpus is not None:
        return ("cpus" if cpus else "cpus_per_gpu"), lambda _a: job_cpus, str
    if tres == "mem":
        def mem(attempt: Attempt) -> int | None:
            per_node, per_cpu = attempt.count(keys.MEM), attempt.count(keys.MEM_PER_CPU)
            if per_node is not None:
                return per_node * nodes
            return per_cpu * job_cpus if per_cpu is not None and job_cpus is not None else None
        return ("mem" if keys.MEM in res else "mem_per_cpu"), mem, format_memory
    if tres == "node" and keys.NODES in res:
        return "nodes", lambda _a: nodes, str
    gpu_type = res.value(keys.GPU_TYPE)
    if gpus and (tres == "gres/gpu" or (gpu_type and tres == f"gres/gpu:{gpu_type}")):
        return "gpus", lambda _a: gpus, str
    return None
