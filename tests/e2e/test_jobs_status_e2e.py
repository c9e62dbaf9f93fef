"""`jobs.sh status` on the real local SLURM (issue 17 item 4): while a run's GPU job is in the
queue, its line names the rule (the slurm plugin's per-job comment; dvhpc's cluster-generic submit
command sets the same comment) and its GPUs (from the TRES, not N/A), for both executors."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_e2e import SPECS, _run, compile_spec, need_venv, run_env, spec_for  # noqa: E402

SNAKEFILE = "rule gpu_typed:\n    output: 'out/gpu_typed.txt'\n    shell: 'sleep 40; touch {output}'\n"


@pytest.mark.slurm
@pytest.mark.parametrize("executor", sorted(SPECS))
def test_status_shows_the_rule_and_its_gpus(local_slurm, tmp_path, executor):
    need_venv(executor)
    site_dir = compile_spec(spec_for(executor, local_slurm.mode, tmp_path), tmp_path / "generated")
    work = tmp_path / "workflow"
    work.mkdir()
    (work / "Snakefile").write_text(SNAKEFILE)
    run_id = f"st-{uuid.uuid4().hex[:10]}"
    env = run_env(DVHPC_RUN_ID=run_id)
    proc = subprocess.Popen([str(site_dir / "run.sh"), "--foreground", "--seconds-between-status-checks", "2"],
                            cwd=work, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    line, status = None, None
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and line is None:
            time.sleep(2)
            status = _run([site_dir / "jobs.sh", "status"], cwd=work, env=env)
            mine = [row for row in status.stdout.splitlines() if run_id in row]
            line = next((row for row in mine if " gpu_typed " in row), None)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
        # the run's jobs: the plugin names them <run id>_<uuid>, cluster-generic <run id>-<rule>
        ids = [j["JobId"] for j in local_slurm.all_jobs() if j.get("JobName", "").startswith(run_id)
               and j.get("JobState") in ("PENDING", "RUNNING", "CONFIGURING", "COMPLETING")]
        if ids:
            _run(["scancel", *ids])
    assert status is not None and status.returncode == 0, status
    assert line is not None, status.stdout + status.stderr
    fields = line.split()
    assert fields[1:3] == ["gpu", "gpu_typed"], line
    assert "1 (testgpu)" in line and "N/A" not in line, line
    assert status.stdout.splitlines()[0].split()[:3] == ["JOBID", "PARTITION", "RULE"]


@pytest.mark.slurm
def test_usage_of_an_unknown_job_is_an_error(local_slurm, tmp_path):
    site_dir = compile_spec(spec_for("slurm", local_slurm.mode, tmp_path), tmp_path / "generated")
    proc = _run([site_dir / "jobs.sh", "usage", "99999999"], cwd=tmp_path, env=run_env())
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "no job 99999999" in proc.stderr
