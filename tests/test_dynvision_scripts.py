"""DynVision's own cluster scripts against the ones dvhpc generates from sites/dynvision-torch.yaml.

The fixture is DynVision's real package, `dynvision==0.1.0` (its wheel: `dynvision/cluster/` and
`dynvision/workflow/`), fetched with pip (or taken from $DVHPC_DYNVISION_WHEEL); without it the
tests skip and say why. Both sides run with the same stub programs on PATH (tests/stubs/stub.sh
records every call), and what each ran is compared:

- wrap.sh against executor_wrapper.sh: the `singularity` argv, and what the job command sees
  inside the container (variables, conda environment, its own argv);
- run.sh against snakecharm.sh (which starts _snakecharm.sh): every snakemake call, its argv and
  folder, the unlock before the run, and where the run's log goes.

DynVision's files are used unchanged except for their `<YOUR_...>` placeholders, filled from the
spec's values, and the in-container path /ext3/miniforge3 (on the overlay, which the stub does not
mount), moved to a folder of the test on both sides. The differences that remain are the ones the
README names as deliberate ("DynVision's cluster/ folder and dvhpc"); each is asserted as such.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
import yaml

from test_scripts import STUB, STUBS_ALL, SYSTEM_TOOLS, Env, compile_site

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "sites" / "dynvision-torch.yaml"
WHEEL = "dynvision==0.1.0"
# What DynVision's executor_wrapper.sh passes with --env (collect_env_vars), and what else a job sees.
PASSED = ("WORLD_SIZE", "RANK", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT", "USE_DISTRIBUTED",
          "CUDA_VISIBLE_DEVICES", "NCCL_DEBUG", "NCCL_SOCKET_IFNAME", "NCCL_TIMEOUT")
SEEN = PASSED + ("NCCL_IB_HCA", "PYTHONPATH", "CONDA_DEFAULT_ENV")
JOB = ["python", "train_model.py", "--model_name", "DyRCNNx4", "--config", "a b", "$HOME", ""]


@pytest.fixture(scope="session")
def dynvision(tmp_path_factory) -> Path:
    """The unpacked dynvision 0.1.0 wheel (its `dynvision/` package folder)."""
    folder = tmp_path_factory.mktemp("dynvision-wheel")
    wheel = os.environ.get("DVHPC_DYNVISION_WHEEL")
    if not wheel:
        proc = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
                               WHEEL, "-d", str(folder)], capture_output=True, text=True, timeout=120, check=False)
        found = sorted(folder.glob("dynvision-0.1.0-*.whl"))
        if proc.returncode != 0 or not found:
            last = (proc.stderr.strip().splitlines() or ["no wheel"])[-1]
            pytest.skip(f"cannot fetch {WHEEL} with pip ({last}); set DVHPC_DYNVISION_WHEEL to a downloaded wheel")
        wheel = str(found[0])
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(folder / "unpacked")
    package = folder / "unpacked" / "dynvision"
    assert (package / "cluster" / "executor_wrapper.sh").is_file(), "not the dynvision wheel"
    return package


@pytest.fixture(scope="session")
def sysbin(tmp_path_factory) -> Path:
    """The system tools of tests/test_scripts.py, alone in a folder for PATH."""
    folder = tmp_path_factory.mktemp("sysbin")
    for tool in SYSTEM_TOOLS:
        (folder / tool).symlink_to(shutil.which(tool))
    return folder


def _filled(text: str, values: dict[str, str]) -> str:
    """DynVision's text with its placeholders filled; every placeholder it has must be given."""
    for placeholder, value in values.items():
        assert placeholder in text, placeholder
        text = text.replace(placeholder, value)
    return text


def _fake_conda(root: Path) -> Path:
    """A conda installation at root/ext3/miniforge3 whose conda.sh defines a `conda` that records."""
    conda_root = root / "ext3" / "miniforge3"
    (conda_root / "etc" / "profile.d").mkdir(parents=True)
    (conda_root / "etc" / "profile.d" / "conda.sh").write_text(
        'conda() {\n'
        '  printf "conda-fn\\x1f%s\\n" "$*" >>"$STUB_LOG"\n'
        '  if [ "$1" = activate ]; then export CONDA_DEFAULT_ENV="$2"; fi\n'
        '}\n')
    return conda_root


def _probe(root: Path) -> Path:
    """The job command's stand-in: prints what it sees inside the container, then its arguments."""
    probe = root / "bin" / "python"
    probe.unlink(missing_ok=True)  # the stub's link: never write through it
    lines = ["#!/usr/bin/env bash", 'if [ "$*" = --version ]; then echo "Python 3.11.9"; exit 0; fi']
    lines += [f'if [ -n "${{{name}+x}}" ]; then echo "{name}=${{{name}}}"; else echo "{name} unset"; fi'
              for name in SEEN]
    lines.append('for a in "$@"; do echo "arg <$a>"; done')
    probe.write_text("\n".join(lines) + "\n")
    probe.chmod(0o755)
    return probe


def _seen(stdout: str) -> dict[str, str | None]:
    found: dict[str, str | None] = {}
    for line in stdout.splitlines():
        if line.endswith(" unset"):
            found[line[:-len(" unset")]] = None
        elif "=" in line and not line.startswith(("arg <", "[", "=", " ")) and line.split("=")[0] in SEEN:
            name, value = line.split("=", 1)
            found[name] = value
    return found


def _args(stdout: str) -> list[str]:
    return [line[len("arg <"):-1] for line in stdout.splitlines() if line.startswith("arg <")]


def _without_env(argv: list[str]) -> tuple[list[str], dict[str, str]]:
    """argv without its `--env NAME=VALUE` pairs, and those pairs."""
    rest, env = [], {}
    items = iter(argv)
    for item in items:
        if item == "--env":
            name, value = next(items).split("=", 1)
            env[name] = value
        else:
            rest.append(item)
    return rest, env


# Host environments of a job: what SLURM and setup_distributed_execution.sh leave for the wrapper.
SCENARIOS = {
    "single, no GPU variable": {},
    "single, SLURM's GPU": {"CUDA_VISIBLE_DEVICES": "3"},
    "distributed": {"WORLD_SIZE": "4", "RANK": "0", "LOCAL_RANK": "0", "MASTER_ADDR": "gv001", "MASTER_PORT": "12345",
                    "USE_DISTRIBUTED": "true", "CUDA_VISIBLE_DEVICES": "0,1,2,3", "NCCL_DEBUG": "INFO",
                    "NCCL_TIMEOUT": "1800", "NCCL_SOCKET_IFNAME": "ib0", "NCCL_IB_HCA": "mlx5_0:1"},
    "a rank without a world size": {"RANK": "2"},
}


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_wrap_runs_what_executor_wrapper_runs(dynvision, tmp_path, sysbin, scenario):
    spec = SPEC.read_text(encoding="utf-8")
    conda_root = _fake_conda(tmp_path)
    spec = spec.replace("conda_root: /ext3/miniforge3", f"conda_root: {conda_root}", 1)
    site, out = compile_site(tmp_path / "dvhpc", spec)
    container = site.environment.container
    env = Env(tmp_path, sysbin, USER="tester")
    _probe(tmp_path)
    (env.bin / "basename").symlink_to(shutil.which("basename"))  # executor_wrapper.sh names itself
    # the wrapper, its placeholders filled from the spec's values (${USER} as the job sees it)
    overlay = container.overlays[0].text.replace("${USER}", "tester")
    wrapper = tmp_path / "executor_wrapper.sh"
    wrapper.write_text(_filled((dynvision / "cluster" / "executor_wrapper.sh").read_text(), {
        "<YOUR_CONTAINER_IMAGE_PATH>": container.image.text,
        "<YOUR_CONDA_ENV>": container.conda.text,
        "<YOUR_OVERLAY_PATH>/rva.ext3:ro": overlay,
        "/ext3/miniforge3": str(conda_root),
    }))
    # the image's environment sets PYTHONPATH (what /ext3/env.sh did); both must remove it
    host = {**SCENARIOS[scenario], "SINGULARITYENV_PYTHONPATH": "/ext3/broken"}

    theirs = env.run(["bash", str(wrapper), *JOB], **host)
    assert theirs.returncode == 0, theirs.stderr
    their_call = env.calls("singularity")[-1]
    ours = env.run([str(out / "wrap.sh"), *JOB], **host)
    assert ours.returncode == 0, ours.stderr
    our_call = env.calls("singularity")[-1]

    # argv: the same options, overlays and image; variables go by SINGULARITYENV_ instead of --env
    their_argv, their_env = _without_env(their_call[1:])
    image = their_argv.index(container.image.text)
    assert our_call[1:image + 3] == their_argv[:image + 2]  # exec --nv --overlay x4 IMAGE bash -c
    assert our_call[1:image + 2] == ["exec", "--nv", *[a for o in container.overlays for a in
                                                         ("--overlay", o.text.replace("${USER}", "tester"))],
                                     container.image.text]
    # the job command reaches both unchanged, after their own in-container script
    assert their_argv[image + 4:] == ["--", *JOB]
    assert our_call[image + 5:] == ["wrap", str(conda_root), "rva", "1", "PYTHONPATH", *JOB]
    assert _args(ours.stdout) == _args(theirs.stdout) == JOB[1:]

    # what the job sees inside: the same values; PYTHONPATH removed and rva active on both sides
    seen_theirs, seen_ours = _seen(theirs.stdout), _seen(ours.stdout)
    assert seen_ours["PYTHONPATH"] is None and seen_theirs["PYTHONPATH"] is None
    assert seen_ours["CONDA_DEFAULT_ENV"] == seen_theirs["CONDA_DEFAULT_ENV"] == "rva"
    assert ["conda-fn", "activate rva"] in env.calls("conda-fn")
    assert set(their_env) == set(PASSED)  # executor_wrapper passes every one, set or not
    differences = {name: (seen_theirs[name], seen_ours[name]) for name in SEEN
                   if seen_theirs[name] != seen_ours[name]}
    # deliberate: (1) a variable the job does not have stays unset (executor_wrapper passed NAME=);
    # (2) NCCL_* passes every NCCL variable (executor_wrapper: three of them);
    # (3) defaults fill in per variable: executor_wrapper reset RANK and LOCAL_RANK to 0 whenever
    #     WORLD_SIZE <= 1 and USE_DISTRIBUTED != true, even when the job set them.
    expected = {name: ("", None) for name in PASSED if name not in host and name not in container.defaults}
    if "NCCL_IB_HCA" in host:
        expected["NCCL_IB_HCA"] = (None, host["NCCL_IB_HCA"])
    if scenario == "a rank without a world size":
        expected["RANK"] = ("0", "2")
    assert differences == expected, (differences, expected)


def _wait_for(path_glob, text: str, count: int = 1, timeout: float = 20) -> Path:
    """The log that holds `text` `count` times (a background run's end), waiting up to `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for path in path_glob():
            if path.read_text(errors="replace").count(text) >= count:
                return path
        time.sleep(0.05)
    raise AssertionError(f"no log with {text!r}")


def _snakemake_calls(log_text: str, calls: list[list[str]]) -> list[tuple[str, list[str]]]:
    """(folder, argv) of each snakemake call that ran a workflow, from the stub's output in the log,
    in order; the `--version` calls print no folder."""
    folders = [line[len("stub snakemake: in "):] for line in log_text.splitlines()
               if line.startswith("stub snakemake: in ")]
    runs = [call[1:] for call in calls if call[1:] != ["--version"]]
    assert len(folders) == len(runs), (folders, runs)
    return list(zip(folders, runs, strict=True))


def test_run_runs_what_snakecharm_runs(dynvision, tmp_path, sysbin, dvhpc_main):
    user_args = ["-j100", "all_experiments", "--config", "model_name=DyRCNNx4", "data_name=cifar100"]

    # DynVision: its package where project_paths.py puts it on the cluster (~/DynVision/dynvision),
    # snakecharm.sh unchanged, _snakecharm.sh with its placeholders filled from the spec.
    site, _ = compile_site(tmp_path / "dvhpc", SPEC.read_text(encoding="utf-8"))
    code, _, err = dvhpc_main("compile", str(SPEC), "--out", str(tmp_path / "generated"), cwd=ROOT)
    assert code == 0, err
    out = tmp_path / "generated" / "dynvision-torch"
    env = Env(tmp_path, sysbin, USER="tester", STUB_SNAKEMAKE_VERSION="9.1.5")  # the version DynVision pins
    home = Path(env.vars["HOME"])
    package = home / "DynVision" / "dynvision"
    shutil.copytree(dynvision, package)
    (home / ".bashrc").write_text("")
    charm = package / "cluster" / "_snakecharm.sh"
    charm.write_text(_filled(charm.read_text(), {
        "<YOUR_CONDA_MODULE>": site.environment.module_load[0],
        "<YOUR_SNAKEMAKE_ENV>": site.environment.conda.text.replace("${USER}", "tester"),
    }))
    # project_paths.py asks `hostname` whether this is the cluster, and runs python3 itself
    theirs_bin = tmp_path / "theirs-bin"
    theirs_bin.mkdir()
    for name in ("snakemake", "module", "conda"):
        (theirs_bin / name).symlink_to(STUB)
    (theirs_bin / "hostname").write_text("#!/bin/sh\necho log-1.hpc.example.edu\n")
    (theirs_bin / "hostname").chmod(0o755)
    (theirs_bin / "python3").symlink_to(shutil.which("python3", path="/usr/bin:/bin") or sys.executable)
    cluster = package / "cluster"
    proc = env.run(["bash", str(cluster / "snakecharm.sh"), *user_args], cwd=cluster,
                   PATH=f"{theirs_bin}:{sysbin}")
    assert proc.returncode == 0, proc.stderr
    slurm_logdir = home / "DynVision_Working" / "logs" / "slurm"
    their_log = _wait_for(lambda: slurm_logdir.glob("snakecharm_*.log"), "Snakecharm ended!")  # its last line
    their_calls = [c for c in env.calls("snakemake")]
    env.log.unlink()

    # dvhpc: the generated run.sh, started from anywhere
    proc = env.run([str(out / "run.sh"), *user_args], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "running workflow with snakemake version 9.1.5" in proc.stdout
    our_log = _wait_for(lambda: (home / "DynVision_Working" / "logs" / "runs").glob("snakecharm_*.log"),
                        "stub snakemake: done", count=2)  # the unlock's, then the run's
    our_calls = env.calls("snakemake")

    theirs = _snakemake_calls(their_log.read_text(), their_calls)
    ours = _snakemake_calls(our_log.read_text(), our_calls)
    workflow = str(package / "workflow")
    profile = str(out / "profile")
    # the same folder (the workflow's), the unlock first, then the run
    assert [folder for folder, _ in theirs] == [folder for folder, _ in ours] == [workflow, workflow]
    assert theirs[0][1] == ["--unlock", "--cores=1"]
    assert ours[0][1] == ["--unlock", "--cores=1", "--profile", profile, "--snakefile", f"{workflow}/Snakefile"]
    # the run: the user's arguments unchanged; DynVision's command-line extras are in dvhpc's profile
    assert theirs[1][1] == [*user_args, "--profile", str(cluster / "profiles" / "slurm"), "--latency-wait", "90",
                            "--resources", "disk_mb=300000"]
    assert ours[1][1][:4] == ["--profile", profile, "--snakefile", f"{workflow}/Snakefile"]
    assert ours[1][1][4] == "--slurm-jobname-prefix" and ours[1][1][6:] == user_args
    generated = yaml.safe_load((out / "profile" / "config.v9+.yaml").read_text())
    assert generated["latency-wait"] == 90 and generated["resources"] == {"disk_mb": 300000}
    # Snakemake's version was printed before the run, on both sides (bootstrap.sh asks too)
    assert their_calls.index(["snakemake", "--version"]) < their_calls.index(["snakemake", "--unlock", "--cores=1"])
    version_calls = [i for i, c in enumerate(our_calls) if c == ["snakemake", "--version"]]
    assert version_calls and version_calls[-1] < our_calls.index(["snakemake", *ours[0][1]])
    # the log: snakecharm.sh's sits in the slurm plugin's log folder (its clean-up deletes it);
    # run.sh's in its own folder next to it
    assert their_log.parent == slurm_logdir
    expanded_logdir = generated["slurm-logdir"].replace("${HOME}", str(home))
    assert expanded_logdir == str(slurm_logdir)
    assert our_log.parent == home / "DynVision_Working" / "logs" / "runs"
    assert not str(our_log).startswith(expanded_logdir + "/")
    assert their_log.name == "snakecharm_" + " ".join(user_args) + ".log"
    assert our_log.name.startswith("snakecharm_-j100_all_experiments_--config_model_name=DyRCNNx4_data_name=cifar100_")


def test_placeholders_the_torch_spec_fills_are_the_wheels(dynvision):
    """Every <YOUR_...> placeholder of DynVision's cluster files has a FILL IN note in the spec."""
    import re

    spec = SPEC.read_text(encoding="utf-8")
    placeholders = set()
    for path in (dynvision / "cluster").rglob("*"):
        if path.is_file() and path.name != "README.md":
            placeholders |= set(re.findall(r"<(?:YOUR_[A-Z_]+|GPU_TYPE)>", path.read_text()))
    assert placeholders == {"<YOUR_PROJECT_PATH>", "<YOUR_SLURM_ACCOUNT>", "<YOUR_OVERLAY_PATH>",
                            "<YOUR_CONTAINER_IMAGE_PATH>", "<YOUR_CONDA_MODULE>", "<YOUR_SNAKEMAKE_ENV>",
                            "<YOUR_CONDA_ENV>", "<GPU_TYPE>"}
    for placeholder in placeholders - {"<YOUR_PROJECT_PATH>"}:  # the project path: from project_paths.py
        assert re.search(r"FILL IN: " + re.escape(placeholder), spec), placeholder
    assert "<YOUR_PROJECT_PATH>/logs/slurm (0.1.0 profile)" in spec
    assert STUBS_ALL  # the stub set the other tests use is the one these tests link


# ---------------------------------------------------------------------------------------- run.sh's own parts

RUNNER = """\
dvhpc: 1
site: runner
slurm: {accounting: false}
snakemake:
  logdir: "${JOBLOGS}/logs"
  run_logdir: "${RUNLOGS}/logs/runs"
  snakefile: "${WF}/workflow/Snakefile"
  unlock_first: true
"""


def test_run_checks_the_real_log_folders_the_unlock_and_the_snakefile(tmp_path, sysbin):
    """What compile cannot see from the text, run.sh checks before Snakemake starts."""
    _, out = compile_site(tmp_path / "c", RUNNER)
    env = Env(tmp_path, sysbin, JOBLOGS=str(tmp_path / "j"), RUNLOGS=str(tmp_path / "r"), WF=str(tmp_path / "wf"))
    proc = env.run([str(out / "run.sh"), "--foreground", "all"])
    assert proc.returncode == 1 and f"no Snakefile at {tmp_path}/wf/workflow/Snakefile" in proc.stderr
    (tmp_path / "wf" / "workflow").mkdir(parents=True)
    (tmp_path / "wf" / "workflow" / "Snakefile").write_text("")
    # two variables with one value: the run logs would be inside the slurm plugin's log folder
    proc = env.run([str(out / "run.sh"), "--foreground", "all"], RUNLOGS=str(tmp_path / "j"))
    assert proc.returncode == 1 and "is inside" in proc.stderr and "snakemake.run_logdir" in proc.stderr
    assert [c for c in env.calls("snakemake") if c[1:] != ["--version"]] == []
    # a failing unlock stops the run
    proc = env.run([str(out / "run.sh"), "--foreground", "all"], STUB_SNAKEMAKE_EXIT="3")
    assert proc.returncode == 1 and "snakemake --unlock failed (exit 3)" in proc.stderr
    runs = [c[1:] for c in env.calls("snakemake") if c[1:] != ["--version"]]
    assert runs == [["--unlock", "--cores=1", "--profile", str(out / "profile"),
                     "--snakefile", f"{tmp_path}/wf/workflow/Snakefile"]]
    # and a good one: unlock, then the run, both in the workflow's folder
    proc = env.run([str(out / "run.sh"), "--foreground", "all"])
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count(f"stub snakemake: in {tmp_path}/wf/workflow") == 2
    assert [c[1] for c in env.calls("snakemake") if c[1:] != ["--version"]][-2:] == ["--unlock", "--profile"]
    logs = sorted((tmp_path / "r" / "logs" / "runs").glob("snakecharm_all_*.log"))
    assert len(logs) == 2  # the failed unlock's log says why
    assert sum("snakemake --unlock failed (exit 3)" in log.read_text() for log in logs) == 1


@pytest.mark.parametrize("logdir, run_logdir, refused", [
    ("logs/slurm", "logs/slurm", True),
    ("logs/slurm", "./logs//slurm/runs/", True),
    ("logs", "logs/runs", True),
    ("logs/slurm", "logs/runs", False),
    ("logs/slurm", "logs/slurm/../runs", False),
    ("~/x/logs", "${HOME}/x/logs/runs", True),
    ("$SCRATCH/logs", "${SCRATCH}/logs/run", True),
    ("${A}/logs", "${B}/logs/runs", False),  # run time decides (run.sh checks)
    ("/abs/logs", "logs/runs", False),
    ("${A}/../logs", "${A}/../logs/runs", False),  # `..` after a variable: undecided
])
def test_compile_refuses_run_logs_inside_the_slurm_logdir(tmp_path, logdir, run_logdir, refused):
    from dvhpc.pipeline import check

    (tmp_path / "s.yaml").write_text(f"dvhpc: 1\nsite: s\nslurm: {{accounting: false}}\n"
                                     f"snakemake:\n  logdir: '{logdir}'\n  run_logdir: '{run_logdir}'\n")
    checked = check(str(tmp_path / "s.yaml"))
    found = [d for d in checked.report.items if d.code == "DV380"]
    assert bool(found) == refused, [d.message for d in checked.report.items]
    if refused:
        assert (found[0].location.line, found[0].location.column) == (6, 15)  # at run_logdir's value


def test_the_default_run_logdir_is_refused_at_logdir(tmp_path):
    from dvhpc.pipeline import check

    (tmp_path / "s.yaml").write_text("dvhpc: 1\nsite: s\nslurm: {accounting: false}\nsnakemake:\n  logdir: logs\n")
    found = [d for d in check(str(tmp_path / "s.yaml")).report.items if d.code == "DV380"]
    assert len(found) == 1 and found[0].location.line == 5 and "default snakemake.run_logdir" in found[0].message
    (tmp_path / "s.yaml").write_text("dvhpc: 1\nsite: s\nslurm: {accounting: false}\n"
                                     "snakemake: {executor: cluster-generic, logdir: logs}\n")
    assert not [d for d in check(str(tmp_path / "s.yaml")).report.items if d.code == "DV380"]
