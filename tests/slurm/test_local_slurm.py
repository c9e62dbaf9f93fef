"""The local test cluster (tests/slurm/local-slurm.sh) accepts, records and refuses jobs as
the end-to-end tests of generated profiles expect."""

from __future__ import annotations

import subprocess

import pytest

pytestmark = pytest.mark.slurm

GPU_REQUEST = ["-J", "dvhpc-selftest", "-p", "gpu", "--gres=gpu:testgpu:1", "-t", "5", "--mem", "200", "-c", "2"]
# Without -o sbatch writes slurm-<id>.out into the current directory (the repo).
GPU_JOB = [*GPU_REQUEST, "-o", "/dev/null"]


def test_status_reports_mode_and_partitions(local_slurm):
    proc = subprocess.run([str(local_slurm.script), "status"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"mode: {local_slurm.mode}" in proc.stdout
    parts = subprocess.run(["sinfo", "-h", "-o", "%P %l %a"], capture_output=True, text=True, check=True).stdout
    assert parts.split() == ["cpu*", "1-00:00:00", "up", "gpu", "12:00:00", "up"]


@pytest.mark.usefixtures("local_slurm")  # the cluster runs; the test reads it with the SLURM tools
def test_node_advertises_cpus_memory_and_fake_gpus():
    node = subprocess.run(["scontrol", "-o", "show", "node"], capture_output=True, text=True, check=True).stdout
    assert "CPUTot=4 " in node
    assert "RealMemory=8000 " in node
    assert "Gres=gpu:testgpu:2" in node


def test_gpu_job_request_is_read_back(local_slurm):
    job_id = local_slurm.submit(*GPU_JOB, "--wrap", "true")
    job = local_slurm.show_job(job_id)
    assert job["Partition"] == "gpu"
    assert job["TimeLimit"] == "00:05:00"
    assert job["MinMemoryNode"] == "200M"
    assert job["NumCPUs"] == "2"
    assert job["TresPerNode"] == "gres:gpu:testgpu:1"
    assert local_slurm.wait_job(job_id)["JobState"] == "COMPLETED"


def test_job_runs_and_sees_its_gpu(local_slurm, tmp_path):
    out = tmp_path / "job.out"
    job_id = local_slurm.submit(
        *GPU_REQUEST, "-o", str(out), "--wrap", 'echo "gpus=${CUDA_VISIBLE_DEVICES:-none} cpus=$SLURM_CPUS_PER_TASK"'
    )
    job = local_slurm.wait_job(job_id)
    assert job["JobState"] == "COMPLETED", job
    assert out.read_text().strip() == "gpus=0 cpus=2"


def test_time_over_partition_limit_is_rejected(local_slurm):
    proc = local_slurm.sbatch("-p", "gpu", "-t", "13:00:00", "-o", "/dev/null", "--wrap", "true")
    assert proc.returncode != 0, f"accepted as job {proc.stdout.strip()}"
    assert "Requested time limit is invalid" in proc.stderr


def test_sacct_shows_partition_and_account(local_slurm):
    if not local_slurm.accounting:
        pytest.skip("light mode: no accounting")
    default_job = local_slurm.submit(*GPU_JOB, "--wrap", "true")
    gpu_job = local_slurm.submit(*GPU_JOB, "-A", "gpuproj", "--wrap", "true")
    fields = "JobID,Partition,Account,Timelimit,ReqMem,ReqTRES"
    rec = local_slurm.sacct(default_job, fields)
    assert (rec["Partition"], rec["Account"], rec["Timelimit"]) == ("gpu", "defacct", "00:05:00")
    assert "gres/gpu=1" in rec["ReqTRES"] and "mem=200M" in rec["ReqTRES"]
    assert local_slurm.sacct(gpu_job, fields)["Account"] == "gpuproj"


def test_accounts_exist_for_the_slurm_plugin_check(local_slurm):
    if not local_slurm.accounting:
        pytest.skip("light mode: no accounting")
    # The same query snakemake-executor-plugin-slurm uses to validate slurm_account.
    proc = subprocess.run(
        ["sacctmgr", "-n", "-s", "list", "user", "root", "format=account%256"],
        capture_output=True, text=True, check=True, timeout=60,
    )
    assert {"defacct", "gpuproj"} <= {ln.strip() for ln in proc.stdout.splitlines()}


def test_unknown_account_is_rejected(local_slurm):
    if not local_slurm.accounting:
        pytest.skip("light mode: any account string is accepted")
    proc = local_slurm.sbatch("-A", "nosuchacct", "-o", "/dev/null", "--wrap", "true")
    assert proc.returncode != 0, f"accepted as job {proc.stdout.strip()}"
    assert "Invalid account" in proc.stderr
