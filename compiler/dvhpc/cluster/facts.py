"""The facts a cluster reports about itself, typed, and their JSON form (`cluster.json`).

`Partition` holds the limits per node a spec can describe (the smallest node, so that a request that
fits fits every node); `ClusterFacts` holds the partitions, the user's accounts, whether accounting
works, and what was read to learn it. `to_json`/`from_json` round-trip exactly; `from_json` checks
every value's type, so a hand-edited or foreign file is a `ClusterFactsError` naming the bad key.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import MISSING, dataclass, field, fields
from typing import Any

from dvhpc.cluster.records import Problem
from dvhpc.cluster.values import format_duration, format_memory

JSON_FORMAT = "dvhpc-cluster-facts"
JSON_VERSION = 1


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

    @property
    def max_time_text(self) -> str | None:
        return format_duration(self.max_time) if self.max_time else None

    @property
    def mem_text(self) -> str | None:
        return format_memory(self.mem) if self.mem else None


@dataclass
class ClusterFacts:
    """Everything learned about one cluster, from recorded outputs or from the live cluster."""

    partitions: list[Partition] = field(default_factory=list)
    accounts: list[str] = field(default_factory=list)  # the user's accounts, the default one first
    accounting: bool | None = None  # None = unknown
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
        if document.get("format") != JSON_FORMAT or document.get("version") != JSON_VERSION:
            raise ClusterFactsError(f"{source}: not a dvhpc cluster facts document "
                                    f"(want format {JSON_FORMAT!r}, version {JSON_VERSION})")
        values = _read(document, _FACTS_KEYS, f"{source}:", cls, extra=("format", "version", "partitions", "problems"))
        facts = cls(**values)
        for index, item in enumerate(_list(document.get("partitions", []), f"{source}: partitions")):
            where = f"{source}: partitions[{index}]"
            facts.partitions.append(Partition(**_read(_mapping(item, where), _PARTITION_KEYS, where, Partition)))
        for index, item in enumerate(_list(document.get("problems", []), f"{source}: problems")):
            where = f"{source}: problems[{index}]"
            facts.problems.append(Problem(**_read(_mapping(item, where), _PROBLEM_KEYS, where, Problem)))
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
