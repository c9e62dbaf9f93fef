"""bootstrap.sh, run.sh, jobs.sh and wrap.sh: generated, linted, and run against stub programs.

The scripts are compiled from specs with `dvhpc.pipeline.check` and `dvhpc.emit.scripts.files`,
then run with bash. Cluster and environment programs (module, conda, python, snakemake, SLURM
commands, apptainer) are one stub, tests/stubs/stub.sh, linked under their names into a folder
on PATH; the stub records every call. PATH holds nothing else but a few system tools, so a
program a test leaves out is really missing.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dvhpc.emit import scripts
from dvhpc.pipeline import check

ROOT = Path(__file__).resolve().parent.parent
STUB = ROOT / "tests" / "stubs" / "stub.sh"
SHELLCHECK = shutil.which("shellcheck", path=str(Path(sys.executable).parent)) or shutil.which("shellcheck")
SYSTEM_TOOLS = ("bash", "env", "dirname", "date", "tr", "mkdir", "tee", "nohup", "cat", "sleep", "find", "tail",
                "id", "touch", "rm", "ls", "head", "sort", "chmod", "grep", "printf", "true")
STUBS_ALL = ("module", "conda", "python", "python3", "snakemake", "sbatch", "squeue", "sacct", "sstat", "sinfo",
             "scontrol", "apptainer", "singularity")


FULL = """\
dvhpc: 1
site: full
detect: {env: {SLURM_JOB_ID: "*"}}
slurm:
  accounting: true
  partitions: {cpu: {default: true, max_time: 1d, cpus: 8, mem: 16G}}
snakemake: {executor: slurm, logdir: logs/slurm}
environment:
  modules: {purge: true, load: [anaconda3/2025.06, cuda/12.1]}
  conda: snake-env
  variables: {WANDB_DIR: "${SCRATCH}/wandb", CACHE_DIR: "${WANDB_DIR}/cache", PLAIN_HOME: "~/x y"}
  require: {python: ">=3.11", snakemake: ">=9.19,<10", plugins: [slurm, cluster-generic]}
  container:
    engine: apptainer
    image: /images/cuda.sif
    gpu: true
    conda: inner-env
    pass_env: [CUDA_VISIBLE_DEVICES, RANK]
"""

PLAIN = """\
dvhpc: 1
site: plain
slurm: {accounting: false}
snakemake: {executor: cluster-generic, logdir: "${WORK}/logs", run_logdir: "${WORK}/logs"}
environment:
  venv: ${HOME}/venvs/snake
  workdir: ${WORK}
  require: {python: ">=3.11"}
"""

LISTS = """\
dvhpc: 1
site: lists
environment:
  modules: {use: ["${HOME}/modulefiles", "/opt/mods"], load: [gcc]}
  container:
    engine: singularity
    image: "${SCRATCH}/img.sif"
    overlays: ["${SCRATCH}/env.ext3:ro", "/o 2.ext3"]
    binds: [/datasets, "/a b:/b"]
"""

# Text that would run a command if it reached the shell or Python unquoted, but has no `$(`
# (refused by the resolver), no braces (references) and no control characters (schema).
PAYLOAD = "a`touch MARKER`b\"; touch MARKER; \"c'd\\e f;|&!<>#*?[x]%s ~ '''\"\"\" MARKER"


# ---------------------------------------------------------------------------------------- helpers


def compile_site(folder: Path, spec_text: str | None = None, repo_spec: str | None = None):
    """Check a spec (YAML text written to folder/spec.yaml, or a spec of the repository) and
    write the scripts to folder/site (with an empty profile/). Returns (site, site folder)."""
    folder.mkdir(parents=True, exist_ok=True)
    here = os.getcwd()
    if spec_text is not None:
        (folder / "spec.yaml").write_text(spec_text)
        os.chdir(folder)
        spec = "spec.yaml"
    else:
        os.chdir(ROOT)
        spec = repo_spec
    try:
        checked = check(spec)
        assert checked.ok, [f"{d.code} {d.message}" for d in checked.report.items]
        generated = scripts.files(checked.site)
    finally:
        os.chdir(here)
    out = folder / "site"
    (out / "profile").mkdir(parents=True, exist_ok=True)
    for name, item in generated.items():
        (out / name).write_text(item.content)
        (out / name).chmod(0o755 if item.executable else 0o644)
    return checked.site, Path(os.path.realpath(out))


@pytest.fixture(scope="session")
def sysbin(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("sysbin")
    for tool in SYSTEM_TOOLS:
        found = shutil.which(tool)
        assert found, f"{tool} is needed by the tests"
        (folder / tool).symlink_to(found)
    return folder


class Env:
    """A PATH with the chosen stubs and system tools, a HOME, and the stub's call log."""

    def __init__(self, root: Path, sysbin: Path, stubs=STUBS_ALL, **extra: str):
        self.root = root
        self.bin = root / "bin"
        self.bin.mkdir(parents=True, exist_ok=True)
        for name in stubs:
            (self.bin / name).symlink_to(STUB)
        self.log = root / "calls.log"
        home = root / "home"
        home.mkdir(exist_ok=True)
        self.vars = {"PATH": f"{self.bin}:{sysbin}", "HOME": str(home), "USER": "tester", "LC_ALL": "C",
                     "STUB_LOG": str(self.log), "SCRATCH": str(root / "scratch"), **extra}

    def run(self, args, cwd: Path | None = None, timeout: float = 20, **extra: str) -> subprocess.CompletedProcess:
        env = {**self.vars, **extra}
        env = {k: v for k, v in env.items() if v is not None}
        return subprocess.run(args, cwd=cwd or self.root, env=env, capture_output=True, text=True, timeout=timeout)

    def bash(self, code: str, *args: str, **kw) -> subprocess.CompletedProcess:
        return self.run(["bash", "-c", code, "bash", *args], **kw)

    def calls(self, name: str | None = None) -> list[list[str]]:
        if not self.log.exists():
            return []
        rows = [line.split("\x1f") for line in self.log.read_text().splitlines()]
        return [r for r in rows if name is None or r[0] == name]


def sanitised(args: list[str]) -> str:
    """What run.sh makes of its arguments for the log name (bytewise, like `LC_ALL=C tr`)."""
    raw = " ".join(args).replace("/", "-").encode()
    return "".join(chr(b) if re.fullmatch(rb"[A-Za-z0-9._=-]", bytes([b])) else "_" for b in raw)[:100]


def no_marker(root: Path) -> None:
    found = [p for p in root.rglob("MARKER")]
    assert not found, f"injected command ran: {found}"


# ---------------------------------------------------------------------------------------- generation


def test_files_deterministic_relative_and_executable(tmp_path):
    site, out = compile_site(tmp_path / "a", FULL)
    _, out2 = compile_site(tmp_path / "b", FULL)
    names = sorted(p.name for p in out.iterdir() if p.is_file())
    assert names == ["bootstrap.sh", "jobs.sh", "run.sh", "wrap.sh"]
    for name in names:
        text = (out / name).read_text()
        assert text == (out2 / name).read_text()
        assert text.startswith("#!/usr/bin/env bash\n# Generated by dvhpc from spec.yaml (site 'full')")
        assert str(tmp_path) not in text and str(ROOT) not in text
        assert os.access(out / name, os.X_OK)
    _, plain = compile_site(tmp_path / "c", PLAIN)
    assert not (plain / "wrap.sh").exists()  # no container, no wrapper


SPECS = {
    "full": dict(spec_text=FULL),
    "plain": dict(spec_text=PLAIN),
    "payload": dict(spec_text=None),  # filled below
    "example": dict(repo_spec="sites/example.yaml"),
    "greene": dict(repo_spec="sites/dynvision-greene.yaml"),
    "lists": dict(spec_text=LISTS),
}


def payload_spec(root: str = "${INJ_ROOT}") -> str:
    p = json.dumps(PAYLOAD)
    return f"""\
dvhpc: 1
site: inject
detect: {{env: {{INJ_DETECT: {p}}}, hostnames: [{p}]}}
slurm: {{accounting: false}}
snakemake: {{logdir: {p}, run_logdir: {json.dumps(PAYLOAD + "-runs")}}}
environment:
  conda: {p}
  workdir: {json.dumps(root + "/" + PAYLOAD)}
  variables: {{INJ_DIR: {p}, INJ_HOME: {json.dumps("~/" + PAYLOAD)}}}
  container: {{image: {p}, conda: {p}, pass_env: [INJ_PASS], unset: [INJ_UNSET], defaults: {{INJ_DEF_DIR: {p}}}}}
paths: {{p1: {p}, p2: {{cluster: {json.dumps("{p1}/" + PAYLOAD)}, local: {json.dumps("~/" + PAYLOAD)}}}}}
datasets: {{root: "{{p1}}", mounted: {{ds: {{path: {p}, subsets: {{s: x}}}}}}}}
settings: {{s1: {p}, s2: {{cluster: {p}, local: {p}}}}}
"""


SPECS["payload"] = dict(spec_text=payload_spec())


@pytest.mark.parametrize("variant", [
    "full", "plain", "payload",
    "example", "greene", "lists",
])
@pytest.mark.shellcheck
def test_bash_n_and_shellcheck_clean(tmp_path, variant):
    _, out = compile_site(tmp_path, **SPECS[variant])
    files = sorted(str(p) for p in out.glob("*.sh"))
    assert files
    for file in files:
        proc = subprocess.run(["bash", "-n", file], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
    proc = subprocess.run([str(SHELLCHECK), "--shell=bash", *files], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.shellcheck
def test_stub_is_shellcheck_clean():
    proc = subprocess.run([str(SHELLCHECK), str(STUB)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout


# ---------------------------------------------------------------------------------------- bootstrap.sh


SHOW = ('source "$1/bootstrap.sh"; echo "rc=$?"; '
        'printf "site=%s|wandb=%s|cache=%s|plain=%s|conda=%s\\n" "$DVHPC_SITE" "$WANDB_DIR" "$CACHE_DIR" "$PLAIN_HOME" '
        '"${CONDA_DEFAULT_ENV:-}"; '
        'declare -F | grep -c _dvhpc_ || true; case $- in *e*) echo errexit;; esac; echo still-alive')


def test_bootstrap_sets_up_and_checks(tmp_path, sysbin):
    site, out = compile_site(tmp_path, FULL)
    env = Env(tmp_path, sysbin)
    proc = env.bash(SHOW, str(out))
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "rc=0", proc.stderr
    scratch, home = env.vars["SCRATCH"], env.vars["HOME"]
    assert lines[1] == f"site=full|wandb={scratch}/wandb|cache={scratch}/wandb/cache|plain={home}/x y|conda=snake-env"
    assert lines[2] == "0"  # no helper functions left in the caller's shell
    assert lines[3:] == ["still-alive"]
    assert "dvhpc bootstrap:" not in proc.stderr

    calls = env.calls()
    modules = [c[1:] for c in calls if c[0] == "module"]
    assert modules == [["purge"], ["load", "anaconda3/2025.06"], ["load", "cuda/12.1"]]
    conda = [c for c in calls if c[0] in ("conda", "conda-fn")]
    assert conda == [["conda", "shell.bash", "hook"], ["conda-fn", "activate", "snake-env"]]
    order = [c[0] for c in calls]
    assert order.index("module") < order.index("conda")  # modules first (they may provide conda)
    imports = sorted(c[2] for c in calls if c[0] == "python3" and c[2].startswith("import snakemake"))
    assert imports == ["import snakemake_executor_plugin_cluster_generic", "import snakemake_executor_plugin_slurm"]
    assert ["snakemake", "--version"] in calls


def test_bootstrap_failures_are_all_reported_and_never_kill_the_caller(tmp_path, sysbin):
    _, out = compile_site(tmp_path, FULL)
    present = [s for s in STUBS_ALL if s not in ("module", "sbatch", "sacct")]
    env = Env(tmp_path, sysbin, stubs=present, STUB_PYTHON_VERSION="3.9.7", STUB_SNAKEMAKE_VERSION="10.0.1",
              STUB_MISSING_MODULES="snakemake_executor_plugin_slurm", STUB_CONDA_MISSING="snake-env")
    del env.vars["SCRATCH"]
    proc = env.bash(SHOW, str(out))
    assert proc.returncode == 0
    lines = proc.stdout.splitlines()
    assert lines[0] == "rc=1"
    assert lines[-1] == "still-alive" and "errexit" not in lines
    assert lines[2] == "0"
    errors = [line for line in proc.stderr.splitlines() if line.startswith("dvhpc bootstrap:")]
    text = "\n".join(errors)
    expected = [
        "the 'module' command is not available",
        "cannot activate the conda environment snake-env (environment.conda)",
        "environment.variables.WANDB_DIR needs ${SCRATCH}, which is not set",
        "environment.variables.CACHE_DIR needs ${WANDB_DIR}, which is not set",
        "python 3.9.7 does not satisfy >=3.11 (environment.require.python)",
        "snakemake 10.0.1 does not satisfy >=9.19,<10",
        "executor plugin slurm is not installed",
        "pip install snakemake-executor-plugin-slurm",
        "sbatch is not on PATH",
        "sacct is not on PATH",
        "slurm.accounting: false",
        "problem(s) found",
    ]
    for fragment in expected:
        assert fragment in text, f"missing {fragment!r} in:\n{text}"
    assert "cluster_generic" not in text  # that plugin is installed
    assert "squeue is not on PATH" not in text

    # With `set -e` in the caller, a failed bootstrap is a status to test, not an exit.
    proc = env.bash('set -e; source "$1/bootstrap.sh" || echo "failed=$?"; echo still-alive', str(out))
    assert proc.stdout.splitlines() == ["failed=1", "still-alive"]
    # Executed instead of sourced: the exit status says it.
    proc = env.run(["bash", str(out / "bootstrap.sh")])
    assert proc.returncode == 1
    # DVHPC_SKIP_CHECKS=1 skips the checks (the set-up problems still count).
    proc = env.bash('source "$1/bootstrap.sh"; echo "rc=$?"', str(out), DVHPC_SKIP_CHECKS="1", SCRATCH="/s")
    assert "python 3.9.7" not in proc.stderr and "sbatch" not in proc.stderr
    assert "skipping the checks" in proc.stderr
    assert proc.stdout.strip() == "rc=1"  # module and conda still fail


def test_bootstrap_under_set_u_and_skip_checks(tmp_path, sysbin):
    _, out = compile_site(tmp_path, FULL)
    env = Env(tmp_path, sysbin, stubs=("module", "conda"))
    code = ('set -u; source "$1/bootstrap.sh"; echo "rc=$? $WANDB_DIR $CONDA_DEFAULT_ENV"; '
            'case $- in *u*) echo nounset;; esac')
    proc = env.bash(code, str(out), DVHPC_SKIP_CHECKS="1")
    assert proc.stdout.splitlines() == [f"rc=0 {env.vars['SCRATCH']}/wandb snake-env", "nounset"], proc.stderr


@pytest.mark.parametrize("version, spec, ok", [
    ("3.11.0", ">=3.11", True),
    ("3.10.12", ">=3.11", False),
    ("3.12.1", ">=3.11, <3.12", False),
    ("3.11.9", ">=3.11,<3.12", True),
    ("3.11.4", "==3.11", True),
    ("3.12.0", "==3.11", False),
    ("3.11.4", "!=3.11", False),
    ("3.12.4", "~=3.10", True),
    ("4.0.0", "~=3.10", False),
    ("3.9.18", "3.9", True),
    ("3.10.0", ">3.9", True),
    ("3.9.0", "<=3.9", True),
])
def test_bootstrap_python_version_comparison(tmp_path, sysbin, version, spec, ok):
    text = f"dvhpc: 1\nsite: v\nenvironment: {{require: {{python: {json.dumps(spec)}}}}}\n"
    _, out = compile_site(tmp_path, text)
    env = Env(tmp_path, sysbin, STUB_PYTHON_VERSION=version)
    proc = env.bash('source "$1/bootstrap.sh"; echo "rc=$?"', str(out))
    assert proc.stdout.strip() == ("rc=0" if ok else "rc=1"), proc.stderr
    assert ("does not satisfy" in proc.stderr) is (not ok)


def test_bootstrap_venv_and_missing_conda(tmp_path, sysbin):
    _, out = compile_site(tmp_path, PLAIN)
    env = Env(tmp_path, sysbin)
    proc = env.bash('source "$1/bootstrap.sh"; echo "rc=$?"', str(out))
    assert "rc=1" in proc.stdout
    assert f"no virtual environment at {env.vars['HOME']}/venvs/snake (environment.venv)" in proc.stderr
    activate = Path(env.vars["HOME"]) / "venvs" / "snake" / "bin" / "activate"
    activate.parent.mkdir(parents=True)
    activate.write_text('export VIRTUAL_ENV="$HOME/venvs/snake"\n')
    proc = env.bash('source "$1/bootstrap.sh"; echo "rc=$? $VIRTUAL_ENV"', str(out))
    assert proc.stdout.strip() == f"rc=0 {env.vars['HOME']}/venvs/snake", proc.stderr
    assert not env.calls("sacct")  # accounting: false needs no sacct

    _, full = compile_site(tmp_path / "full", FULL)
    env2 = Env(tmp_path / "e2", sysbin, stubs=[s for s in STUBS_ALL if s != "conda"])
    proc = env2.bash('source "$1/bootstrap.sh"; echo "rc=$?"', str(full))
    assert "rc=1" in proc.stdout and "dvhpc bootstrap: conda is not available" in proc.stderr


def test_bootstrap_module_use(tmp_path, sysbin):
    _, out = compile_site(tmp_path, LISTS)
    env = Env(tmp_path, sysbin, STUB_MODULE_FAIL="gcc")
    proc = env.bash('source "$1/bootstrap.sh"; echo "rc=$?"', str(out))
    assert [c[1:] for c in env.calls("module")] == [
        ["use", f"{env.vars['HOME']}/modulefiles"], ["use", "/opt/mods"], ["load", "gcc"]]
    assert "rc=1" in proc.stdout and "module load gcc" in proc.stderr


# ---------------------------------------------------------------------------------------- run.sh


def test_run_foreground_passes_arguments_verbatim_and_returns_the_exit_code(tmp_path, sysbin):
    _, out = compile_site(tmp_path, FULL)
    env = Env(tmp_path, sysbin, STUB_SNAKEMAKE_EXIT="7")
    work = tmp_path / "work"
    work.mkdir()
    args = ["--config", "model name=x y", "--forcerun", 'a"b', "$HOME", "*", "", "it's", "x/y/z", "é"]
    proc = env.run([str(out / "run.sh"), "--foreground", *args], cwd=work)
    assert proc.returncode == 7, proc.stderr
    call = env.calls("snakemake")[-1]
    assert call[:3] == ["snakemake", "--profile", str(out / "profile")]
    # the run id names every job of this run (slurm plugin: --slurm-jobname-prefix)
    assert call[3] == "--slurm-jobname-prefix" and re.fullmatch(r"full-\d{8}T\d{6}Z-\d+", call[4]), call
    assert call[5:] == list(args)
    assert "stub snakemake arg: model name=x y" in proc.stdout  # shown on the terminal
    logs = list((work / "logs" / "runs").glob("snakecharm_*.log"))
    assert len(logs) == 1
    assert re.fullmatch(r"snakecharm_" + re.escape(sanitised(args)) + r"_\d{8}T\d{6}Z\.log", logs[0].name), logs[0].name
    content = logs[0].read_text()
    assert content.startswith("# dvhpc run.sh, site full")
    assert "stub snakemake: on stderr" in content and "stub snakemake: done" in content
    assert f"dvhpc run: run {call[4]}, log: {logs[0]}" in proc.stderr


def test_run_background_prints_pid_and_log(tmp_path, sysbin):
    _, out = compile_site(tmp_path, FULL)
    env = Env(tmp_path, sysbin, STUB_SNAKEMAKE_SLEEP="0.3")
    start = time.monotonic()
    proc = env.run([str(out / "run.sh"), "-n", "results/a b.txt"])
    assert proc.returncode == 0, proc.stderr
    assert time.monotonic() - start < 5
    pid = int(re.search(r"PID (\d+)", proc.stdout).group(1))
    log = Path(re.search(r"^dvhpc run: log: (.+)$", proc.stdout, re.M).group(1))
    assert log.parent == tmp_path / "logs" / "runs"
    assert re.fullmatch(r"snakecharm_-n_results-a_b\.txt_\d{8}T\d{6}Z\.log", log.name)
    deadline = time.monotonic() + 10
    while "stub snakemake: done" not in log.read_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "stub snakemake: done" in log.read_text()
    assert "stub snakemake arg: results/a b.txt" in log.read_text()
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.05)


def test_run_log_names(tmp_path, sysbin):
    _, out = compile_site(tmp_path, FULL)
    env = Env(tmp_path, sysbin)
    proc = env.run([str(out / "run.sh"), "--foreground"])
    assert proc.returncode == 0, proc.stderr
    long = ["--config", "x=" + "y" * 300]
    proc = env.run([str(out / "run.sh"), "--foreground", *long])
    assert proc.returncode == 0
    names = sorted(p.name for p in (tmp_path / "logs" / "runs").iterdir())
    assert any(re.fullmatch(r"snakecharm_\d{8}T\d{6}Z\.log", n) for n in names), names
    longest = [n for n in names if n.startswith("snakecharm_--config")]
    assert len(longest) == 1 and len(longest[0]) == len("snakecharm_") + 100 + len("_20250101T000000Z.log")
    # Same arguments in the same second: a second file, not an overwrite.
    env.run([str(out / "run.sh"), "--foreground", "same"])
    env.run([str(out / "run.sh"), "--foreground", "same"])
    assert len(list((tmp_path / "logs" / "runs").glob("snakecharm_same_*"))) == 2


def test_run_help_and_failed_bootstrap(tmp_path, sysbin):
    _, out = compile_site(tmp_path, FULL)
    env = Env(tmp_path, sysbin, stubs=[s for s in STUBS_ALL if s != "sbatch"])
    proc = env.run([str(out / "run.sh"), "--help"])
    assert proc.returncode == 0 and proc.stdout.startswith("usage: run.sh [--foreground]")
    proc = env.run([str(out / "run.sh"), "--foreground", "all"])
    assert proc.returncode == 1
    assert "dvhpc bootstrap: sbatch is not on PATH" in proc.stderr
    assert "Snakemake was not started" in proc.stderr
    assert not [c for c in env.calls("snakemake") if c[1:] != ["--version"]]
    # `--` ends run.sh's options: --help goes to Snakemake.
    env2 = Env(tmp_path / "e2", sysbin)
    proc = env2.run([str(out / "run.sh"), "--foreground", "--", "--help"], cwd=tmp_path)
    assert proc.returncode == 0 and env2.calls("snakemake")[-1][-1] == "--help"


def test_run_workdir_and_logdir_from_the_environment(tmp_path, sysbin):
    _, out = compile_site(tmp_path, PLAIN)
    env = Env(tmp_path, sysbin)
    activate = Path(env.vars["HOME"]) / "venvs" / "snake" / "bin" / "activate"
    activate.parent.mkdir(parents=True)
    activate.write_text("")
    proc = env.run([str(out / "run.sh"), "--foreground"])
    assert proc.returncode == 1
    assert "environment.workdir needs ${WORK}" in proc.stderr
    work = tmp_path / "w o rk"
    work.mkdir()
    proc = env.run([str(out / "run.sh"), "--foreground", "target"], WORK=str(work))
    assert proc.returncode == 0, proc.stderr
    assert f"stub snakemake: in {work}" in proc.stdout
    assert len(list((work / "logs").glob("snakecharm_target_*.log"))) == 1


# ---------------------------------------------------------------------------------------- jobs.sh


def test_jobs_commands(tmp_path, sysbin):
    _, out = compile_site(tmp_path, FULL)
    env = Env(tmp_path, sysbin)
    jobs = str(out / "jobs.sh")

    assert env.run([jobs, "status"]).returncode == 0
    call = env.calls("squeue")[-1]
    assert call[1:4] == ["-h", "-u", "tester"] and call[4] == "-O"

    assert env.run([jobs, "usage", "123_4"], STUB_SACCT_LINES="123_4\n").returncode == 0
    assert env.calls("sacct")[-2][1:] == ["-n", "-X", "-j", "123_4", "--format=JobID"]  # known to SLURM?
    sacct = env.calls("sacct")[-1]
    assert sacct[1:3] == ["-j", "123_4"]
    assert re.search(r"--format=JobID,.*State,.*Elapsed,.*MaxRSS,MaxVMSize", sacct[3])
    assert not env.calls("sstat")  # not running
    env.run([jobs, "usage", "123"], STUB_SQUEUE_STATE="RUNNING", STUB_SACCT_LINES="123\n")
    assert env.calls("sstat")[-1][1:3] == ["-j", "123"]
    assert env.run([jobs, "usage"]).returncode == 2
    assert env.run([jobs, "usage", "1; rm -rf x"]).returncode == 2

    proc = env.run([jobs, "limits"])
    assert proc.returncode == 0 and env.calls("sinfo")[-1][1] == "-o"
    assert "cpu (default)  1d" in proc.stdout

    proc = env.run([jobs, "help"])
    assert proc.returncode == 0 and "tail RULE [N]" in proc.stdout
    for bad in ([jobs], [jobs, "frobnicate"]):
        proc = env.run(bad)
        assert proc.returncode == 2 and "usage: jobs.sh" in proc.stderr


def test_jobs_usage_without_accounting(tmp_path, sysbin):
    _, out = compile_site(tmp_path, PLAIN)
    env = Env(tmp_path, sysbin)
    proc = env.run([str(out / "jobs.sh"), "usage", "77"])
    assert proc.returncode == 0
    assert "accounting is off" in proc.stderr
    assert env.calls("scontrol")[-1][1:] == ["show", "job", "77"]
    assert not env.calls("sacct")


def test_jobs_tail_finds_the_newest_log_of_either_layout(tmp_path, sysbin):
    _, out = compile_site(tmp_path, FULL)
    env = Env(tmp_path, sysbin)
    logs = tmp_path / "logs" / "slurm"

    def write(rel: str, lines: int, age: float) -> Path:
        path = logs / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(f"{rel} line {i}\n" for i in range(lines)))
        stamp = time.time() - age
        os.utime(path, (stamp, stamp))
        return path

    write("rule_train/lr=0.1/100.log", 80, age=300)
    write("rule_train/lr=0.2/101.log", 80, age=100)
    write("rule_other/1.log", 5, age=1)
    proc = env.run([str(out / "jobs.sh"), "tail", "train"])
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0] == f"==> {logs}/rule_train/lr=0.2/101.log <=="
    assert len(proc.stdout.splitlines()) == 51 and proc.stdout.rstrip().endswith("line 79")

    write("train/200.out", 10, age=50)
    write("train/200.err", 10, age=50)
    proc = env.run([str(out / "jobs.sh"), "tail", "train", "3"])
    assert proc.returncode == 0
    assert proc.stdout.splitlines() == [
        f"==> {logs}/train/200.out <==", "train/200.out line 7", "train/200.out line 8", "train/200.out line 9",
        f"==> {logs}/train/200.err <==", "train/200.err line 7", "train/200.err line 8", "train/200.err line 9"]

    proc = env.run([str(out / "jobs.sh"), "tail", "missing"])
    assert proc.returncode == 1 and "no log files of rule 'missing'" in proc.stderr
    assert env.run([str(out / "jobs.sh"), "tail", "../etc"]).returncode == 2
    assert env.run([str(out / "jobs.sh"), "tail", "train", "x"]).returncode == 2


# ---------------------------------------------------------------------------------------- wrap.sh


def test_wrap_runs_the_command_in_the_container_verbatim(tmp_path, sysbin):
    _, out = compile_site(tmp_path, FULL)
    env = Env(tmp_path, sysbin)
    args = ["printf", "<%s>\\n", "a b", "$HOME", '"q"', "it's", "*", ""]
    proc = env.run([str(out / "wrap.sh"), *args], CUDA_VISIBLE_DEVICES="0,1", RANK=None)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "<a b>\n<$HOME>\n<\"q\">\n<it's>\n<*>\n<>\n"
    engine = env.calls("apptainer")[-1]
    assert engine[1:3] == ["exec", "--nv"]
    image = engine.index("/images/cuda.sif")
    assert engine[image + 1:image + 3] == ["bash", "-c"]
    assert engine[image + 4:] == ["wrap", "", "inner-env", "0", *args]  # conda root, env, no unset
    assert ["conda-fn", "activate", "inner-env"] in env.calls()

    # pass_env goes in even through a clean environment (the stub keeps only APPTAINERENV_*),
    # commas intact; unset variables stay unset.
    code = 'printf "%s|%s\\n" "${CUDA_VISIBLE_DEVICES-unset}" "${RANK-unset}"'
    proc = env.run([str(out / "wrap.sh"), "bash", "-c", code], CUDA_VISIBLE_DEVICES="0,1", RANK=None)
    assert proc.stdout == "0,1|unset\n", proc.stderr

    proc = env.run([str(out / "wrap.sh"), "bash", "-c", "exit 5"])
    assert proc.returncode == 5
    proc = env.run([str(out / "wrap.sh")])
    assert proc.returncode == 2 and "no command given" in proc.stderr
    env_no_engine = Env(tmp_path / "e2", sysbin, stubs=("conda",))
    proc = env_no_engine.run([str(out / "wrap.sh"), "true"])
    assert proc.returncode == 127 and "apptainer is not on PATH" in proc.stderr


def test_wrap_overlays_and_binds(tmp_path, sysbin):
    _, out = compile_site(tmp_path, LISTS)
    env = Env(tmp_path, sysbin)
    proc = env.run([str(out / "wrap.sh"), "true"])
    assert proc.returncode == 0, proc.stderr
    scratch = env.vars["SCRATCH"]
    assert env.calls("singularity")[-1] == [
        "singularity", "exec", "--overlay", f"{scratch}/env.ext3:ro", "--overlay", "/o 2.ext3",
        "--bind", "/datasets", "--bind", "/a b:/b", f"{scratch}/img.sif", "true"]
    proc = env.run([str(out / "wrap.sh"), "true"], SCRATCH=None)
    assert proc.returncode == 1 and "environment.container.image needs ${SCRATCH}" in proc.stderr


# ---------------------------------------------------------------------------------------- injection


def test_payloads_in_spec_strings_stay_inert(tmp_path, sysbin):
    root = tmp_path / "r"
    _, out = compile_site(root, payload_spec())
    env = Env(root, sysbin, INJ_ROOT=str(root), INJ_PASS=PAYLOAD)
    work = root / PAYLOAD
    work.mkdir()

    proc = env.bash('source "$1/bootstrap.sh"; echo "rc=$?"; printf "%s\\n%s\\n%s\\n" "$INJ_DIR" "$INJ_HOME" '
                    '"$CONDA_DEFAULT_ENV"', str(out), cwd=work)
    assert proc.stdout.splitlines() == ["rc=0", PAYLOAD, f"{env.vars['HOME']}/{PAYLOAD}", PAYLOAD], proc.stderr

    proc = env.run([str(out / "run.sh"), "--foreground", PAYLOAD], cwd=root)
    assert proc.returncode == 0, proc.stderr
    assert f"stub snakemake: in {work}" in proc.stdout
    assert env.calls("snakemake")[-1][-1] == PAYLOAD
    assert len(list((work / (PAYLOAD + "-runs")).glob("snakecharm_*.log"))) == 1

    proc = env.run([str(out / "wrap.sh"), "bash", "-c", 'printf "%s|%s" "$INJ_PASS" "$INJ_DEF_DIR"'], cwd=root)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == PAYLOAD + "|" + PAYLOAD
    call = env.calls("apptainer")[-1]
    assert call[1:5] == ["exec", PAYLOAD, "bash", "-c"]
    assert call[6:] == ["wrap", "", PAYLOAD, "1", "INJ_UNSET", "bash", "-c", call[-1]]
    assert ["conda-fn", "activate", PAYLOAD] in env.calls()

    proc = env.run([str(out / "jobs.sh"), "tail", "rule"], cwd=root)
    assert proc.returncode == 1 and "no log files" in proc.stderr
    no_marker(tmp_path)


def test_payloads_in_list_items_stay_inert(tmp_path, sysbin):
    p = json.dumps(PAYLOAD)
    spec = (f"dvhpc: 1\nsite: inject\nenvironment:\n  modules: {{use: [{p}]}}\n"
            f"  container: {{image: /i.sif, overlays: [{p}], binds: [{p}]}}\n")
    _, out = compile_site(tmp_path, spec)
    env = Env(tmp_path, sysbin)
    env.bash('source "$1/bootstrap.sh"', str(out))
    assert env.calls("module")[-1] == ["module", "use", PAYLOAD]
    assert env.run([str(out / "wrap.sh"), "true"]).returncode == 0
    assert env.calls("apptainer")[-1] == ["apptainer", "exec", "--overlay", PAYLOAD, "--bind", PAYLOAD, "/i.sif",
                                          "true"]
    no_marker(tmp_path)


SUBST = "$(touch MARKER)"
RUNTIME_FIELDS = {
    "environment.variables.X_DIR": "environment: {variables: {X_DIR: VALUE}}",
    "environment.conda": "environment: {conda: VALUE}",
    "environment.venv": "environment: {venv: VALUE}",
    "environment.workdir": "environment: {workdir: VALUE}",
    "snakemake.logdir": "snakemake: {logdir: VALUE}",
    "environment.container.image": "environment: {container: {image: VALUE}}",
    "environment.container.conda": "environment: {container: {image: /i.sif, conda: VALUE}}",
    "paths.p": "paths: {p: VALUE}",
    "paths.q.cluster": "paths: {q: {cluster: VALUE, local: /x}}",
    "datasets.root": "datasets: {root: VALUE}",
    "datasets.mounted.d": "datasets: {mounted: {d: VALUE}}",
}


@pytest.mark.parametrize("key", sorted(RUNTIME_FIELDS))
@pytest.mark.parametrize("value", [SUBST, "x`a`$(touch MARKER)", "${HOME:-$(touch MARKER)}"])
def test_command_substitution_in_runtime_text_is_refused(tmp_path, key, value):
    text = "dvhpc: 1\nsite: s\n" + RUNTIME_FIELDS[key].replace("VALUE", json.dumps(value)) + "\n"
    (tmp_path / "spec.yaml").write_text(text)
    checked = check(str(tmp_path / "spec.yaml"))
    assert not checked.ok
    codes = [(d.code, d.message) for d in checked.report.items]
    assert any(code == "DV220" and message.startswith(key + ":") for code, message in codes), codes
    no_marker(tmp_path)


@pytest.mark.parametrize("spec", [
    "environment: {modules: {load: ['x; touch MARKER']}}",
    "environment: {container: {image: /i, pass_env: ['A=$(touch MARKER)']}}",
    "site: 'x; touch MARKER'",
    "environment: {variables: {'A;B': x}}",
])
def test_payloads_in_restricted_fields_are_refused_by_the_schema(tmp_path, spec):
    text = "dvhpc: 1\n" + ("" if spec.startswith("site:") else "site: s\n") + spec + "\n"
    (tmp_path / "spec.yaml").write_text(text)
    checked = check(str(tmp_path / "spec.yaml"))
    assert not checked.ok and any(d.code.startswith("DV1") for d in checked.report.items)


def test_script_variables_cannot_be_overridden_by_the_spec():
    """Every variable the generated scripts set is one a spec may not export (or is _dvhpc_-prefixed):
    otherwise `environment.variables` could change what the scripts do (bash even evaluates some
    of them arithmetically)."""
    from dvhpc.resolve.resolver import RESERVED_PREFIXES, RESERVED_VARIABLES

    site = check(str(ROOT / "sites" / "example.yaml")).site
    assigned = set()
    statement = re.compile(r"^\s*(?:local\s+|export\s+)?([A-Za-z_]\w*)=|^\s*for\s+([A-Za-z_]\w*)\s+in\b")
    for generated in scripts.files(site).values():
        for line in generated.content.splitlines():
            match = statement.match(line)
            if match:
                assigned.add(match.group(1) or match.group(2))
            if line.lstrip().startswith("local "):  # `local a=1 b c`
                assigned.update(re.findall(r"\b([A-Za-z_]\w*)(?==|\s|$)", line.lstrip()[6:].split("#")[0]))
    on_purpose = {"PATH"}  # a spec may set PATH: that is what environments do
    spec_exported = set(site.environment.variables)
    unprotected = sorted(v for v in assigned - spec_exported - on_purpose
                         if v not in RESERVED_VARIABLES and not v.startswith(RESERVED_PREFIXES))
    assert not unprotected, f"add these to resolve.RESERVED_VARIABLES or prefix them with _dvhpc_: {unprotected}"
