"""Order statistics and the friendly units proposals are rounded up to."""

from __future__ import annotations

import math

from dvhpc.model.units import Duration, Memory


def quantile(values: list[float], q: float) -> float:
    """The q-quantile with linear interpolation between order statistics (numpy's default)."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("no values")
    position = q * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


# (up to this size, round up to a multiple of this step): friendly steps grow with the value
_MEM_STEPS = ((1024, 64), (16 * 1024, 256), (64 * 1024, 1024), (None, 4096))  # MiB
_TIME_STEPS = ((10 * 60, 60), (60 * 60, 5 * 60), (6 * 3600, 15 * 60), (None, 3600))  # seconds


def _round_up(value: float, steps) -> int:
    for limit, step in steps:
        if limit is None or value <= limit:
            return max(step, math.ceil(value / step) * step)
    raise AssertionError("the last step has no limit")


def friendly_memory(mib: float) -> Memory:
    """Rounded up: 64M steps to 1G, 256M to 16G, whole G to 64G, then 4G."""
    return Memory(_round_up(mib, _MEM_STEPS))


def friendly_duration(seconds: float) -> Duration:
    """Rounded up: whole minutes to 10 min, 5 min to 1 h, 15 min to 6 h, then whole hours."""
    return Duration(_round_up(seconds, _TIME_STEPS))
