"""`dvhpc tune` on the real local SLURM with accounting (issue 18, item 6).

tests/fixtures/tune/Snakefile has three rules that each hold a known amount of memory for a known
time (alloc.py). The spec (site.yaml.in over tests/e2e/cluster.yaml) is compiled and the workflow
runs through the generated run.sh; tune_slow runs past its first attempt's 1 min, SLURM ends that
job with TIMEOUT and Snakemake's retry (time 2x) succeeds. Then `dvhpc tune` reads the live sacct
and proposes; the test compares each proposal with what sacct itself recorded (read here, apart
from tune) and with the stated headroom; `--write` edits the spec, the next compile and run's jobs
ask SLURM for the new values (read back from sacct).

What the real cluster records: there are no cgroups here, so memory is not enforced, but
jobacct_gather/linux samples each step's RSS every 30 s (a step shorter than that has no MaxRSS;
`sbatch --acctg-freq` reaches the batch step only, not the plugin's `srun` step), so every rule holds
its memory for 45 s or more. The step's RSS includes Snakemake itself inside the job (about 140 MiB),
so a rule's peak is its allocation plus that, never less than the allocation.
"""

from __future__ import annotations

import json
import re
import shutil
import time
from datetime import datetime
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from e2e.test_e2e import dvhpc, need_venv, run_bounded, run_env

pytestmark = [pytest.mark.slurm, pytest.mark.snakemake, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
FIXTURE = REPO / "tests" / "fixtures" / "tune"
HELD_MIB = {"tune_small": 150, "tune_big": 600, "tune_slow": 50}
RULES = tuple(HELD_MIB)
HEADROOM = 0.2
MEM_STEP, TIME_STEP = 64, 60  # the rounding steps below 1 GiB and 10 minutes (model units: MiB, s)
RUN_TIMEOUT = 420
SACCT_FIELDS = "JobID,JobName,Comment,State,Elapsed,ReqMem,Timelimit,MaxRSS"


def _parse_k(text: str) -> float:
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([KMG]?)", text)
    assert match, text
    return float(match.group(1)) * {"K": 1 / 1024, "": 1 / 1024, "M": 1, "G": 1024}[match.group(2)]


def _seconds(text: str) -> int:
    days, _, clock = text.rpartition("-")
    h, m, s = (int(p) for p in clock.split(":"))
    return int(days or 0) * 86400 + h * 3600 + m * 60 + s


def run_once(folder: Path, spec: Path) -> tuple[str, str]:
    """Compile `spec`, run the workflow in `folder/workflow`; (run UUID, output)."""
    out = folder / "generated"
    proc = dvhpc("compile", str(spec), "--out", str(out))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    work = folder / "workflow"
    work.mkdir()
    for name in ("Snakefile", "alloc.py"):
        shutil.copy(FIXTURE / name, work / name)
    code, output = run_bounded([out / "tune-e2e" / "run.sh", "--foreground", "--seconds-between-status-checks", "2"],
                               cwd=work, env=run_env(), timeout=RUN_TIMEOUT)
    assert code == 0, output[-5000:]
    match = re.search(r"SLURM run ID: (\S+)", output)
    assert match, output[-3000:]
    return match.group(1), output


def sacct_jobs(run_id: str, want: int) -> dict[str, list[dict[str, str]]]:
    """This run's jobs (and their steps' MaxRSS) by rule, polled until accounting has them all."""
    names = SACCT_FIELDS.split(",")
    deadline = time.monotonic() + 60
    while True:
        from e2e.test_e2e import _run

        proc = _run(["sacct", "-P", "-n", "-S", "now-1days", "--name", run_id, "--format", SACCT_FIELDS])
        jobs: dict[str, dict[str, str]] = {}
        peaks: dict[str, float] = {}
        for line in proc.stdout.splitlines():
            rec = dict(zip(names, line.split("|"), strict=False))
            job_id, _, step = rec["JobID"].partition(".")
            if not step:
                jobs[job_id] = rec
            elif rec["MaxRSS"]:
                peaks[job_id] = max(peaks.get(job_id, 0), _parse_k(rec["MaxRSS"]))
        for rec in jobs.values():
            rec["peak_mib"] = str(peaks.get(rec["JobID"], 0))
        done = [r for r in jobs.values() if r["State"] in ("COMPLETED", "TIMEOUT") and r["Elapsed"]]
        if len(done) == want and all(float(r["peak_mib"]) > 0 for r in done if r["State"] == "COMPLETED"):
            by_rule: dict[str, list[dict[str, str]]] = {}
            for rec in sorted(jobs.values(), key=lambda r: int(r["JobID"])):
                by_rule.setdefault(rec["Comment"].removeprefix("rule_"), []).append(rec)
            return by_rule
        assert time.monotonic() < deadline, f"sacct --name {run_id}: {jobs}"
        time.sleep(1)


def test_tune_proposes_from_sacct_and_the_next_run_asks_for_it(local_slurm, tmp_path):
    if not local_slurm.accounting:
        pytest.skip("light mode: no accounting, sacct does not work")
    need_venv("slurm")
    spec = tmp_path / "site.yaml"
    spec.write_text((FIXTURE / "site.yaml.in").read_text().replace("@CLUSTER@", str(REPO / "tests/e2e/cluster.yaml")))
    original = spec.read_text()
    since = datetime.now().strftime("%Y-%m-%dT%H:%M:%S")  # sacct reads the machine's local time
    run_id, _ = run_once(tmp_path / "run1", spec)
    seen = sacct_jobs(run_id, want=4)

    # what the real cluster recorded: tune_slow timed out once, then completed; every peak holds the allocation
    assert [r["State"] for r in seen["tune_slow"]] == ["TIMEOUT", "COMPLETED"], seen["tune_slow"]
    for rule in RULES:
        done = seen[rule][-1]
        assert done["State"] == "COMPLETED"
        assert float(done["peak_mib"]) >= HELD_MIB[rule], (rule, done)

    only = [arg for rule in RULES for arg in ("--rule", rule)]  # other tests' jobs may share the window
    proc = dvhpc("tune", str(spec), "--since", since, "--min-jobs", "1", "--format", "json", *only)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = {r["rule"]: r for r in json.loads(proc.stdout)["rules"]}
    assert set(result) == set(RULES)
    proposed: dict[str, dict[str, int]] = {}
    for rule in RULES:
        done = seen[rule][-1]
        measures = {m["key"]: m for m in result[rule]["measures"]}
        peak, elapsed = float(done["peak_mib"]), _seconds(done["Elapsed"])
        mem, wall = measures["mem"], measures["time"]
        assert (mem["n"], mem["max"]) == (1, pytest.approx(peak, abs=1)), (rule, mem)
        assert (wall["n"], wall["max"]) == (1, elapsed), (rule, wall)
        mem_mib = _parse_k(mem["proposed"])
        # within the stated headroom of what was measured (plus one rounding step), never below it
        assert peak <= mem_mib <= peak * (1 + HEADROOM) + MEM_STEP, (rule, peak, mem["proposed"])
        wall_s = _seconds_of(wall["proposed"])
        floor = elapsed
        if rule == "tune_slow":  # ran out of 1 min on attempt 1: at least that plus the headroom
            assert result[rule]["causes"] == {"out of time": 1}
            assert result[rule]["succeeded_on"] == {"2": 1}
            floor = max(elapsed, 60 * (1 + HEADROOM))
        else:
            assert result[rule]["succeeded_on"] == {"1": 1}
        assert max(elapsed, floor) <= wall_s <= max(elapsed * (1 + HEADROOM), floor) + TIME_STEP, (rule, wall)
        proposed[rule] = {"mem_mib": round(mem_mib), "minutes": wall_s // 60}

    # --write, recompile, run again: every job asks SLURM for the proposal
    proc = dvhpc("tune", str(spec), "--since", since, "--min-jobs", "1", "--write", *only)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert spec.read_text() != original
    assert [ln for ln in spec.read_text().splitlines() if ln.lstrip().startswith("#")] == \
        [ln for ln in original.splitlines() if ln.lstrip().startswith("#")]  # comments kept
    run_id2, _ = run_once(tmp_path / "run2", spec)
    seen2 = sacct_jobs(run_id2, want=3)
    for rule in RULES:
        (job,) = seen2[rule]  # one attempt each now, tune_slow included
        assert job["State"] == "COMPLETED", (rule, job)
        asked = {"mem_mib": round(_parse_k(job["ReqMem"])), "minutes": _seconds(job["Timelimit"]) // 60}
        assert asked == proposed[rule], rule
    resources = YAML(typ="safe").load((tmp_path / "run2" / "generated" / "tune-e2e" / "resources.yaml").read_text())
    assert resources["rules"]["tune_slow"]["attempts"][0]["minutes"] == proposed["tune_slow"]["minutes"]
    (tmp_path / "efficiency").mkdir()
    reports = sorted((tmp_path / "run1" / "workflow" / "reports").glob("efficiency_report_*.csv"))
    assert reports, "the slurm plugin wrote no efficiency report"
    proc = dvhpc("tune", str(spec), "--from", str(reports[0]), "--min-jobs", "1", "--format", "json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    from_report = {r["rule"]: {m["key"]: m for m in r["measures"]} for r in json.loads(proc.stdout)["rules"]}
    for rule in RULES:  # the plugin's report holds the same sacct figures (its steps: no batch step)
        assert from_report[rule]["mem"]["max"] >= HELD_MIB[rule], rule


def _seconds_of(duration: str) -> int:
    from dvhpc.model.units import Duration

    return Duration.parse(duration).seconds
