"""`dvhpc tune`: reading accounting (sacct exports, the slurm plugin's efficiency report, Snakemake
benchmark files), mapping jobs to rules and attempts, and the proposals (issue 18, items 1 and 2).

The efficiency report is made by the slurm plugin's own code from a sacct export; the benchmark
files by the real Snakemake. The live cluster is tests/slurm/test_tune_e2e.py.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import FIXTURES, REPO, dvhpc_env
from dvhpc.cluster.sacct import normal_state, parse_elapsed, parse_req_mem, parse_rss, parse_sacct
from dvhpc.pipeline import check
from dvhpc.tools.tune import Options, gather, tune
from dvhpc.tools.tune.stats import quantile

TUNE = FIXTURES / "tune"
SPEC = TUNE / "site.yaml"
MIXED = TUNE / "sacct-mixed.txt"
HEADER = MIXED.read_text().splitlines()[0]


def run(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "dvhpc", *args], cwd=cwd, env=dvhpc_env(), capture_output=True,
                          text=True, timeout=120)


def site():
    checked = check(str(SPEC))
    assert checked.ok and checked.site is not None, checked.report.sorted()
    return checked.site


def tuned(paths: list[Path], **options):
    s = site()
    return tune(s, gather(s, [str(p) for p in paths], None), Options(**options), None)


def job_row(job_id: str, comment: str, state: str, elapsed: str, rss: str, req: str = "8G", limit: str = "12:00:00",
            name: str = "run-1", submit: str = "2026-11-02T10:00:00", cpus: int = 4, cpu: str = "01:00:00") -> str:
    return "\n".join([
        f"{job_id}|{name}|{comment}|{state}|0:0|gpu|{submit}|{elapsed}|{cpu}|{cpus}|{req}|{limit}||1|/w",
        f"{job_id}.batch|batch||{state}|0:0|gpu|{submit}|{elapsed}|{cpu}|{cpus}|||{rss}|1|"])


# ------------------------------------------------------------------------------------- sacct values

@pytest.mark.parametrize("text, seconds", [
    ("00:00:06", 6), ("1-02:03:04", 93784), ("03:04.567", 184.567), ("3-12:00:01.250", 302401.25),
    ("10:00", 600), ("", None)])
def test_elapsed_and_totalcpu_forms(text, seconds):
    assert parse_elapsed(text) == (pytest.approx(seconds) if seconds is not None else None)


@pytest.mark.parametrize("text, mib", [("168464K", 165), ("1.5G", 1536), ("300M", 300), ("0", 0), ("", None),
                                       ("2048", 2)])
def test_maxrss_units(text, mib):
    assert parse_rss(text) == mib


@pytest.mark.parametrize("text, cpus, nodes, mib", [("4000M", 4, 1, 4000), ("16Gn", 4, 2, 32768),
                                                    ("4Gc", 4, 1, 16384), ("0n", 1, 1, None), ("", 1, 1, None)])
def test_reqmem_per_node_and_per_cpu(text, cpus, nodes, mib):
    assert parse_req_mem(text, cpus, nodes) == mib


@pytest.mark.parametrize("text, state", [("CANCELLED by 0", "CANCELLED"), ("OUT_OF_ME+", "OUT_OF_MEMORY"),
                                         ("TIMEOUT", "TIMEOUT"), ("completed", "COMPLETED")])
def test_states(text, state):
    assert normal_state(text) == state


def test_jobs_merge_their_steps():
    parsed = parse_sacct(MIXED.read_text(), "x")
    jobs = {j.job_id: j for j in parsed.items}
    assert jobs["7001"].state == "OUT_OF_MEMORY" and jobs["7001"].max_rss == 8192  # the largest step
    assert jobs["7002"].max_rss == math.floor(11.25 * 1024) and jobs["7002"].elapsed == 93784
    assert jobs["7002"].cpu_efficiency == pytest.approx(302401.25 / (93784 * 4))
    assert jobs["7003"].state == "CANCELLED" and jobs["7003"].req_mem == 2048
    assert jobs["7004_1"].req_mem == 1000 and jobs["7004_1"].max_rss == 300  # an array task
    assert jobs["7007"].max_rss is None  # no step rows: not recorded
    assert [(p.line, "12Q" in p.message) for p in parsed.problems] == [(18, True)]


def test_export_without_the_needed_fields_is_a_problem():
    parsed = parse_sacct("JobID|State\n1|COMPLETED\n", "x")
    assert parsed.items == [] and "no JobName, Elapsed" in parsed.problems[0].message


# ------------------------------------------------------------------------------------- jobs to rules

def test_jobs_mapped_to_rules_and_attempts():
    result = tuned([MIXED], min_jobs=1)
    rules = {r.rule: r for r in result.rules}
    ev = result.evidence
    assert set(rules) == {"train", "plot", "prep"}
    train = rules["train"]  # same run and wildcards: attempt 1 ran out of memory, attempt 2 succeeded
    assert [(j.job_id, j.attempt) for j in train.jobs] == [("7001", 1), ("7002", 2)]
    assert train.succeeded_on == {2: 1} and train.causes == {"out of memory": 1}
    assert rules["plot"].states == {"CANCELLED": 1, "COMPLETED": 2}  # 7008's step skipped (bad MaxRSS), not the job
    assert [j.mem for j in rules["plot"].jobs] == [20, 300, None]
    assert rules["prep"].states == {"TIMEOUT": 1}  # dvhpc's cluster-generic name `<run id>-prep`
    assert rules["prep"].jobs[0].attempt == 1  # its request (5 min, 1G) is attempt 1's
    assert ev.unknown_rules == {"unlisted": 1}  # a workflow rule the spec has no entry for
    assert ev.ignored == 1  # `interactive`: another workflow's job


def test_since_leaves_out_older_jobs():
    s = site()
    gathered = gather(s, [str(MIXED)], "2026-11-02T11:00:00")
    assert {j.job_id for j in gathered.evidence.jobs} == {"7003", "7004_1", "7006", "7008"}
    assert "left out" in gathered.evidence.notes[-1]


def test_since_forms():
    from datetime import datetime

    from dvhpc.tools.tune import since_time

    now = datetime(2026, 11, 10, 12, 0, 0)
    assert since_time("2026-11-01", now) == "2026-11-01"
    assert since_time("now-7days", now) == "2026-11-03T12:00:00"
    assert since_time("now-90minutes", now) == "2026-11-10T10:30:00"
    proc = run("tune", str(SPEC), "--from", str(MIXED), "--since", "last tuesday")
    assert proc.returncode == 2 and "write a date" in proc.stderr


# ------------------------------------------------------------------------------------- proposals

def _export(tmp_path: Path, rows: list[str]) -> Path:
    path = tmp_path / "sacct.txt"
    path.write_text(HEADER + "\n" + "\n".join(rows) + "\n")
    return path


def test_quantile_headroom_rounding_and_floor(tmp_path):
    uses = [3000 + 100 * i for i in range(20)]  # MiB: 3000 .. 4900
    hours = [3600 + 60 * i for i in range(20)]
    rows = [job_row(str(100 + i), f"rule_train_wildcards_i={i}", "COMPLETED",
                    f"{h // 3600:02d}:{h % 3600 // 60:02d}:00", f"{u}M")
            for i, (u, h) in enumerate(zip(uses, hours, strict=True))]
    result = tuned([_export(tmp_path, rows)])
    mem, time_, cpus = result.rules[0].measures
    p95 = quantile(uses, 0.95)
    assert (mem.n, mem.median, mem.high, mem.max) == (20, 3950, p95, 4900)
    want = p95 * 1.2  # 5868 MiB: rounded up to the 256M step of 1-16 GiB
    assert mem.proposed.mib == math.ceil(want / 256) * 256 and mem.proposed.mib >= max(uses)
    assert str(mem.requested) == "8G" and mem.origin == "set gpu_train" and mem.shared_with == ("evaluate",)
    assert time_.proposed.seconds == math.ceil(quantile(hours, 0.95) * 1.2 / 900) * 900  # 15 min steps to 6 h
    cores = [3600 / h for h in hours]  # TotalCPU 1 h over each elapsed: about one CPU busy of four
    assert cpus.proposed == math.ceil(quantile(cores, 0.95) * 1.2) < 4 and cpus.requested == 4


def test_never_below_the_largest_successful_use(tmp_path):
    rows = [job_row(str(200 + i), f"rule_plot_wildcards_i={i}", "COMPLETED", "00:10:00", "100M", req="2G",
                    limit="00:30:00", cpus=1, cpu="00:09:00") for i in range(9)]
    rows.append(job_row("209", "rule_plot_wildcards_i=9", "COMPLETED", "00:10:00", "1500M", req="2G",
                        limit="00:30:00", cpus=1, cpu="00:09:00"))
    mem = tuned([_export(tmp_path, rows)], quantile=0.5).rules[0].measures[0]
    assert mem.high == 100 and mem.max == 1500 and mem.proposed.mib >= 1500


def test_out_of_memory_and_time_raise_the_proposal(tmp_path):
    rows = [job_row(str(300 + i), f"rule_train_wildcards_i={i}", "COMPLETED", "01:00:00", "2G") for i in range(5)]
    rows.append(job_row("310", "rule_train_wildcards_i=9", "OUT_OF_MEMORY", "00:20:00", "8G", req="8G"))
    rows.append(job_row("311", "rule_train_wildcards_i=8", "TIMEOUT", "12:00:00", "2G", limit="12:00:00"))
    rule = tuned([_export(tmp_path, rows)]).rules[0]
    mem, time_, _ = rule.measures
    assert mem.proposed.mib >= 8192 * 1.2
    assert mem.reasons[0].startswith("raised: 1 job(s) ran out of memory at up to 8G")
    assert time_.proposed.seconds >= 12 * 3600 * 1.2 and "ran out of time at up to 12h" in time_.reasons[0]
    assert rule.causes == {"out of memory": 1, "out of time": 1}


def test_partition_limit_caps_and_says_so(tmp_path):
    rows = [job_row(str(400 + i), f"rule_train_wildcards_i={i}", "COMPLETED", "1-23:00:00", "60G") for i in range(5)]
    mem, time_, _ = tuned([_export(tmp_path, rows)]).rules[0].measures
    assert str(mem.proposed) == "64G" and mem.capped and "capped at partition gpu's memory (64G)" in mem.reasons[0]
    assert str(time_.proposed) == "2d" and time_.capped and "max_time" in time_.reasons[0]


def test_too_few_jobs_are_listed_without_proposals():
    result = tuned([MIXED], min_jobs=3)
    assert {r.rule for r in result.too_few} == {"train", "plot", "prep"}
    assert all(m.proposed is None for r in result.rules for m in r.measures)
    proc = run("tune", str(SPEC), "--from", str(MIXED), "--min-jobs", "2")
    assert "too few jobs (no proposal): prep (0 succeeded), train (1 succeeded)" in proc.stdout


# ------------------------------------------------------------------------------------- the command

def test_text_shows_n_median_p95_max_and_the_request():
    proc = run("tune", str(SPEC), "--from", str(MIXED), "--min-jobs", "1")
    assert proc.returncode == 0, proc.stderr
    line = next(ln for ln in proc.stdout.splitlines() if ln.strip().startswith("mem") and "8G" in ln)
    assert "n=1 median 11520M p95 11520M max 11520M" in line and "asked 8G" in line and "8G -> 13824M" in line
    assert "from set gpu_train (shared with evaluate)" in line


def test_markdown_and_json():
    md = run("tune", str(SPEC), "--from", str(MIXED), "--min-jobs", "1", "--format", "markdown").stdout
    assert "| rule | key | n | median | p95 | max | requested | proposed | from | notes |" in md
    assert "| `train` | mem | 1 | 11520M | 11520M | 11520M | 8G | **13824M** |" in md
    data = json.loads(run("tune", str(SPEC), "--from", str(MIXED), "--min-jobs", "1", "--format", "json").stdout)
    train = next(r for r in data["rules"] if r["rule"] == "train")
    assert train["succeeded_on"] == {"2": 1} and train["causes"] == {"out of memory": 1}
    mem = train["measures"][0]
    set_line = next(n for n, ln in enumerate(SPEC.read_text().splitlines(), 1) if "gpu_train: {" in ln)
    assert (mem["n"], mem["max"], mem["requested"], mem["proposed"]) == (1, 11520, "8G", "13824M")
    assert mem["line"] == set_line


def test_rule_option_and_unknown_rule():
    data = json.loads(run("tune", str(SPEC), "--from", str(MIXED), "--rule", "plot", "--format", "json").stdout)
    assert [r["rule"] for r in data["rules"]] == ["plot"]
    proc = run("tune", str(SPEC), "--from", str(MIXED), "--rule", "nosuch")
    assert proc.returncode == 2 and "no rule nosuch" in proc.stderr


def test_malformed_rows_are_dv700_at_their_line():
    proc = run("tune", str(SPEC), "--from", str(MIXED))
    assert proc.returncode == 0
    assert f"{MIXED}:18:1: warning[DV700]: step of job 7008: not a memory size" in proc.stderr


def test_unknown_input_is_dv701(tmp_path):
    junk = tmp_path / "notes.txt"
    junk.write_text("these are not accounting records\n")
    proc = run("tune", str(SPEC), "--from", str(junk))
    assert proc.returncode == 2 and "error[DV701]" in proc.stderr and "Traceback" not in proc.stderr


def test_live_sacct_missing_is_a_clear_error(tmp_path):
    env = dvhpc_env()
    env["PATH"] = str(tmp_path)  # no sacct here
    proc = subprocess.run([sys.executable, "-m", "dvhpc", "tune", str(SPEC)], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "`sacct` not found" in proc.stderr


# ------------------------------------------------------------------------------ the plugin's report

@pytest.mark.skipif(importlib.util.find_spec("snakemake_executor_plugin_slurm") is None
                    or importlib.util.find_spec("pandas") is None, reason="the slurm plugin (and pandas) not installed")
def test_efficiency_report_made_by_the_plugins_own_code(tmp_path):
    import logging

    from snakemake_executor_plugin_slurm.efficiency_report import parse_sacct_data

    # the plugin's own query: --format=JobID,JobName,Comment,Elapsed,TotalCPU,NNodes,NCPUS,MaxRSS,ReqMem
    lines = []
    for usage_line in MIXED.read_text().splitlines()[1:]:
        f = dict(zip(HEADER.split("|"), usage_line.split("|"), strict=True))
        if f["MaxRSS"] == "12Q":
            continue
        job_name = f["JobName"] if "." not in f["JobID"] else f["JobID"].split(".")[1]
        lines.append("|".join([f["JobID"], job_name, f["Comment"], f["Elapsed"], f["TotalCPU"], f["NNodes"],
                               f["AllocCPUS"], f["MaxRSS"], f["ReqMem"]]))
    frame = parse_sacct_data(lines, 0.0, "run", logging.getLogger("test"))
    report = tmp_path / "efficiency_report_run.csv"
    frame.to_csv(report)
    data = json.loads(run("tune", str(SPEC), "--from", str(report), "--min-jobs", "1", "--format", "json").stdout)
    rules = {r["rule"]: {m["key"]: m for m in r["measures"]} for r in data["rules"]}
    # the report keeps numbered steps only: 7002.0 (11.25G over 1-02:03:00)
    assert rules["train"]["mem"]["max"] == pytest.approx(11.25 * 1024)
    assert rules["train"]["time"]["max"] == 93780
    assert "the efficiency report records no job states" in " ".join(data["notes"])


# ------------------------------------------------------------------------------ benchmark files

@pytest.mark.snakemake
def test_benchmark_folder_from_the_real_snakemake(tmp_path):
    snakemake = Path(sys.executable).parent / "snakemake"
    if not snakemake.exists():
        pytest.skip(f"snakemake is not installed beside {sys.executable}")
    (tmp_path / "Snakefile").write_text(
        "rule all:\n    input: expand('out/{i}.txt', i=range(3))\n"
        "rule plot:\n    output: 'out/{i}.txt'\n    benchmark: 'benchmarks/plot/{i}.tsv'\n"
        "    shell: \"python3 -c 'import time; b = bytearray(80 * 2**20); time.sleep(1.5)'; touch {output}\"\n")
    proc = subprocess.run([str(snakemake), "-c1", "--quiet"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=300, env={**os.environ, "PATH": f"{snakemake.parent}:{os.environ['PATH']}"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = json.loads(run("tune", str(SPEC), "--from", str(tmp_path / "benchmarks"), "--min-jobs", "3",
                          "--format", "json").stdout)
    (plot,) = data["rules"]
    mem, time_, _ = plot["measures"]
    assert plot["rule"] == "plot" and plot["jobs"] == 3 and mem["n"] == 3
    assert mem["max"] >= 80 and time_["max"] >= 1.5 and mem["proposed"] is not None


def test_a_real_export_of_the_local_slurm(tmp_path):
    """sacct's own output (tests/fixtures/tune/README.md): the retried rule's TIMEOUT is attempt 1,
    its success attempt 2; the peak is the largest step's MaxRSS; the plugin's run UUID names them."""
    spec = tmp_path / "site.yaml"
    spec.write_text((TUNE / "site.yaml.in").read_text().replace("@CLUSTER@", str(REPO / "tests/e2e/cluster.yaml")))
    data = json.loads(run("tune", str(spec), "--from", str(TUNE / "sacct-local-slurm.txt"), "--min-jobs", "1",
                          "--format", "json").stdout)
    rules = {r["rule"]: r for r in data["rules"]}
    assert sorted(rules) == ["tune_big", "tune_slow", "tune_small"]
    slow = rules["tune_slow"]
    assert (slow["states"], slow["causes"], slow["succeeded_on"]) == \
        ({"COMPLETED": 1, "TIMEOUT": 1}, {"out of time": 1}, {"2": 1})
    mem, time_, _ = slow["measures"]
    assert (mem["max"], time_["max"]) == (math.ceil(188968 / 1024), 99)  # 138.0's MaxRSS, 138's Elapsed
    assert time_["requested"] == "1min" and time_["proposed"] == "2min"  # ran out of 1 min: raised
    assert rules["tune_small"]["measures"][0]["max"] == math.ceil(138236 / 1024)  # only the batch step sampled
