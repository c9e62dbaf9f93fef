"""Units as types: memory (MiB), durations (seconds / whole minutes), retry factors."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dvhpc.model.units import MAX_MIB, MAX_SECONDS, Duration, Factor, Memory, UnitError

# --------------------------------------------------------------------------- memory

MEMORY = [
    # text, MiB, str()
    ("512M", 512, "512M"),
    ("16G", 16 * 1024, "16G"),
    ("16GB", 15259, "15259M"),  # ceil(16e9 / 2**20) = ceil(15258.789...)
    ("1.5T", 1536 * 1024, "1536G"),
    ("1T", 1024 * 1024, "1T"),
    ("16GiB", 16384, "16G"),
    ("16Gi", 16384, "16G"),
    ("500MB", 477, "477M"),  # ceil(500e6 / 2**20) = ceil(476.837...)
    ("0.5G", 512, "512M"),
    ("1K", 1, "1M"),  # rounded up to a whole MiB
    ("1KB", 1, "1M"),
    ("2048K", 2, "2M"),
    ("16 G", 16384, "16G"),
    (" 8G ", 8192, "8G"),
    ("16g", 16384, "16G"),
    ("1TB", 953675, "953675M"),  # ceil(1e12 / 2**20) = ceil(953674.316...)
    ("180G", 184320, "180G"),
]


@pytest.mark.parametrize("text, mib, shown", MEMORY)
def test_memory_parses_to_mib(text, mib, shown):
    memory = Memory.parse(text)
    assert memory.mib == mib
    assert str(memory) == shown
    assert Memory.parse(str(memory)) == memory


MEMORY_REJECTED = [
    # value, code
    (16, "DV204"),
    (16.5, "DV204"),
    ("16", "DV204"),
    (" 16 ", "DV204"),
    ("1.5", "DV204"),
    ("16Q", "DV201"),
    ("16GBB", "DV201"),
    ("lots", "DV201"),
    ("", "DV201"),
    ("G", "DV201"),
    ("-1G", "DV201"),
    ("0G", "DV201"),
    ("0.0M", "DV201"),
    ("1e3G", "DV201"),
    ("16 GB extra", "DV201"),
    ("99999999999T", "DV201"),  # implausibly large
    (True, "DV201"),
    (None, "DV201"),
    ([16], "DV201"),
    ({"G": 16}, "DV201"),
]


@pytest.mark.parametrize("value, code", MEMORY_REJECTED, ids=[repr(v) for v, _ in MEMORY_REJECTED])
def test_memory_rejections(value, code):
    with pytest.raises(UnitError) as info:
        Memory.parse(value)
    assert info.value.code == code
    assert str(info.value)


@pytest.mark.parametrize("value", [16, "16", 1.5])
def test_bare_memory_number_has_a_hint_with_units(value):
    with pytest.raises(UnitError) as info:
        Memory.parse(value)
    assert info.value.code == "DV204"
    assert "has no unit" in str(info.value)
    assert "M" in info.value.hint and "G" in info.value.hint


def test_memory_order_and_scaling():
    assert Memory.parse("1G") < Memory.parse("1025M")
    assert Memory.parse("8G").scaled(Fraction(3, 2)) == Memory(12288)
    assert Memory.parse("1GB") < Memory.parse("1G")


@given(st.integers(min_value=1, max_value=MAX_MIB))
@settings(max_examples=200, deadline=None, derandomize=True)
def test_memory_round_trips_through_str(mib):
    assert Memory.parse(str(Memory(mib))) == Memory(mib)


@given(st.integers(min_value=1, max_value=10**6), st.sampled_from(["M", "G", "T", "MiB", "GiB", "TiB"]))
@settings(max_examples=200, deadline=None, derandomize=True)
def test_binary_units_are_exact(count, unit):
    factor = {"M": 1, "G": 1024, "T": 1024**2}[unit[0]]
    if count * factor > MAX_MIB:
        return
    assert Memory.parse(f"{count}{unit}").mib == count * factor


@given(st.integers(min_value=1, max_value=10**9), st.sampled_from(["KB", "MB", "GB", "TB"]))
@settings(max_examples=200, deadline=None, derandomize=True)
def test_decimal_units_round_up_exactly(count, unit):
    size = {"KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12}[unit] * count
    if size > MAX_MIB * 2**20:
        return
    mib = Memory.parse(f"{count}{unit}").mib
    assert (mib - 1) * 2**20 < size <= mib * 2**20  # ceil, computed without floats


# --------------------------------------------------------------------------- durations

DURATIONS = [
    # text, seconds, whole minutes (rounded up), str()
    ("90s", 90, 2, "1m30s"),
    ("30min", 1800, 30, "30min"),
    ("30m", 1800, 30, "30min"),
    ("2h", 7200, 120, "2h"),
    ("13h20m", 48000, 800, "13h20m"),
    ("4d4h", 360000, 6000, "4d4h"),
    ("1.5h", 5400, 90, "1h30m"),
    ("2d", 172800, 2880, "2d"),
    ("1s", 1, 1, "1s"),
    ("59s", 59, 1, "59s"),
    ("61s", 61, 2, "1m1s"),
    ("1d2h3m4s", 93784, 1564, "1d2h3m4s"),
    ("0.5m", 30, 1, "30s"),
    ("15min", 900, 15, "15min"),
    # SLURM's own forms
    ("30:00", 1800, 30, "30min"),  # MM:SS
    ("1:30", 90, 2, "1m30s"),  # MM:SS
    ("90:00", 5400, 90, "1h30m"),  # MM:SS with more than 59 minutes
    ("1:00:00", 3600, 60, "1h"),  # HH:MM:SS
    ("2-00", 172800, 2880, "2d"),  # D-HH
    ("1-02:03", 93780, 1563, "1d2h3m"),  # D-HH:MM
    ("1-02:03:04", 93784, 1564, "1d2h3m4s"),  # D-HH:MM:SS
    (" 2h ", 7200, 120, "2h"),
]


@pytest.mark.parametrize("text, seconds, minutes, shown", DURATIONS)
def test_duration_parses(text, seconds, minutes, shown):
    duration = Duration.parse(text)
    assert duration.seconds == seconds
    assert duration.minutes == minutes
    assert str(duration) == shown
    assert Duration.parse(str(duration)) == duration


@pytest.mark.parametrize("text, slurm", [("90s", "0-00:02:00"), ("13h20m", "0-13:20:00"), ("4d4h", "4-04:00:00"),
                                         ("1-02:03:04", "1-02:04:00"), ("2-00", "2-00:00:00")])
def test_duration_slurm_form(text, slurm):
    assert Duration.parse(text).slurm == slurm


DURATION_REJECTED = [
    (90, "DV204"),
    (1.5, "DV204"),
    ("90", "DV204"),
    (" 90 ", "DV204"),
    ("1.5", "DV204"),
    ("2 hours", "DV202"),
    ("1h2h", "DV202"),  # a unit twice
    ("30s1m", "DV202"),  # units must go from large to small
    ("1m30min", "DV202"),
    ("1y", "DV202"),
    ("2H", "DV202"),
    ("", "DV202"),
    ("h", "DV202"),
    ("1h30", "DV202"),
    ("-5m", "DV202"),
    ("0s", "DV202"),  # zero
    ("0:00", "DV202"),
    ("0-00", "DV202"),
    ("367d", "DV202"),  # longer than a year
    ("1:60", "DV202"),  # 60 seconds
    ("1:00:60", "DV202"),
    ("1:60:00", "DV202"),  # 60 minutes in HH:MM:SS
    ("1-02:60", "DV202"),
    ("1-", "DV202"),
    (":30", "DV202"),
    ("1-02:03:04:05", "DV202"),
    (True, "DV202"),
    (None, "DV202"),
    (["2h"], "DV202"),
]


@pytest.mark.parametrize("value, code", DURATION_REJECTED, ids=[repr(v) for v, _ in DURATION_REJECTED])
def test_duration_rejections(value, code):
    with pytest.raises(UnitError) as info:
        Duration.parse(value)
    assert info.value.code == code
    assert str(info.value)


@pytest.mark.parametrize("value", [90, "90"])
def test_bare_duration_number_has_a_hint(value):
    with pytest.raises(UnitError) as info:
        Duration.parse(value)
    assert info.value.code == "DV204"
    assert "90min" in info.value.hint


def test_duration_scaling():
    assert Duration.parse("2h").scaled(Fraction(3, 2)) == Duration.parse("3h")


@given(st.integers(min_value=1, max_value=MAX_SECONDS))
@settings(max_examples=200, deadline=None, derandomize=True)
def test_duration_round_trips_through_str(seconds):
    duration = Duration(seconds)
    assert Duration.parse(str(duration)) == duration
    assert duration.minutes * 60 >= seconds > (duration.minutes - 1) * 60


@given(st.integers(0, 365), st.integers(0, 23), st.integers(0, 59), st.integers(0, 59))
@settings(max_examples=200, deadline=None, derandomize=True)
def test_slurm_form_agrees_with_compact_form(days, hours, minutes, seconds):
    total = days * 86400 + hours * 3600 + minutes * 60 + seconds
    if total == 0:
        return
    assert Duration.parse(f"{days}-{hours:02d}:{minutes:02d}:{seconds:02d}").seconds == total
    assert Duration.parse(f"{days}d{hours}h{minutes}m{seconds}s").seconds == total


# --------------------------------------------------------------------------- retry factors

FACTORS = [("2x", Fraction(2), "2x", "2"), ("1.5x", Fraction(3, 2), "1.5x", "1.5"), ("1x", Fraction(1), "1x", "1"),
           ("100x", Fraction(100), "100x", "100"), (" 2 x ", Fraction(2), "2x", "2"),
           ("1.25x", Fraction(5, 4), "1.25x", "1.25")]


@pytest.mark.parametrize("text, value, shown, literal", FACTORS)
def test_factor_parses(text, value, shown, literal):
    factor = Factor.parse(text)
    assert factor.value == value
    assert str(factor) == shown
    assert factor.literal == literal
    assert Factor.parse(str(factor)) == factor


def test_factor_per_attempt():
    factor = Factor.parse("2x")
    assert [factor.at(n) for n in (1, 2, 3)] == [1, 2, 4]


@pytest.mark.parametrize("value", ["2", 2, 1.5, "x", "0.5x", "0x", "101x", "2X", "-2x", "2xx", "", None, True, ["2x"]],
                         ids=repr)
def test_factor_rejections(value):
    with pytest.raises(UnitError) as info:
        Factor.parse(value)
    assert info.value.code == "DV203"
