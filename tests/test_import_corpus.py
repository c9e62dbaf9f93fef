"""`dvhpc import` keeps the meaning of real public profiles (issue 15), judged by the real Snakemake.

tests/import_equivalence.py runs each profile and its import under Snakemake 9.27.1 with a
recording sbatch stub. The corpus (tests/fixtures/profiles/corpus) must import without a crash
into specs that validate; the held-out corpus (tests/fixtures/profiles/heldout, other
repositories, used only here) is the acceptance check: of the profiles Snakemake 9 can run, at
least 90 % submit the same sbatch arguments, and every difference is reported by a diagnostic.
"""

from __future__ import annotations

import os
import queue
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import import_equivalence as harness  # noqa: E402

WORKERS = min(2, os.cpu_count() or 1)  # each profile is CPU-bound (no waiting): one run per core
PROFILES = Path(__file__).resolve().parent / "fixtures" / "profiles"


def run_corpus(kind: str, tmp_path: Path) -> list[harness.Outcome]:
    if harness.SNAKEMAKE is None:
        pytest.skip("snakemake is not installed (pip install -e '.[test]')")
    bin_dir = harness.stub_bin(tmp_path / "bin")
    profiles = sorted(p for p in (PROFILES / kind).iterdir() if p.is_dir())

    runners = [harness.Runner() for _ in range(WORKERS)]
    free: queue.Queue[harness.Runner] = queue.Queue()
    for runner in runners:
        free.put(runner)

    def one(profile: Path) -> harness.Outcome:
        work = tmp_path / profile.name
        work.mkdir()
        runner = free.get()
        try:
            return harness.check_profile(runner, profile, work, bin_dir)
        finally:
            free.put(runner)

    try:
        with ThreadPoolExecutor(WORKERS) as pool:
            return list(pool.map(one, profiles))
    finally:
        for runner in runners:
            runner.close()


def summary(outcomes: list[harness.Outcome]) -> str:
    lines = []
    for o in outcomes:
        state = "equivalent" if o.equivalent else (f"not runnable by Snakemake 9 ({o.why_not_runnable})"
                                                   if not o.runnable else
                                                   "imported: no" if not o.imported else "DIFFERENT")
        lines.append(f"{o.name}: {state}" + "".join(f"\n    {d}" for d in o.differences[:4]))
    return "\n".join(lines)


def test_sources_are_noted():
    for kind in ("corpus", "heldout"):
        listed = (PROFILES / kind / "SOURCES.md").read_text()
        folders = [p.name for p in (PROFILES / kind).iterdir() if p.is_dir()]
        assert len(folders) >= (30 if kind == "corpus" else 8)
        for folder in folders:
            assert f"| {folder} |" in listed, folder
    repos = {kind: {line.split("|")[2].strip() for line in (PROFILES / kind / "SOURCES.md").read_text().splitlines()
                    if line.startswith("| ") and "/" in line} for kind in ("corpus", "heldout")}
    assert not repos["corpus"] & repos["heldout"], "the held-out corpus comes from other repositories"


@pytest.mark.snakemake
@pytest.mark.slow
def test_corpus_imports_without_a_crash_into_valid_specs(tmp_path):
    outcomes = run_corpus("corpus", tmp_path)
    print(summary(outcomes))
    runnable = [o for o in outcomes if o.runnable]
    print(f"corpus: {len(outcomes)} profiles, {len(runnable)} runnable by Snakemake 9, "
          f"{len([o for o in runnable if o.equivalent])} equivalent")
    assert not [o.name for o in outcomes if o.crashed], summary(outcomes)
    assert not [o.name for o in outcomes if o.imported and not o.valid], summary(outcomes)
    assert not [o.name for o in runnable if not o.equivalent and not harness.reported(o)], summary(outcomes)


@pytest.mark.snakemake
@pytest.mark.slow
def test_heldout_acceptance(tmp_path):
    outcomes = run_corpus("heldout", tmp_path)
    runnable = [o for o in outcomes if o.runnable]
    equivalent = [o for o in runnable if o.equivalent]
    print(summary(outcomes))
    print(f"held-out: {len(outcomes)} profiles, {len(runnable)} runnable by Snakemake 9, {len(equivalent)} equivalent")
    assert not [o.name for o in outcomes if o.crashed], summary(outcomes)
    assert not [o.name for o in runnable if not o.equivalent and not harness.reported(o)], summary(outcomes)
    assert len(equivalent) >= 0.9 * len(runnable), summary(outcomes)
