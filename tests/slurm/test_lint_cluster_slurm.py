"""`dvhpc lint --cluster` against the real local SLURM with accounting (issue 17, item 6).

The module creates a QOS and two accounts with sacctmgr (prefix `h17b_`, removed at the end; root's
default account is never changed), then lints a spec with a wrong account, an account without access
to a partition, requests over a QOS limit (one only at its retry attempt), a partition the cluster
does not have and a limit that drifted: each is refused on the spec line that caused it, by the live
cluster and by a `dvhpc snapshot` of it, and no job is submitted. `sbatch --test-only` (which submits
nothing) is the oracle: it refuses exactly what lint refused, and accepts the clean spec, whose jobs
then run to completion with the arguments resources.yaml lists for every attempt.
(Named *_slurm.py: tests/test_lint_cluster.py holds the same checks on recorded outputs.)
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

import pytest
from ruamel.yaml import YAML

pytestmark = pytest.mark.slurm

QOS, ACCOUNT, CPU_ONLY, MISSING = "h17b_short", "h17b_acct", "h17b_cpuonly", "h17b_nosuch"
USER = "root"
TIMEOUT = 60

BAD = f"""\
dvhpc: 1
site: h17b-bad
slurm:
  account: {ACCOUNT}
  partitions:
    cpu: {{default: true, max_time: 2d, cpus: 4, mem: 8000M, nodes: 1, gpus: {{testgpu: 2}}}}
    gpu: {{max_time: 12h, cpus: 4, mem: 8000M, nodes: 1, gpus: {{testgpu: 2}}}}
    bigmem: {{max_time: 1d, cpus: 4, mem: 8000M, nodes: 1}}
snakemake: {{jobs: 2, restart_times: 1}}
resources:
  defaults: {{partition: cpu, cpus: 1, mem: 100M, time: 2min}}
  rules:
    wrong_account: {{account: {MISSING}}}
    no_access: {{account: {CPU_ONLY}, partition: gpu}}
    over_wall: {{qos: {QOS}, time: 20min}}
    over_cpus: {{qos: {QOS}, cpus: 3}}
    over_retry: {{qos: {QOS}, time: 6min, retry: {{time: 2x}}}}
    lost: {{partition: bigmem}}
"""
# What each line is refused for: (code, marker of its line).
EXPECTED = {
    ("DV601", "cpu: {default"),   # max_time 2d in the spec, 1d on the cluster
    ("DV600", "bigmem: {"),       # no such partition
    ("DV610", "wrong_account:"),  # no such account
    ("DV612", "no_access:"),      # its association is for partition cpu only
    ("DV615", "over_wall:"),      # MaxWall 10 min
    ("DV615", "over_cpus:"),      # MaxTRESPerJob cpu=2
    ("DV615", "over_retry:"),     # 12 min at attempt 2
}
# The attempts sbatch must refuse, by rule (the oracle); `lost` only for its partition.
REFUSED = {"wrong_account": {1, 2}, "no_access": {1, 2}, "over_wall": {1, 2}, "over_cpus": {1, 2},
           "over_retry": {2}, "lost": {1, 2}}

CLEAN = f"""\
dvhpc: 1
site: h17b-clean
slurm:
  account: {ACCOUNT}
  partitions:
    cpu: {{default: true, max_time: 1d, cpus: 4, mem: 8000M, nodes: 1, gpus: {{testgpu: 2}}}}
    gpu: {{max_time: 12h, cpus: 4, mem: 8000M, nodes: 1, gpus: {{testgpu: 2}}}}
snakemake: {{jobs: 2, restart_times: 1}}
resources:
  defaults: {{partition: cpu, cpus: 1, mem: 100M, time: 2min}}
  rules:
    in_qos: {{qos: {QOS}, cpus: 2, time: 5min, retry: {{time: 2x}}}}
    cpu_only: {{account: {CPU_ONLY}}}
    gpu_job: {{partition: gpu, gpus: 1, gpu_type: testgpu}}
"""


def run(args: list[str], **kwargs) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=TIMEOUT, check=False, **kwargs)


def sacctmgr(*args: str) -> subprocess.CompletedProcess[str]:
    return run(["sacctmgr", "-i", *args])


def default_account() -> str:
    return run(["sacctmgr", "-n", "-P", "show", "user", USER, "format=defaultaccount"]).stdout.strip()


def remove_objects() -> None:
    """Only this module's objects, by name; missing ones are fine (the first call cleans up a crash)."""
    for account in (ACCOUNT, CPU_ONLY):
        sacctmgr("delete", "user", USER, f"account={account}")
    sacctmgr("delete", "account", f"{ACCOUNT},{CPU_ONLY}")
    sacctmgr("delete", "qos", QOS)


@pytest.fixture(scope="module")
def accounting(local_slurm):
    if not local_slurm.accounting:
        pytest.skip("light mode: no slurmdbd, so no accounts or QOS to check against")
    before = default_account()
    remove_objects()
    steps = [("add", "qos", QOS, "MaxWall=00:10:00", "MaxTRESPerJob=cpu=2", "Flags=DenyOnLimit"),
             ("add", "account", f"{ACCOUNT},{CPU_ONLY}"),
             ("add", "user", USER, f"account={ACCOUNT}", f"qos=normal,{QOS}"),
             ("add", "user", USER, f"account={CPU_ONLY}", "partition=cpu")]
    for step in steps:
        proc = sacctmgr(*step)
        if proc.returncode != 0:
            remove_objects()
            pytest.fail(f"sacctmgr {' '.join(step)} failed: {proc.stdout}{proc.stderr}")
    try:
        wait_until_known()
        assert default_account() == before, "adding associations must not change root's default account"
        yield local_slurm
    finally:
        remove_objects()
        assert default_account() == before


def wait_until_known(timeout: float = 20) -> None:
    """slurmctld learns new associations from slurmdbd a moment after sacctmgr returns."""
    deadline = time.monotonic() + timeout
    while sbatch_test_only(f"-A {CPU_ONLY} -p cpu -t 1").returncode != 0:
        if time.monotonic() > deadline:
            pytest.fail("slurmctld did not learn the new associations in time")
        time.sleep(0.5)


def sbatch_test_only(sbatch_args: str) -> subprocess.CompletedProcess[str]:
    """`sbatch --test-only`: slurmctld validates the job (partition, account, QOS limits), submits nothing."""
    return run(["sbatch", "--test-only", *shlex.split(sbatch_args), "-o", "/dev/null", "--wrap", "true"])


def dvhpc(*args: str, cwd: Path, path_prefix: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DVHPC_DEBUG", "FORCE_COLOR")}
    env.update(NO_COLOR="1", USER=USER)
    if path_prefix is not None:
        env["PATH"] = f"{path_prefix}{os.pathsep}{env.get('PATH', '')}"
    return run([sys.executable, "-m", "dvhpc", *args], cwd=cwd, env=env)


def jobs_from(folder: Path) -> list[str]:
    """The jobs (any state, any age today) whose working directory is `folder`."""
    proc = run(["sacct", "-X", "-n", "-P", "-a", "-S", "now-1days", "--format=JobID,WorkDir"])
    assert proc.returncode == 0, proc.stderr
    return [line.split("|")[0] for line in proc.stdout.splitlines() if line.split("|")[-1] == str(folder)]


def line_of(text: str, marker: str) -> int:
    return next(number for number, line in enumerate(text.splitlines(), 1) if marker in line)


def lint_findings(folder: Path, spec: str, *cluster: str) -> tuple[int, list[dict]]:
    """`dvhpc lint SPEC --cluster [FILE]` with an sbatch on PATH that records any call and fails."""
    (folder / "site.yaml").write_text(spec)
    stubs = folder / "stubs"
    stubs.mkdir(exist_ok=True)
    for name in ("sbatch", "srun", "salloc"):
        (stubs / name).write_text(f'#!/bin/sh\necho "{name} $*" >> "{folder}/submitted.log"\nexit 1\n')
        (stubs / name).chmod(0o755)
    proc = dvhpc("lint", "--no-shellcheck", "--format", "json", "site.yaml", "--cluster", *cluster,
                 cwd=folder, path_prefix=stubs)
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr, proc.stderr
    assert not (folder / "submitted.log").exists(), "lint submitted something"
    return proc.returncode, json.loads(proc.stdout)


@pytest.fixture(scope="module")
def snapshot(accounting, tmp_path_factory) -> Path:
    assert accounting.accounting  # the QOS and accounts exist before the snapshot is taken
    folder = tmp_path_factory.mktemp("h17b-snapshot")
    proc = dvhpc("snapshot", "-o", "cluster.json", cwd=folder)
    assert proc.returncode == 0, proc.stderr
    return folder / "cluster.json"


@pytest.mark.usefixtures("accounting")
@pytest.mark.parametrize("source", ["live", "snapshot"])
def test_lint_cluster_refuses_each_problem_on_its_line_before_any_job(snapshot, tmp_path, source):
    before = jobs_from(tmp_path)
    status, found = lint_findings(tmp_path, BAD, *([] if source == "live" else [str(snapshot)]))
    assert status == 1
    errors = {(d["code"], d["line"]) for d in found if d["severity"] == "error"}
    assert errors == {(code, line_of(BAD, marker)) for code, marker in EXPECTED}, found
    messages = {d["message"] for d in found}
    assert "partition 'cpu': max_time 2d in the spec, 1d on the cluster" in messages
    assert f"rule 'over_retry': time 12min at attempt 2 exceeds QOS '{QOS}' MaxWall 10min" in messages
    assert jobs_from(tmp_path) == before == []


@pytest.mark.usefixtures("accounting")
def test_snapshot_and_live_cluster_agree(snapshot, tmp_path):
    live = lint_findings(tmp_path, BAD)
    recorded = lint_findings(tmp_path, BAD, str(snapshot))
    assert live == recorded
    facts = json.loads(snapshot.read_text())
    assert facts["version"] == 2 and facts["user"] == USER
    assert {a["account"]: a["partition"] for a in facts["associations"]}[CPU_ONLY] == "cpu"


def compiled(folder: Path, spec: str) -> dict:
    (folder / "site.yaml").write_text(spec)
    proc = dvhpc("compile", "site.yaml", "--out", "generated", cwd=folder)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    site = YAML(typ="safe").load(spec)["site"]
    return YAML(typ="safe").load((folder / "generated" / site / "resources.yaml").read_text())


def attempts(rule: dict) -> dict[int, str]:
    """Attempt number -> the sbatch arguments resources.yaml lists for it."""
    if "attempts" in rule:
        return {item["attempt"]: item["sbatch"] for item in rule["attempts"]}
    return {1: rule["sbatch"], 2: rule["sbatch"]}


@pytest.mark.usefixtures("accounting")
def test_sbatch_refuses_what_lint_refused(tmp_path):
    """The oracle: slurmctld itself, asked with --test-only (no job is made)."""
    rules = compiled(tmp_path, BAD)["rules"]
    refused = {name: {n for n, args in attempts(rules[name]).items() if sbatch_test_only(args).returncode != 0}
               for name in REFUSED}
    assert refused == REFUSED


def test_clean_spec_passes_and_its_jobs_run(accounting, tmp_path):
    status, found = lint_findings(tmp_path, CLEAN)
    assert (status, [d for d in found if d["code"].startswith("DV6")]) == (0, [])
    rules = compiled(tmp_path, CLEAN)["rules"]
    submitted = []
    for name, rule in sorted(rules.items()):
        for number, args in sorted(attempts(rule).items()):
            assert sbatch_test_only(args).returncode == 0, (name, number, args)
            submitted.append(accounting.submit(*shlex.split(args), "-J", f"h17b-clean-{name}-{number}",
                                               "-D", str(tmp_path), "-o", "/dev/null", "--wrap", "true"))
    states = {job: accounting.wait_job(job, timeout=120)["JobState"] for job in submitted}
    assert set(states.values()) == {"COMPLETED"}, states
