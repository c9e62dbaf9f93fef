"""The real Snakemake 9 reads the generated profile and asks SLURM for what resources.yaml says.

Two proofs: (1) the local executor with the profile's resources: each rule sees the threads and
resources we emitted; (2) the slurm executor plugin with a fake `sbatch` that records its
arguments and refuses the job, so Snakemake retries and attempt 2 is submitted too.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from dvhpc.build import compile_specs

pytestmark = pytest.mark.snakemake

ROOT = Path(__file__).resolve().parent.parent
SNAKEMAKE = shutil.which("snakemake", path=os.path.dirname(sys.executable)) or shutil.which("snakemake")

RULES = ["train_model", "test_model", "plot_results", "build_dataset", "train_model_distributed"]

SNAKEFILE = "\n".join(
    ["rule all:", "    input: " + ", ".join(f"'{r}.txt'" for r in RULES + ["unlisted"])]
    + [
        f"rule {rule}:\n    output: '{rule}.txt'\n"
        "    shell: \"echo threads={threads} runtime={resources.runtime} mem_mb={resources.mem_mb} "
        "cpus={resources.cpus_per_task} partition={resources.slurm_partition} "
        "account={resources.slurm_account} > {output}\""
        for rule in RULES + ["unlisted"]
    ]
) + "\n"


def _compile(tmp_path: Path, spec: Path) -> tuple[Path, dict]:
    out = tmp_path / "generated"
    results = compile_specs([str(spec)], out)
    assert all(r.plan is not None for r in results), [r.checked.report.items for r in results]
    site_dir = out / results[0].checked.site.name
    resources = YAML(typ="safe").load((site_dir / "resources.yaml").read_text())
    return site_dir, resources


def _snakemake(args: list[str], cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    if SNAKEMAKE is None:
        pytest.skip("snakemake is not installed (pip install -e '.[test]')")
    return subprocess.run([SNAKEMAKE, *args], cwd=cwd, capture_output=True, text=True, timeout=300,
                          env={**os.environ, **(env or {})})


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("profile")
    site_dir, resources = _compile(tmp, ROOT / "sites" / "example.yaml")
    workflow = tmp / "workflow"
    workflow.mkdir()
    (workflow / "Snakefile").write_text(SNAKEFILE)
    return site_dir, resources, workflow


def test_dry_run_accepts_profile(compiled):
    site_dir, _, workflow = compiled
    proc = _snakemake(["--profile", str(site_dir / "profile"), "--executor", "local", "--cores", "4", "-n"], workflow)
    assert proc.returncode == 0, proc.stderr
    assert "unlisted" in proc.stdout + proc.stderr


def test_local_run_sees_resources(compiled):
    site_dir, resources, workflow = compiled
    proc = _snakemake(["--profile", str(site_dir / "profile"), "--executor", "local", "--cores", "64",
                       "--resources", "mem_mb=100000000", "disk_mb=100000000"], workflow)
    assert proc.returncode == 0, proc.stderr
    for rule in RULES:
        seen = dict(item.split("=", 1) for item in (workflow / f"{rule}.txt").read_text().split())
        want = resources["rules"][rule]
        assert int(seen["threads"]) == want["cpus"]
        assert int(seen["cpus"]) == want["cpus"]
        assert int(seen["runtime"]) == want["time"]["minutes"]
        assert int(seen["mem_mb"]) == want["mem"]["mib"]
        assert seen["partition"] == want["partition"]
        assert seen["account"] == want["account"]
    unlisted = dict(item.split("=", 1) for item in (workflow / "unlisted.txt").read_text().split())
    assert int(unlisted["runtime"]) == resources["defaults"]["time"]["minutes"]
    assert int(unlisted["mem_mb"]) == resources["defaults"]["mem"]["mib"]
    assert unlisted["partition"] == resources["defaults"]["partition"]


def _fake_slurm(bin_dir: Path, log: Path) -> None:
    """sbatch records its argv and refuses the job (so Snakemake retries); the rest is inert."""
    bin_dir.mkdir()
    log.mkdir()
    # one file per call: the plugin submits from several threads at once
    (bin_dir / "sbatch").write_text('#!/bin/bash\n'
                                    f'printf "%s\\0" "$@" > "$(mktemp {shlex.quote(str(log))}/call.XXXXXX)"\n'
                                    'echo "sbatch: error: refused by test" >&2\nexit 1\n')
    (bin_dir / "sacctmgr").write_text("#!/bin/bash\necho mylab\n")
    for name in ("sacct", "squeue", "sinfo", "scontrol", "sshare", "scancel"):
        (bin_dir / name).write_text("#!/bin/bash\nexit 0\n")
    for path in bin_dir.iterdir():
        path.chmod(0o755)


def _submissions(log: Path) -> dict[tuple[str, int], list[str]]:
    """(rule, attempt) -> the sbatch arguments the plugin built from our resources."""
    calls = {}
    for path in sorted(log.iterdir()):
        args = [a for a in path.read_text().split("\0") if a]
        if not args:
            continue
        rule = next(a.split("rule_", 1)[1] for a in args if a.startswith("rule_"))
        wrap = next(a for a in args if a.startswith("--wrap="))
        attempt = int(re.search(r"--attempt (\d+)", wrap).group(1))
        start = args.index(next(a for a in args if a.startswith("rule_"))) + 1
        ours = [a for a in args[start:] if not a.startswith("--wrap=")]
        if "-D" in ours:
            del ours[ours.index("-D"):ours.index("-D") + 2]
        calls[(rule, attempt)] = ours
    return calls


def test_slurm_plugin_submits_resources_yaml(compiled, tmp_path):
    site_dir, resources, workflow = compiled
    log = tmp_path / "sbatch.args"
    _fake_slurm(tmp_path / "bin", log)
    env = {"PATH": f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}"}
    targets = [f"{rule}.txt" for rule in RULES]
    for target in targets:
        (workflow / target).unlink(missing_ok=True)
    proc = _snakemake(["--profile", str(site_dir / "profile"), "--slurm-init-seconds-before-status-checks", "1",
                       *targets], workflow, env)
    assert proc.returncode != 0  # every submission is refused by the fake sbatch
    calls = _submissions(log)
    attempts = resources["attempts"]
    assert attempts == 2
    for rule in RULES:
        want = resources["rules"][rule]
        for attempt in range(1, attempts + 1):
            expected = (want["attempts"][attempt - 1]["sbatch"] if "attempts" in want else want["sbatch"])
            assert calls[(rule, attempt)] == shlex.split(expected), (rule, attempt)
    # the retried attempt really grew: 2x memory, 1.5x time (example.yaml: test_model)
    first, second = resources["rules"]["test_model"]["attempts"]
    assert second["mem_mib"] == 2 * first["mem_mib"] and second["minutes"] == int(first["minutes"] * 1.5)


def test_retry_is_capped_at_partition_limit(tmp_path):
    spec = tmp_path / "capped.yaml"
    spec.write_text(
        "dvhpc: 1\nsite: capped\nslurm:\n  account: mylab\n  partitions:\n"
        "    cpu: {default: true, max_time: 3h, mem: 10G, cpus: 8}\n"
        "snakemake: {restart_times: 2}\n"
        "resources:\n  defaults: {cpus: 1, mem: 1G, time: 1h}\n"
        "  rules:\n    grow: {mem: 4G, time: 2h, retry: {mem: 2x, time: 2x}}\n"
    )
    site_dir, resources = _compile(tmp_path, spec)
    attempts = resources["rules"]["grow"]["attempts"]
    assert [a["mem_mib"] for a in attempts] == [4096, 8192, 10240]
    assert [a["minutes"] for a in attempts] == [120, 180, 180]
    assert attempts[2]["capped_at_partition_limit"] == ["mem", "time"]
    profile = YAML(typ="safe").load((site_dir / "profile" / "config.v9+.yaml").read_text())
    assert profile["set-resources"]["grow"]["mem_mb"] == "min(int(4096 * 2 ** (attempt - 1)), 10240)"
    # and Snakemake evaluates it to the same numbers
    workflow = tmp_path / "wf"
    workflow.mkdir()
    (workflow / "Snakefile").write_text(
        "rule grow:\n    output: 'o1.txt'\n    shell: 'echo {resources.mem_mb} {resources.runtime} > {output}'\n")
    log = tmp_path / "sbatch.args"
    _fake_slurm(tmp_path / "bin", log)
    env = {"PATH": f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}"}
    # the spec sets no snakemake.jobs: Snakemake has no default for remote execution, so the caller says
    _snakemake(["--profile", str(site_dir / "profile"), "--slurm-init-seconds-before-status-checks", "1", "--jobs", "1",
                "o1.txt"], workflow, env)
    calls = _submissions(log)
    for attempt in (1, 2, 3):
        args = calls[("grow", attempt)]
        assert args[args.index("--mem") + 1] == str(attempts[attempt - 1]["mem_mib"])
        assert args[args.index("-t") + 1] == str(attempts[attempt - 1]["minutes"])


def test_cluster_generic_profile_runs(tmp_path):
    """The sbatch-template profile: the submit command gets our values; status.sh answers."""
    spec = tmp_path / "generic.yaml"
    spec.write_text(
        "dvhpc: 1\nsite: generic\nslurm:\n  account: acc\n  accounting: false\n  gpu_flag: gres\n  partitions:\n"
        "    cpu: {default: true, max_time: 1d, mem: 10G, cpus: 8}\n"
        "    gpu: {max_time: 1d, mem: 10G, cpus: 8, gpus: {tgpu: 2}}\n"
        "snakemake: {executor: cluster-generic, jobs: 2, logdir: logs/slurm}\n"
        "resources:\n  defaults: {cpus: 1, mem: 1G, time: 10min}\n"
        "  rules:\n    g: {partition: gpu, gpus: 1, gpu_type: tgpu, cpus: 2, mem: 2G, time: 20min,\n"
        "        slurm_extra: [--exclusive]}\n"
    )
    site_dir, resources = _compile(tmp_path, spec)
    assert (site_dir / "profile" / "status.sh").stat().st_mode & 0o111
    workflow = tmp_path / "wf"
    workflow.mkdir()
    (workflow / "Snakefile").write_text(
        "rule all:\n    input: 'g.txt', 'c.txt'\n"
        "rule g:\n    output: 'g.txt'\n    shell: 'touch {output}'\n"
        "rule c:\n    output: 'c.txt'\n    shell: 'touch {output}'\n")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "sbatch.args"
    # a fake sbatch that runs the job script at once and reports a job id
    (bin_dir / "sbatch").write_text(
        f'#!/bin/bash\nprintf "%s " "$@" >> {shlex.quote(str(log))}; echo >> {shlex.quote(str(log))}\n'
        'script="${@: -1}"; bash "$script" > /dev/null 2>&1; echo $((RANDOM + 100))\n')
    (bin_dir / "squeue").write_text("#!/bin/bash\necho COMPLETED\n")
    (bin_dir / "scancel").write_text("#!/bin/bash\nexit 0\n")
    for path in bin_dir.iterdir():
        path.chmod(0o755)
    env = {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "DVHPC_RUN_ID": "testrun"}
    proc = _snakemake(["--profile", str(site_dir / "profile")], workflow, env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = log.read_text().splitlines()
    g_line = next(line for line in lines if "testrun-g " in line + " ")
    for flag in ("--parsable", "--partition=gpu", "--account=acc", "--cpus-per-task=2", "--mem=2048",
                 "--time=20", "--gres=gpu:tgpu:1", "--exclusive"):
        assert flag in g_line.split(), (flag, g_line)
    assert f"--output={workflow}/logs/slurm/g/%j.out" in g_line or "--output=logs/slurm/g/%j.out" in g_line
    assert (workflow / "logs" / "slurm" / "g").is_dir()
    c_line = next(line for line in lines if "testrun-c " in line + " ")
    assert "--partition=cpu" in c_line.split() and "--mem=1024" in c_line.split()


@pytest.mark.parametrize("state,word", [("COMPLETED", "success"), ("RUNNING", "running"), ("PENDING", "running"),
                                        ("FAILED", "failed"), ("TIMEOUT", "failed"), ("OUT_OF_MEMORY", "failed"),
                                        ("CANCELLED", "failed"), ("", "failed")])
def test_status_script_words(tmp_path, state, word):
    spec = tmp_path / "s.yaml"
    spec.write_text("dvhpc: 1\nsite: s\nslurm: {accounting: false, partitions: {cpu: {default: true}}}\n"
                    "snakemake: {executor: cluster-generic}\n")
    site_dir, _ = _compile(tmp_path, spec)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "squeue").write_text(f"#!/bin/bash\necho '{state}'\n")
    (bin_dir / "scontrol").write_text("#!/bin/bash\nexit 1\n")
    for path in bin_dir.iterdir():
        path.chmod(0o755)
    proc = subprocess.run([str(site_dir / "profile" / "status.sh"), "123"], capture_output=True, text=True,
                          env={**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"})
    assert proc.stdout == word + "\n"


NEW_KEYS = """\
dvhpc: 1
site: newkeys
slurm:
  account: mylab   # the fake sacctmgr knows this one
  gpu_flag: gpus
  partitions:
    cpu: {default: true, max_time: 1d, mem: 100G, cpus: 32}
    gpu: {max_time: 1d, mem: 200G, cpus: 32, gpus: {a100: 4}}
snakemake: {restart_times: 1, jobs: 4, keep_going: true}   # every rule is submitted, though each is refused
resources:
  rules:
    per_gpu: {partition: gpu, gpus: 2, gpu_type: a100, cpus_per_gpu: 8, mem: 32G, time: 2h}
    per_cpu: {cpus: 4, mem_per_cpu: 3G, time: 30min, retry: {mem_per_cpu: 2x}}
    unset: {partition: cpu}
"""


def test_slurm_plugin_submits_new_keys_and_leaves_unset_keys_to_the_engine(tmp_path):
    """cpus_per_gpu and mem_per_cpu (keys of the registry) are submitted exactly as resources.yaml
    says; for a rule that sets no cpus, mem or time, the plugin adds only what Snakemake itself
    supplies (--cpus-per-task from the rule's threads, --mem from its default mem_mb) and no --time:
    the words resources.yaml names under engine_defaults, and nothing dvhpc invented."""
    spec = tmp_path / "newkeys.yaml"
    spec.write_text(NEW_KEYS)
    site_dir, resources = _compile(tmp_path, spec)
    profile = YAML(typ="safe").load((site_dir / "profile" / "config.v9+.yaml").read_text())
    assert set(profile["default-resources"]) == {"slurm_partition", "slurm_account"}  # the spec's, nothing more
    # a rule lists them when they differ
    assert set(resources["defaults"]["engine_defaults"]) == {"cpus", "mem", "time"}
    assert "engine_defaults" not in resources["rules"]["unset"]
    workflow = tmp_path / "wf"
    workflow.mkdir()
    rules = ("per_gpu", "per_cpu", "unset")
    (workflow / "Snakefile").write_text("".join(f"rule {r}:\n    output: '{r}.txt'\n    shell: 'touch {{output}}'\n"
                                                for r in rules))
    log = tmp_path / "sbatch.args"
    _fake_slurm(tmp_path / "bin", log)
    env = {"PATH": f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}"}
    _snakemake(["--profile", str(site_dir / "profile"), "--slurm-init-seconds-before-status-checks", "1",
                *(f"{r}.txt" for r in rules)], workflow, env)
    calls = _submissions(log)
    for rule in ("per_gpu", "per_cpu"):
        want = resources["rules"][rule]
        for attempt in (1, 2):
            expected = want["attempts"][attempt - 1]["sbatch"] if "attempts" in want else want["sbatch"]
            assert calls[(rule, attempt)] == shlex.split(expected), (rule, attempt)
    assert "--cpus-per-gpu=8" in calls[("per_gpu", 1)] and "--mem-per-cpu" in calls[("per_cpu", 2)]
    submitted = calls[("unset", 1)]
    assert "-t" not in submitted and "--cpus-per-task=1" in submitted
    engine_words = ["--cpus-per-task=1", "--mem", submitted[submitted.index("--mem") + 1]]
    assert [w for w in submitted if w not in engine_words] == shlex.split(resources["rules"]["unset"]["sbatch"])
