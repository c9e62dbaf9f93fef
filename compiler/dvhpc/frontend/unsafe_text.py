"""What a spec's text may not hold, in YAML and TOML alike: YAML 1.1 line breaks (U+0085, U+2028,
U+2029: DV008) and numbers of more than MAX_DIGITS digits (DV005)."""

from __future__ import annotations

import re

from dvhpc.frontend.document import text_location
from dvhpc.report.diagnostics import Report

# No count, size or duration needs more digits; Python refuses to convert an int of over 4,300
# digits to or from text, and arithmetic on one (units, retry factors) can be slow.
MAX_DIGITS = 100
TOO_LONG_INT = 10 ** MAX_DIGITS

# U+0085 (NEXT LINE), U+2028, U+2029 end a line (and a comment) for YAML 1.1 readers such as PyYAML,
# which Snakemake reads profiles with, and in the C parser; YAML 1.2 reads them as text.
_AMBIGUOUS_BREAK = re.compile("[\x85\u2028\u2029]")
_BREAK_NAMES = {"\x85": "U+0085 (NEXT LINE)", "\u2028": "U+2028 (LINE SEPARATOR)",
                "\u2029": "U+2029 (PARAGRAPH SEPARATOR)"}
BREAK_HINT = ("YAML 1.1 readers (Snakemake's profiles, PyYAML) and YAML 1.2 readers (dvhpc) would see different "
               "keys or values: dvhpc refuses U+0085, U+2028 and U+2029 anywhere; use a newline or a space")
# A run of digits (decimal, or after 0x/0o/0b), `_` separators allowed; starts only where a run starts.
_LONG_NUMBER = re.compile(rf"(?<![\d_])\d[\d_]{{{MAX_DIGITS},}}"
                          rf"|(?<![0-9A-Za-z_])0[xXoObB][0-9A-Fa-f_]{{{MAX_DIGITS},}}")


def refuse_yaml_1_1_breaks(text: str, display: str, report: Report) -> bool:
    """DV008 at the first YAML 1.1 line break in the raw text, before a parser reads lines
    differently. False after the diagnostic."""
    breaks = None if text.isascii() else _AMBIGUOUS_BREAK.search(text)
    if breaks:
        more = len(_AMBIGUOUS_BREAK.findall(text)) - 1
        report.add("DV008", f"{_BREAK_NAMES[breaks.group()]} is a line break to YAML 1.1 readers such as "
                   "Snakemake, not to YAML 1.2" + (f" ({more} more in this file)" if more else ""),
                   text_location(text, breaks.start(), display), hint=BREAK_HINT)
        return False
    return True


def long_number(text: str) -> tuple[int, int] | None:
    """(offset, digits) of the first number in `text` with more than MAX_DIGITS digits."""
    if len(text) <= MAX_DIGITS:
        return None
    for match in _LONG_NUMBER.finditer(text):
        run = match.group()
        digits = len(run.replace("_", "")) - (2 if run[1:2].isalpha() else 0)
        if digits > MAX_DIGITS:
            return match.start(), digits
    return None


def long_number_message(digits: int) -> str:
    return f"number with {digits} digits (a spec's numbers have at most {MAX_DIGITS})"


def ambiguous_break_in_value(value: str) -> str | None:
    """The name of a YAML 1.1 line break in a value written with an escape (`"\\u2028"`), if any."""
    found = None if value.isascii() else _AMBIGUOUS_BREAK.search(value)
    return _BREAK_NAMES[found.group()] if found else None
