"""Last test of tests/hostile/ (files run in name order): prints how many hostile cases ran.

The counts are of in-process dvhpc runs (validate, lint, compile, diff, by command), fuzz cases
(corpus files, generated big files, example variants, hypothesis examples: each through all four
commands), payload cases (field x payload), SIGKILLs, bomb runs, concurrent compiles, plus the
measured numbers worth quoting. Printed straight to the terminal, also with -q.
"""

from __future__ import annotations

from hostile_lib import COUNTS, NOTES


def test_print_case_counts(capsys):
    lines = ["", "hostile-input summary:"]
    lines += [f"  {kind}: {n}" for kind, n in sorted(COUNTS.items())]
    lines += [f"  {note}" for note in NOTES]
    with capsys.disabled():
        print("\n".join(lines))
