"""Spec features the real Snakemake decides (issue 15's held-out profiles needed them):
`${VAR}` in account/qos (Snakemake expands environment variables in resource values when it
submits: snakemake/resources.py cli_evaluator), several partitions (`--partition=a,b`, as sbatch
takes them), and snakemake.cores (Snakemake lowers every job's threads to --cores, also with a
remote executor: snakemake/rules.py). Judged by Snakemake 9 with a recording sbatch stub."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import import_equivalence as harness  # noqa: E402

SPEC = """\
dvhpc: 1
site: rt
slurm:
  account: "${H15_ACCOUNT}"
  partitions:
    vcpu: {default: true, max_time: 2d, cpus: 48, mem: 180G}
    hpcpu: {max_time: 1d, cpus: 96, mem: 360G}
snakemake:
  executor: EXECUTOR
  cores: 4
resources:
  defaults: {partition: [vcpu, hpcpu], time: 1h, mem: 1G}
  rules:
    big: {cpus: 8, time: 20h}
    q: {qos: "${H15_QOS}", partition: hpcpu}
"""


def dvhpc(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dvhpc", *args], cwd=cwd, capture_output=True, text=True,
                          env={**harness.os.environ, "PYTHONPATH": str(harness.COMPILER)})


def compiled(tmp_path: Path, executor: str) -> Path:
    (tmp_path / "rt.yaml").write_text(SPEC.replace("EXECUTOR", executor))
    done = dvhpc("compile", "rt.yaml", "--out", "out", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    return tmp_path / "out" / "rt"


@pytest.mark.snakemake
@pytest.mark.parametrize("executor", ["slurm", "cluster-generic"])
def test_runtime_values_partition_lists_and_cores_reach_sbatch(tmp_path, executor):
    if harness.SNAKEMAKE is None:
        pytest.skip("snakemake is not installed")
    out = compiled(tmp_path, executor)
    work = tmp_path / "work"
    harness.workflow(work, ["big", "q"])
    runner = harness.Runner()
    try:
        harness.os.environ.update(H15_ACCOUNT="lab7", H15_QOS="fastq")
        calls, said = harness.submissions(runner, out / "profile", work, harness.stub_bin(tmp_path / "bin"))
    finally:
        harness.os.environ.pop("H15_ACCOUNT", None)
        harness.os.environ.pop("H15_QOS", None)
        runner.close()
    assert calls is not None, said
    first = {rule: attempts[0] for rule, attempts in calls.items()}
    assert first["free1"]["account"] == "lab7" and first["q"]["qos"] == "fastq"   # expanded at run time
    assert first["free1"]["partition"] == "vcpu,hpcpu" and first["q"]["partition"] == "hpcpu"
    assert first["free8"]["cpus-per-task"] == "4"                                 # threads 8 capped
    # a rule's cpus: the slurm plugin sends cpus_per_task; the template sends the capped threads
    assert first["big"]["cpus-per-task"] == ("8" if executor == "slurm" else "4")
    shown = yaml.safe_load((out / "resources.yaml").read_text())["rules"]["big"]
    assert f"--cpus-per-task={first['big']['cpus-per-task']}" in shown["sbatch"]
    assert "snakemake.cores" in shown["threads"]


def test_several_partitions_are_checked_against_each(tmp_path):
    (tmp_path / "rt.yaml").write_text(SPEC.replace("EXECUTOR", "slurm").replace("time: 20h", "time: 36h")
                                      .replace("partition: hpcpu}", "partition: [hpcpu, nope]}"))
    done = dvhpc("validate", "rt.yaml", cwd=tmp_path)
    assert "DV301" in done.stdout + done.stderr and "partition 'hpcpu,nope'" not in done.stdout
    assert "unknown partition 'nope'" in done.stdout + done.stderr
    # the note points at the listed partition whose limit binds (hpcpu: 1d, line 7), not the first listed
    said = done.stdout + done.stderr
    assert "rt.yaml:7:" in said and "the smallest limit of the listed partitions: 'hpcpu'" in said, said


def test_cores_in_options_points_at_snakemake_cores(tmp_path):
    (tmp_path / "rt.yaml").write_text(SPEC.replace("EXECUTOR", "slurm").replace("  cores: 4\n",
                                                                                 "  options: {cores: 4}\n"))
    done = dvhpc("validate", "rt.yaml", cwd=tmp_path)
    assert done.returncode != 0 and "snakemake.cores" in done.stdout + done.stderr


def test_account_refuses_what_is_not_a_name_or_variable(tmp_path):
    (tmp_path / "rt.yaml").write_text(SPEC.replace("EXECUTOR", "slurm").replace("${H15_ACCOUNT}", "$(id)"))
    done = dvhpc("validate", "rt.yaml", cwd=tmp_path)
    assert done.returncode != 0 and "rt.yaml:4:" in done.stdout + done.stderr


def test_lint_cluster_says_it_cannot_check_a_run_time_account(tmp_path):
    from dvhpc.report.codes import _snapshot
    (tmp_path / "cluster.json").write_text(_snapshot())
    (tmp_path / "rt.yaml").write_text(
        "dvhpc: 1\nsite: rt\nslurm:\n  account: \"${H15_ACCOUNT}\"\n  partitions:\n"
        "    cpu: {default: true, max_time: 2d, cpus: 48, mem: 180G, nodes: 10}\n"
        "    gpu: {max_time: 1d, cpus: 48, mem: 360G, nodes: 4, gpus: {a100: 4}}\n"
        "resources:\n  rules:\n    prepare: {time: 1h, partition: [cpu, gpu], cpus: 40}\n")
    done = dvhpc("lint", "rt.yaml", "--cluster", "cluster.json", cwd=tmp_path)
    said = done.stdout + done.stderr
    assert "rt.yaml:4:12: info[DV620]: account checks skipped for '${H15_ACCOUNT}'" in said, said
    assert "DV610" not in said and "DV611" not in said
    # the request is held against every listed partition on the cluster: 40 CPUs fit cpu, not gpu (32)
    assert "DV603" in said and "partition 'gpu'" in said and "partition 'cpu'" not in said.split("DV603")[1], said


@pytest.mark.snakemake
def test_cluster_generic_defaults_cpus_hold_for_rules_the_spec_does_not_name(tmp_path):
    """As under the slurm plugin (default-resources cpus_per_task), not the Snakefile's threads."""
    if harness.SNAKEMAKE is None:
        pytest.skip("snakemake is not installed")
    (tmp_path / "rt.yaml").write_text(SPEC.replace("EXECUTOR", "cluster-generic").replace("  cores: 4\n", "")
                                      .replace("time: 1h, mem: 1G}", "time: 1h, mem: 1G, cpus: 2}"))
    done = dvhpc("compile", "rt.yaml", "--out", "out", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    work = tmp_path / "work"
    harness.workflow(work, ["big"])
    runner = harness.Runner()
    try:
        calls, said = harness.submissions(runner, tmp_path / "out" / "rt" / "profile", work,
                                          harness.stub_bin(tmp_path / "bin"))
    finally:
        runner.close()
    assert calls is not None, said
    assert calls["free8"][0]["cpus-per-task"] == "2" and calls["big"][0]["cpus-per-task"] == "8"
    shown = yaml.safe_load((tmp_path / "out" / "rt" / "resources.yaml").read_text())
    assert "--cpus-per-task=2" in shown["defaults"]["sbatch"]
