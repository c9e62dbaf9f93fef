"""run.sh refuses to start when the spec or a file it extends changed since the files were
generated (issue 17 item 3), unless --allow-stale. The real generated run.sh (compiled with
`dvhpc compile` into a project folder, MANIFEST.json included) runs against stub programs."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from conftest import run_in_process  # noqa: E402
from test_scripts import STUBS_ALL, SYSTEM_TOOLS, Env  # noqa: E402

BASE = "dvhpc: 1\nabstract: true\nresources:\n  defaults: {cpus: 1, mem: 1G, time: 10min}\n"
SPEC = ("dvhpc: 1\nsite: stale\nextends: base.yaml\nslurm:\n  accounting: true\n  account: lab\n"
        "  partitions: {cpu: {default: true}}\nsnakemake: {executor: slurm, logdir: logs/slurm}\n")


@pytest.fixture
def project(tmp_path) -> Path:
    sites = tmp_path / "proj" / "sites"
    sites.mkdir(parents=True)
    (sites / "base.yaml").write_text(BASE, encoding="utf-8")
    (sites / "stale.yaml").write_text(SPEC, encoding="utf-8")
    status, _, err = run_in_process("compile", "sites/stale.yaml", cwd=sites.parent)
    assert status == 0, err
    return sites.parent


def _runs(env: Env) -> list[list[str]]:
    """The snakemake runs run.sh started (not its `snakemake --version`)."""
    return [call for call in env.calls("snakemake") if "--profile" in call]


def _env(tmp_path: Path, hasher: str = "sha256sum") -> Env:
    tools = tmp_path / "sysbin"
    tools.mkdir()
    for tool in (*SYSTEM_TOOLS, hasher):
        (tools / tool).symlink_to(shutil.which(tool))
    return Env(tmp_path, tools, STUBS_ALL)


@pytest.mark.parametrize("hasher", ["sha256sum", "shasum"])
def test_a_changed_extended_file_stops_run_sh(project, tmp_path, hasher):
    if not shutil.which(hasher):
        pytest.skip(f"{hasher} is not installed")
    env = _env(tmp_path, hasher)
    run = str(project / "generated" / "stale" / "run.sh")
    proc = env.run([run, "--foreground", "all"], cwd=project)
    assert proc.returncode == 0, proc.stderr
    assert len(_runs(env)) == 1 and "dvhpc run: warning" not in proc.stderr

    with (project / "sites" / "base.yaml").open("a", encoding="utf-8") as base:
        base.write("# a comment changes the file too\n")
    proc = env.run([run, "--foreground", "all"], cwd=project)
    assert proc.returncode == 1
    assert "dvhpc run: sites/base.yaml changed since the files in" in proc.stderr
    assert "sites/stale.yaml" not in proc.stderr  # only the file that changed is named
    assert "--allow-stale" in proc.stderr and len(_runs(env)) == 1  # not started

    for flags in (["--allow-stale", "--foreground"], ["--foreground", "--allow-stale"]):
        proc = env.run([run, *flags, "all"], cwd=project)
        assert proc.returncode == 0, proc.stderr
        assert _runs(env)[-1][-1] == "all"  # the flag is run.sh's, not Snakemake's
    assert len(_runs(env)) == 3

    (project / "sites" / "stale.yaml").write_text(SPEC.replace("10min", "11min") + "description: x\n")
    status, _, err = run_in_process("compile", "sites/stale.yaml", cwd=project)
    assert status == 0, err
    proc = env.run([run, "--foreground", "all"], cwd=project)
    assert proc.returncode == 0 and "changed since" not in proc.stderr


def test_the_spec_itself_and_files_that_cannot_be_checked(project, tmp_path):
    env = _env(tmp_path)
    run = str(project / "generated" / "stale" / "run.sh")
    (project / "sites" / "stale.yaml").write_text(SPEC.replace("logs", "logs2"), encoding="utf-8")
    proc = env.run([run, "--foreground"], cwd=project)
    assert proc.returncode == 1 and "dvhpc run: sites/stale.yaml changed" in proc.stderr
    # the folder copied to a cluster without the specs: a warning, not a refusal
    shutil.rmtree(project / "sites")
    proc = env.run([run, "--foreground"], cwd=project)
    assert proc.returncode == 0, proc.stderr
    assert "dvhpc run: warning: not checked for changes: sites/stale.yaml: not found" in proc.stderr


# Recorded from the local SLURM 22.05 (`squeue -h -u root -O ...` as jobs.sh runs it): a plugin job
# (name: the run id, comment rule_<rule>_wildcards_<...>), a typed GRES request, a job of no run.
RECORDED_SQUEUE = (
    "161|gpu|PD|0:00|2:00|1|1|100M|cpu=1,mem=100M,node=1,billing=1,gres/gpu=1|gres:gpu:1|N/A|N/A|(JobHeldUser)|"
    "h17a-uuid-1234|rule_train_model_wildcards_x=1|\n"
    "162|gpu|PD|0:00|1:00|1|1|100M|cpu=1,mem=100M,node=1,billing=1,gres/gpu=2|N/A|gres:gpu:testgpu:2|N/A|"
    "(JobHeldUser)|h17a-t2|rule_prep_wildcards_a=x|y|\n"
    "163|cpu|PD|0:00|1:00|1|1|100M|cpu=1,mem=100M,node=1,billing=1|N/A|N/A|N/A|(JobHeldUser)|plain-job||\n"
)


def test_jobs_status_rule_and_gpus_from_recorded_squeue(project, tmp_path):
    env = _env(tmp_path)
    jobs = str(project / "generated" / "stale" / "jobs.sh")
    proc = env.run([jobs, "status"], STUB_SQUEUE_LINES=RECORDED_SQUEUE)
    assert proc.returncode == 0, proc.stderr
    rows = [line.split() for line in proc.stdout.splitlines()]
    assert rows[0][:3] == ["JOBID", "PARTITION", "RULE"]
    assert [(r[0], r[2], " ".join(r[9:-2])) for r in rows[1:]] == [
        ("161", "train_model", "1"), ("162", "prep", "2 (testgpu)"), ("163", "-", "-")]
    assert rows[1][-1] == "h17a-uuid-1234"


def test_jobs_usage_of_an_unknown_job(project, tmp_path):
    env = _env(tmp_path)
    proc = env.run([str(project / "generated" / "stale" / "jobs.sh"), "usage", "99999"])  # sacct: no rows
    assert proc.returncode == 1
    assert "dvhpc jobs: no job 99999 in SLURM's accounting" in proc.stderr
