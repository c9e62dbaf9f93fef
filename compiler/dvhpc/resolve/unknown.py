"""Bad values as "unknown": a spec whose only schema errors are bad resource values or partition
limits is still resolved, so that one run reports every problem (a bad `time` and an unknown
`partition` together).

An unknown value is neither set nor inherited from a lower layer (a rule's bad `time` does not fall
back to the defaults' `time`), so no check draws a conclusion from a value the spec does not hold.
The site of such a spec is never emitted: its schema errors stay errors.
"""

from __future__ import annotations

from dvhpc.frontend.schema import invalid_value_paths
from dvhpc.model import keys

# The partition fields the resolver reads as limits.
PARTITION_LIMITS = frozenset({"max_time", "mem", "cpus", "nodes", "gpus", "default"})


class Unknown:
    """The value of a resource key the spec sets to something invalid."""

    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN = Unknown()


def unknown_values(data) -> frozenset[tuple] | None:
    """The paths (down to the resource key or partition field) of every value the schema refused, or
    None when an error is elsewhere (the spec's shape, an unknown or missing key): then nothing is
    resolved."""
    paths = set()
    for path in invalid_value_paths(data):
        cut = _value_path(path)
        if cut is None:
            return None
        paths.add(cut)
    return frozenset(paths)


def _value_path(path: tuple) -> tuple | None:
    if path[:1] != ("resources",) and path[:2] != ("slurm", "partitions"):
        return None
    if path[:2] == ("resources", "defaults"):
        head, name = path[:3], path[2] if len(path) > 2 else None
    elif path[:2] in (("resources", "rules"), ("resources", "sets"), ("slurm", "partitions")):
        head, name = path[:4], path[3] if len(path) > 3 else None
    else:
        return None
    known = PARTITION_LIMITS if path[0] == "slurm" else keys.BY_NAME
    return head if name in known else None
