"""The facts a cluster reports about itself, typed, and their JSON form (`cluster.json`).

`Partition` holds the limits per node a spec can describe (the smallest node, so that a request that
fits fits every node) and who may use it; `Association` and `Qos` hold what accounting allows;
`ClusterFacts` holds all of it, whether accounting works, and what was read to learn it.
`to_json`/`from_json` round-trip exactly; `from_json` checks every value's type, so a hand-edited or
foreign file is a `ClusterFactsError` naming the bad key. The format is documented in
docs/cluster-json.md; version 1 documents (before accounting details) are still read.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import MISSING, dataclass, field, fields
from typing import Any

from dvhpc.cluster.records import Problem
from dvhpc.cluster.values import format_duration, format_memory

JSON_FORMAT = "dvhpc-cluster-facts"
JSON_VERSION = 2
READABLE_VERSIONS = (1, 2)


class ClusterFactsError(Exception):
    """The facts cannot be read: an unreadable or unrecognised file, or a malformed `cluster.json`."""


class ClusterUnreachable(ClusterFactsError):
    """The live cluster did not answer: a SLURM command is missing, failed or timed out."""


@dataclass
class Partition:
    """A partition as a spec describes it: limits per node, GPUs per type, what was guessed."""

    name: str
    default: bool = False
    max_time: int | None = None  # seconds; None with `unlimited` = UNLIMITED, else not known
    unlimited: bool = False
    cpus: int | None = None
    mem: int | None = None  # MiB
    nodes: int | None = None
    gpus: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    # scontrol's access lists; None = ALL (or not known), [] = nobody is denied
    allow_accounts: list[str] | None = None
    deny_accounts: list[str] = field(default_factory=list)
    allow_qos: list[str] | None = None
    deny_qos: list[str] = field(default_factory=list)
    qos: str | None = None  # the partition's own QOS (`QoS=`), whose limits apply to every job in it

    @property
    def max_time_text(self) -> str | None:
        return format_duration(self.max_time) if self.max_time else None

    @property
    def mem_text(self) -> str | None:
        return format_memory(self.mem) if self.mem else None


@dataclass
class Limits:
    """Per-job limits of a QOS or an association (`MaxWall`, `MaxTRES`/`MaxTRESPerJob`, `MaxJobs`,
    `MaxSubmit`; a QOS's per user). TRES counts by SLURM's TRES name (`cpu`, `mem` in MiB, `node`,
    `gres/gpu`, `gres/gpu:a100`); None = no limit."""

    max_wall: int | None = None  # seconds
    max_tres_per_job: dict[str, int] = field(default_factory=dict)
    max_jobs: int | None = None
    max_submit: int | None = None


@dataclass
class Association:
    """One association of the user (`sacctmgr show assoc`): an account, the partition it is limited to
    (None = every partition), the QOS it may use and its default, and its own limits."""

    account: str
    user: str | None = None
    partition: str | None = None
    qos: list[str] = field(default_factory=list)
    default_qos: str | None = None
    limits: Limits = field(default_factory=Limits)


@dataclass
class Qos:
    """A quality of service (`sacctmgr show qos`) and its limits per job (jobs and submissions per user)."""

    name: str
    limits: Limits = field(default_factory=Limits)
    flags: list[str] = field(default_factory=list)


@dataclass
class ClusterFacts:
    """Everything learned about one cluster, from recorded outputs or from the live cluster."""

    partitions: list[Partition] = field(default_factory=list)
    accounts: list[str] = field(default_factory=list)  # the user's accounts, the default one first
    accounting: bool | None = None  # None = unknown
    user: str | None = None  # whose associations these are
    default_account: str | None = None
    cluster_accounts: list[str] | None = None  # every account of the cluster; None = not known
    associations: list[Association] | None = None  # the user's; None = not known (see accounting_skipped)
    qos: list[Qos] | None = None  # None = not known
    accounting_skipped: str | None = None  # why accounts and QOS were not read
    cluster_name: str | None = None
    hostnames: list[str] = field(default_factory=list)  # shell globs (see aggregate.hostname_globs)
    sources: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def to_json(self) -> str:
        """The facts as a JSON document (a `cluster.json` snapshot)."""
        document: dict[str, Any] = {"format": JSON_FORMAT, "version": JSON_VERSION}
        for name, (key, _check) in _FACTS_KEYS.items():
            document[key] = getattr(self, name)
        document["partitions"] = [{key: getattr(part, name) for name, (key, _check) in _PARTITION_KEYS.items()}
                                  for part in self.partitions]
        document["associations"] = None if self.associations is None else [
            {**{key: getattr(item, name) for name, (key, _check) in _ASSOCIATION_KEYS.items()},
             "limits": _limits_json(item.limits)} for item in self.associations]
        document["qos"] = None if self.qos is None else [
            {"name": item.name, "limits": _limits_json(item.limits), "flags": item.flags} for item in self.qos]
        document["problems"] = [{"source": p.source, "line": p.line, "message": p.message} for p in self.problems]
        return json.dumps(document, indent=2, ensure_ascii=False) + "\n"

    @classmethod
    def from_json(cls, text: str, source: str = "cluster.json") -> ClusterFacts:
        """Facts from `to_json`'s document; a key the reader does not know, or a value of the wrong
        type, is a ClusterFactsError (`source: key: what is wrong`). Keys left out take their defaults."""
        try:
            document = json.loads(text)
        except ValueError as exc:
            raise ClusterFactsError(f"{source}: not JSON ({exc})") from None
        document = _mapping(document, source)
        if document.get("format") != JSON_FORMAT or document.get("version") not in READABLE_VERSIONS:
            raise ClusterFactsError(f"{source}: not a dvhpc cluster facts document "
                                    f"(want format {JSON_FORMAT!r}, version {JSON_VERSION})")
        values = _read(document, _FACTS_KEYS, f"{source}:", cls,
                       extra=("format", "version", "partitions", "problems", "associations", "qos"))
        facts = cls(**values)
        for index, item in enumerate(_list(document.get("partitions", []), f"{source}: partitions")):
            where = f"{source}: partitions[{index}]"
            facts.partitions.append(Partition(**_read(_mapping(item, where), _PARTITION_KEYS, where, Partition)))
        for index, item in enumerate(_list(document.get("problems", []), f"{source}: problems")):
            where = f"{source}: problems[{index}]"
            facts.problems.append(Problem(**_read(_mapping(item, where), _PROBLEM_KEYS, where, Problem)))
        if document.get("associations") is not None:
            facts.associations = []
            for index, item in enumerate(_list(document["associations"], f"{source}: associations")):
                where = f"{source}: associations[{index}]"
                data = _mapping(item, where)
                values = _read(data, _ASSOCIATION_KEYS, where, Association, extra=("limits",))
                facts.associations.append(Association(**values, limits=_limits(data.get("limits", {}), where)))
        if document.get("qos") is not None:
            facts.qos = []
            for index, item in enumerate(_list(document["qos"], f"{source}: qos")):
                where = f"{source}: qos[{index}]"
                data = _mapping(item, where)
                values = _read(data, _QOS_KEYS, where, Qos, extra=("limits",))
                facts.qos.append(Qos(**values, limits=_limits(data.get("limits", {}), where)))
        return facts


# ---------------------------------------------------------------------------- JSON values, checked

Check = Callable[[object, str], object]


def _fail(where: str, want: str, value: object) -> ClusterFactsError:
    return ClusterFactsError(f"{where}: expected {want}, found {json.dumps(value)[:60]}")


def _mapping(value: object, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _fail(where, "an object", value)
    return value


def _list(value: object, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise _fail(where, "a list", value)
    return value


def _text(value: object, where: str) -> str:
    if not isinstance(value, str):
        raise _fail(where, "a string", value)
    return value


def _count(value: object, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _fail(where, "a whole number of at least 0", value)
    return value


def _flag(value: object, where: str) -> bool:
    if not isinstance(value, bool):
        raise _fail(where, "true or false", value)
    return value


def _optional(check: Check) -> Check:
    return lambda value, where: None if value is None else check(value, where)


def _texts(value: object, where: str) -> list[str]:
    return [_text(item, f"{where}[{index}]") for index, item in enumerate(_list(value, where))]


def _counts_by_name(value: object, where: str) -> dict[str, int]:
    return {_text(name, where): _count(count, _at(where, name)) for name, count in _mapping(value, where).items()}


# attribute -> (JSON key, check); the JSON key names the unit where the attribute holds a number of one
_FACTS_KEYS: dict[str, tuple[str, Check]] = {
    "cluster_name": ("cluster_name", _optional(_text)),
    "accounting": ("accounting", _optional(_flag)),
    "accounts": ("accounts", _texts),
    "user": ("user", _optional(_text)),
    "default_account": ("default_account", _optional(_text)),
    "cluster_accounts": ("cluster_accounts", _optional(_texts)),
    "accounting_skipped": ("accounting_skipped", _optional(_text)),
    "hostnames": ("hostnames", _texts),
    "sources": ("sources", _texts),
    "notes": ("notes", _texts),
}
_PARTITION_KEYS: dict[str, tuple[str, Check]] = {
    "name": ("name", _text),
    "default": ("default", _flag),
    "max_time": ("max_time_seconds", _optional(_count)),
    "unlimited": ("unlimited", _flag),
    "cpus": ("cpus", _optional(_count)),
    "mem": ("mem_mib", _optional(_count)),
    "nodes": ("nodes", _optional(_count)),
    "gpus": ("gpus", _counts_by_name),
    "notes": ("notes", _texts),
    "allow_accounts": ("allow_accounts", _optional(_texts)),
    "deny_accounts": ("deny_accounts", _texts),
    "allow_qos": ("allow_qos", _optional(_texts)),
    "deny_qos": ("deny_qos", _texts),
    "qos": ("qos", _optional(_text)),
}
_ASSOCIATION_KEYS: dict[str, tuple[str, Check]] = {
    "account": ("account", _text),
    "user": ("user", _optional(_text)),
    "partition": ("partition", _optional(_text)),
    "qos": ("qos", _texts),
    "default_qos": ("default_qos", _optional(_text)),
}
_QOS_KEYS: dict[str, tuple[str, Check]] = {
    "name": ("name", _text),
    "flags": ("flags", _texts),
}
_LIMITS_KEYS: dict[str, tuple[str, Check]] = {
    "max_wall": ("max_wall_seconds", _optional(_count)),
    "max_tres_per_job": ("max_tres_per_job", _counts_by_name),
    "max_jobs": ("max_jobs", _optional(_count)),
    "max_submit": ("max_submit", _optional(_count)),
}
_PROBLEM_KEYS: dict[str, tuple[str, Check]] = {
    "source": ("source", _text),
    "line": ("line", _count),
    "message": ("message", _text),
}


def _read(data: dict[str, Any], keys: dict[str, tuple[str, Check]], where: str, kind: type,
          extra: tuple[str, ...] = ()) -> dict[str, Any]:
    """Keyword arguments for the dataclass `kind` from `data`: each key checked, unknown keys refused,
    keys of fields without a default required."""
    known = {key for key, _check in keys.values()} | set(extra)
    unknown = [key for key in data if key not in known]
    if unknown:
        raise ClusterFactsError(f"{where.rstrip(':')}: unknown key {unknown[0]!r}")
    required = [keys[f.name][0] for f in fields(kind) if f.default is MISSING and f.default_factory is MISSING]
    missing = [key for key in required if key not in data]
    if missing:
        raise ClusterFactsError(f"{where.rstrip(':')}: {missing[0]!r} is missing")
    return {name: check(data[key], _at(where, key)) for name, (key, check) in keys.items() if key in data}


def _at(where: str, key: str) -> str:
    """`file: partitions[0].cpus`: the path of a key, after the file's name."""
    return f"{where} {key}" if where.endswith(":") else f"{where}.{key}"


def _limits_json(limits: Limits) -> dict[str, Any]:
    return {key: getattr(limits, name) for name, (key, _check) in _LIMITS_KEYS.items()}


def _limits(value: object, where: str) -> Limits:
    where = f"{where}.limits"
    return Limits(**_read(_mapping(value, where), _LIMITS_KEYS, where, Limits))
