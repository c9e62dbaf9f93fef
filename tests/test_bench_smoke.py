"""CI smoke run of the benchmark (issue 9): it must keep working, whatever the timings are.

Runs `bench/run.py --size tiny --runs 1` and checks that it exits 0 and writes the results
table. Targets that are missed (or measured as n/a) never fail this test; only a benchmark that
breaks does (a generated spec that dvhpc rejects, a command that crashes, a report that is not
written).
"""

from __future__ import annotations

import subprocess
import sys

from conftest import REPO, dvhpc_env


def test_benchmark_tiny_runs_and_writes_the_table(tmp_path):
    out = tmp_path / "RESULTS.md"
    proc = subprocess.run(
        [sys.executable, str(REPO / "bench" / "run.py"), "--size", "tiny", "--runs", "1", "--out", str(out)],
        cwd=REPO, env=dvhpc_env(), capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, f"benchmark broke:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    text = out.read_text(encoding="utf-8")
    for heading in ("## Machine", "## Results", "## Targets (issue 9)"):
        assert heading in text
    assert "| # | measurement | command | median s |" in text
    for measured in ("dvhpc --version", "dvhpc validate sites/example.yaml", "dvhpc lint --no-shellcheck",
                     "dvhpc compile", "dvhpc diff"):
        assert measured in text, measured
    # every target has a verdict, whatever it is
    targets = text.split("## Targets (issue 9)", 1)[1]
    rows = [line for line in targets.splitlines() if line.startswith("| ") and "---" not in line][1:]
    assert len(rows) >= 7
    assert all(line.rstrip().endswith(("**pass** |", "**FAIL** |", "n/a |", "n/a (tiny) |")) for line in rows), rows
