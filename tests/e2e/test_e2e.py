"""End to end on a real SLURM: the generated profile puts every job where the spec says.

For each executor (`slurm`, `cluster-generic`) the spec in this folder is compiled with the real
CLI, the generated `run.sh --foreground` (the real bootstrap: it activates the venv named in the
spec and runs its checks) runs tests/e2e/Snakefile in a temporary copy against the local cluster
(tests/slurm/local-slurm.sh), and every job of that run is read back from SLURM (`scontrol -o
show job`, plus `sacct` in full mode) and compared with the generated `resources.yaml`: partition,
account, time limit, memory, CPUs per task and GPU request, per attempt of the retried rule.

Jobs are found by name, never by assumed IDs: the slurm plugin names every job of a run after
the run's ID (printed as "SLURM run ID: ...") and comments it `rule_<rule>`; the cluster-generic
template names them `${DVHPC_RUN_ID}-<rule>`, and the test sets DVHPC_RUN_ID to a unique value.

The cluster mode comes from the `local_slurm` fixture (DVHPC_SLURM_MODE=full|light): in light
mode (no slurmdbd) the test compiles a layer over the spec with `slurm.accounting: false`.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from dvhpc.model import versions

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
SNAKEFILE = HERE / "Snakefile"
SPECS = {"slurm": HERE / "site.yaml", "cluster-generic": HERE / "site-generic.yaml"}
RULES = ("cpu_only", "gpu_typed", "from_set", "multi_cpu", "flaky")
RETRIED = "flaky"
RUN_TIMEOUT = 300  # one workflow run; then snakemake is killed and the run's jobs cancelled
CMD_TIMEOUT = 60
SACCT_TIMEOUT = 30
# Status polling, shortened on the command line (the generated profile stays as it is): the
# plugin's first check comes after slurm-init-seconds-before-status-checks (2 s, in the spec);
# cluster-generic polls every --seconds-between-status-checks (default 10 s).
FAST_POLL = ("--seconds-between-status-checks", "2")
VENV = Path(sys.prefix)
# The oldest and the newest Snakemake of the version matrix (tests/matrix): the venv of this
# python serves the row it matches, tests/matrix/venvs.py builds (and caches) the other.
ENDS = (versions.MATRIX[0], versions.MATRIX[-1])
PLUGINS = {"slurm": "snakemake_executor_plugin_slurm", "cluster-generic": "snakemake_executor_plugin_cluster_generic"}
_FIELD = re.compile(r"(\S+?)=(.*?)(?=\s+[^\s=]+=|$)")
_GRES = re.compile(r"gres[:/]gpu(?::(?P<type>[^:=,]+))?[:=](?P<count>\d+)")


# ---------------------------------------------------------------- helpers


def _run(args: list[str], timeout: float = CMD_TIMEOUT, **kwargs) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=timeout,
                          check=False, **kwargs)


def dvhpc(*args: str) -> subprocess.CompletedProcess[str]:
    """The real CLI, as a user runs it (`python -m dvhpc ...`)."""
    env = {k: v for k, v in os.environ.items() if k not in ("DVHPC_DEBUG", "FORCE_COLOR")}
    env["NO_COLOR"] = "1"
    return _run([sys.executable, "-m", "dvhpc", *args], cwd=REPO, env=env)


def venv_for(version: str) -> Path:
    """The venv of a matrix row (skip, with the reason, when it cannot be built)."""
    sys.path.insert(0, str(REPO / "tests" / "matrix"))
    try:
        import venvs  # type: ignore[import-not-found]
    finally:
        sys.path.remove(str(REPO / "tests" / "matrix"))
    if VENV != Path(sys.base_prefix) and venvs.installed(sys.executable, venvs.row(version)["requirements"]):
        return VENV
    try:
        return venvs.bin_dir(version).parent
    except (RuntimeError, OSError) as exc:
        pytest.skip(f"cannot build the Snakemake {version} venv (tests/matrix/venvs.py): {exc}")


def need_venv(executor: str, venv: Path = VENV) -> None:
    """Skip (with the reason) unless `venv` is a venv with snakemake and the executor plugin."""
    if venv != VENV:
        if not (venv / "bin" / "activate").is_file() or not (venv / "bin" / "snakemake").is_file():
            pytest.skip(f"{venv} is not a venv with snakemake")
        return
    if VENV == Path(sys.base_prefix) or not (VENV / "bin" / "activate").is_file():
        pytest.skip(f"{sys.executable} is not in a venv; run the tests with .venv/bin/python (tests/run-all.sh)")
    for module in ("snakemake", PLUGINS[executor]):
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"{module} is not installed in {VENV} (pip install -e '.[test]')")


def run_env(venv: Path = VENV, **extra: str) -> dict[str, str]:
    """The environment of a user's shell: the venv is NOT on PATH, bootstrap.sh must activate it."""
    venv_bin = (VENV / "bin").resolve()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SLURM_", "SNAKEMAKE_"))
           and k not in ("DVHPC_SKIP_CHECKS", "DVHPC_RUN_ID", "DVHPC_DEBUG", "VIRTUAL_ENV", "FORCE_COLOR")}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "/usr/bin:/bin").split(os.pathsep)
                                  if p and Path(p).resolve() != venv_bin)
    env["DVHPC_E2E_VENV"] = str(venv)  # environment.venv: ${DVHPC_E2E_VENV} in cluster.yaml
    env["NO_COLOR"] = "1"
    env.update(extra)
    return env


def spec_for(executor: str, mode: str, folder: Path, **layer: object) -> Path:
    """The spec to compile: the file in tests/e2e, or a layer over it (light mode, test changes)."""
    base = SPECS[executor]
    if mode == "full" and not layer:
        return base
    name = YAML(typ="safe").load(base.read_text())["site"]
    data: dict = {"dvhpc": 1, "site": f"{name}-{mode}", "extends": str(base)}
    if mode == "light":
        data["slurm"] = {"accounting": False}
    for key, value in layer.items():
        data[key] = {**data.get(key, {}), **value} if isinstance(value, dict) else value
    path = folder / f"{data['site']}.yaml"
    path.write_text(json.dumps(data, indent=2) + "\n")  # JSON is YAML
    return path


def compile_spec(spec: Path, out: Path) -> Path:
    """`dvhpc compile SPEC --out OUT`; returns OUT/<site>."""
    proc = dvhpc("compile", str(spec), "--out", str(out))
    if proc.returncode != 0:
        pytest.fail(f"dvhpc compile {spec} failed (exit {proc.returncode}):\n{proc.stdout}{proc.stderr}")
    sites = [d for d in out.iterdir() if d.is_dir()]
    assert len(sites) == 1, sites
    return sites[0]


def load_resources(site_dir: Path) -> dict:
    return YAML(typ="safe").load((site_dir / "resources.yaml").read_text())


def expected(resources: dict, rule: str) -> dict:
    """What resources.yaml says one rule asks for: fixed fields and one entry per attempt."""
    entry = resources["rules"].get(rule, resources["defaults"])
    if "attempts" in entry:
        attempts = [(a["minutes"], a["mem_mib"]) for a in entry["attempts"]]
    else:
        attempts = [(entry["time"]["minutes"], entry["mem"]["mib"])]
    gpu = (entry.get("gpu_type"), entry["gpus"]) if entry.get("gpus") else None
    return {"partition": entry["partition"], "account": entry["account"], "cpus": entry["cpus"],
            "gpu": gpu, "attempts": attempts}


def minutes(limit: str) -> int:
    """SLURM's time limit (`[D-]HH:MM:SS`, `MM:SS`) in whole minutes."""
    days, _, clock = limit.rpartition("-")
    parts = [int(p) for p in clock.split(":")]
    hours, mins, secs = ([0] * (3 - len(parts)) + parts) if len(parts) > 1 else (0, parts[0], 0)
    assert secs == 0, limit
    return int(days or 0) * 1440 + hours * 60 + mins


def mib(value: str) -> int:
    """SLURM's memory (`300M`, `2G`, `1024K`) in MiB."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([KMGT]?)n?", value)
    assert match, value
    factor = {"K": 1 / 1024, "": 1, "M": 1, "G": 1024, "T": 1024 * 1024}[match.group(2)]
    return round(float(match.group(1)) * factor)


def gpu_request(fields: dict[str, str]) -> tuple[str | None, int] | None:
    """(type, count) from scontrol's TresPerJob/TresPerNode/... (`gres:gpu:testgpu:1`), or None."""
    found = [m for key, value in fields.items() if key.startswith("TresPer") for m in _GRES.finditer(value)]
    if not found:
        return None
    assert len(found) == 1, fields
    return found[0].group("type"), int(found[0].group("count"))


def job_order(job: dict[str, str]) -> tuple[str, int]:
    return job.get("SubmitTime", ""), int(job["JobId"])


def cancel_active(jobs: list[dict[str, str]]) -> None:
    active = [j["JobId"] for j in jobs if j.get("JobState") in ("PENDING", "CONFIGURING", "RUNNING", "COMPLETING")]
    if active:
        _run(["scancel", *active])


def run_bounded(args: list, *, cwd: Path, env: dict[str, str], timeout: float) -> tuple[int, str]:
    """(exit code, output) of a command run in its own process group; on timeout the whole group
    gets SIGTERM, then SIGKILL (a hung snakemake ignores SIGTERM while it waits for its jobs)."""
    proc = subprocess.Popen([str(a) for a in args], cwd=cwd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
        return proc.returncode, out
    except subprocess.TimeoutExpired:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(proc.pid, sig)
                proc.communicate(timeout=10)
                break
            except ProcessLookupError:
                break
            except subprocess.TimeoutExpired:
                continue
        raise TimeoutError(f"{' '.join(map(str, args))} still running after {timeout}s; killed") from None


# ---------------------------------------------------------------- one run per executor


@dataclass
class Run:
    executor: str
    mode: str
    site_dir: Path
    workdir: Path
    code: int
    output: str
    seconds: float
    resources: dict
    names: list[str]  # the job names of this run (what `sacct --name` takes)
    jobs: dict[str, list[dict[str, str]]]  # rule -> its jobs (scontrol fields), in submission order
    reported: set[str]  # job IDs Snakemake printed as submitted
    sacct: dict[str, dict[str, str]] | None = None  # sacct_records(), read once
    venv: Path = VENV  # the venv bootstrap.sh activated (its Snakemake ran the workflow)

    def all(self) -> list[dict[str, str]]:
        return [job for jobs in self.jobs.values() for job in jobs]


def find_jobs(local_slurm, executor: str, output: str,
              run_id: str) -> tuple[list[str], dict[str, list[dict[str, str]]]]:
    """This run's jobs by job name: the plugin's run UUID, or `${DVHPC_RUN_ID}-<rule>`."""
    by_rule: dict[str, list[dict[str, str]]] = {}
    if executor == "slurm":
        match = re.search(r"SLURM run ID: (\S+)", output)
        if not match:
            return [], by_rule
        names = [match.group(1)]
        for job in local_slurm.all_jobs():
            if job.get("JobName") == names[0]:
                rule = job.get("Comment", "").removeprefix("rule_")
                by_rule.setdefault(rule, []).append(job)
    else:
        names = [f"{run_id}-{rule}" for rule in RULES]
        for job in local_slurm.all_jobs():
            if job.get("JobName") in names:
                by_rule.setdefault(job["JobName"][len(run_id) + 1:], []).append(job)
    return names, {rule: sorted(jobs, key=job_order) for rule, jobs in by_rule.items()}


def reported_ids(executor: str, output: str) -> set[str]:
    pattern = r"submitted with SLURM jobid (\d+)" if executor == "slurm" else r"with external jobid '(\d+)'"
    return set(re.findall(pattern, output))


def run_workflow(local_slurm, executor: str, folder: Path, *targets: str, spec: Path | None = None,
                 version: str | None = None) -> Run:
    venv = venv_for(version) if version else VENV
    need_venv(executor, venv)
    if spec is None and version is not None and not versions.Range.parse(">=9.19").admits(version):
        # cluster.yaml requires >=9.19; run the oldest of the matrix with the range that admits it
        spec = spec_for(executor, local_slurm.mode, folder, environment={"require": {"snakemake": f"~={version}"}})
    spec = spec or spec_for(executor, local_slurm.mode, folder)
    site_dir = compile_spec(spec, folder / "generated")
    workdir = folder / "workflow"
    workdir.mkdir()
    (workdir / "Snakefile").write_text(SNAKEFILE.read_text())
    run_id = f"e2e-{uuid.uuid4().hex[:12]}"
    started = time.monotonic()
    try:
        code, output = run_bounded([site_dir / "run.sh", "--foreground", *FAST_POLL, *targets],
                                   cwd=workdir, env=run_env(venv, DVHPC_RUN_ID=run_id), timeout=RUN_TIMEOUT)
    except TimeoutError as exc:
        logs = sorted((workdir / "logs" / "slurm").glob("snakecharm_*.log"))  # run.sh's log
        text = logs[-1].read_text() if logs else ""
        _, jobs = find_jobs(local_slurm, executor, text, run_id)
        cancel_active([j for js in jobs.values() for j in js])
        pytest.fail(f"{exc}\n{text[-4000:]}", pytrace=False)
    seconds = time.monotonic() - started
    names, jobs = find_jobs(local_slurm, executor, output, run_id)
    cancel_active([j for js in jobs.values() for j in js])
    return Run(executor, local_slurm.mode, site_dir, workdir, code, output, seconds,
               load_resources(site_dir), names, jobs, reported_ids(executor, output), venv=venv)


@pytest.fixture(scope="module", params=[(e, v) for v in reversed(ENDS) for e in sorted(SPECS)],
                ids=lambda p: f"executor={p[0]}-snakemake={p[1]}")
def e2e_run(request, local_slurm, tmp_path_factory) -> Run:
    """The whole workflow, run once per executor and per end of the version matrix against the local cluster."""
    executor, version = request.param
    run = run_workflow(local_slurm, executor, tmp_path_factory.mktemp(f"e2e-{executor}-{version}"), version=version)
    print(f"\ne2e: executor {run.executor}, snakemake {version}, {run.mode} mode: workflow ran in "
          f"{run.seconds:.1f}s (exit {run.code})")
    return run


# ---------------------------------------------------------------- the spec itself (no SLURM)


def test_specs_lint_clean_against_the_workflow():
    proc = dvhpc("lint", "--no-shellcheck", "--strict", "--workflow", str(SNAKEFILE), *(str(p) for p in SPECS.values()))
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.slurm
def test_spec_describes_the_running_cluster(local_slurm):
    """cluster.yaml's partitions, node size, GPU type and accounts are what SLURM reports."""
    from dvhpc.model.units import Duration, Memory

    spec = YAML(typ="safe").load((HERE / "cluster.yaml").read_text())["slurm"]
    parts = [{m.group(1): m.group(2) for m in _FIELD.finditer(line)}
             for line in _run(["scontrol", "-o", "show", "partition"]).stdout.splitlines() if line.strip()]
    assert {p["PartitionName"] for p in parts} == set(spec["partitions"])
    node = {m.group(1): m.group(2) for m in _FIELD.finditer(_run(["scontrol", "-o", "show", "node"]).stdout)}
    for part in parts:
        want = spec["partitions"][part["PartitionName"]]
        assert minutes(part["MaxTime"]) == Duration.parse(want["max_time"]).seconds // 60
        assert (part["Default"] == "YES") == bool(want.get("default"))
        assert (int(part["TotalNodes"]), int(node["CPUTot"]), int(node["RealMemory"])) == \
            (want["nodes"], want["cpus"], Memory.parse(want["mem"]).mib)
        gres = {f"gpu:{kind}:{count}" for kind, count in want.get("gpus", {}).items()}
        assert not gres or node["Gres"].split("(")[0] in gres, node["Gres"]
    if local_slurm.accounting:
        proc = _run(["sacctmgr", "-n", "-P", "list", "assoc", "user=root", "format=account"])
        accounts = {line.strip() for line in proc.stdout.splitlines()}
        rules = YAML(typ="safe").load((HERE / "cluster.yaml").read_text())["resources"]["rules"]
        used = {spec["account"]} | {r["account"] for r in rules.values() if isinstance(r, dict) and "account" in r}
        assert used == {"defacct", "gpuproj"} and used <= accounts, accounts
        default = _run(["sacctmgr", "-n", "-P", "show", "user", "root", "format=defaultaccount"]).stdout.strip()
        assert default == spec["account"]
    assert spec["accounting"] is True  # the light-mode layer switches it off (spec_for)


# ---------------------------------------------------------------- the run


@pytest.mark.slurm
def test_workflow_succeeds(e2e_run: Run):
    assert e2e_run.code == 0, e2e_run.output[-6000:]
    for rule in RULES:
        assert (e2e_run.workdir / "out" / f"{rule}.txt").is_file(), rule
    assert not list(e2e_run.workdir.glob("slurm-*.out")), "a job wrote sbatch's default log into the workflow folder"


@pytest.mark.slurm
def test_every_job_of_the_run_is_found(e2e_run: Run):
    """Found by name: one job per rule, two for the retried one; exactly the jobs Snakemake submitted."""
    assert e2e_run.names and e2e_run.jobs, f"no job of this run found by name\n{e2e_run.output[-4000:]}"
    attempts = e2e_run.resources["attempts"]
    assert attempts == 2  # restart_times: 1
    assert {rule: len(jobs) for rule, jobs in e2e_run.jobs.items()} == \
        {rule: attempts if rule == RETRIED else 1 for rule in RULES}
    assert {job["JobId"] for job in e2e_run.all()} == e2e_run.reported
    logs = e2e_run.workdir / "logs" / "slurm"
    for job in e2e_run.all():
        assert job["WorkDir"] == str(e2e_run.workdir)
        assert Path(job["StdOut"]).is_relative_to(logs), job["StdOut"]
        if e2e_run.executor == "slurm":
            assert job["Comment"].startswith("rule_")


@pytest.mark.slurm
def test_retried_rule_failed_once_then_completed(e2e_run: Run):
    first, second = e2e_run.jobs[RETRIED]
    assert (first["JobState"], first["ExitCode"]) == ("FAILED", "1:0")
    assert second["JobState"] == "COMPLETED"
    for rule in RULES:
        if rule != RETRIED:
            assert [j["JobState"] for j in e2e_run.jobs[rule]] == ["COMPLETED"], rule


@pytest.mark.slurm
@pytest.mark.parametrize("rule", RULES)
def test_scontrol_matches_resources_yaml(e2e_run: Run, rule: str):
    """Partition, account, time limit, memory, CPUs per task and GPUs of every attempt."""
    want = expected(e2e_run.resources, rule)
    jobs = e2e_run.jobs.get(rule, [])
    assert len(jobs) == len(want["attempts"]), (rule, jobs)
    for attempt, (job, (limit, mem)) in enumerate(zip(jobs, want["attempts"], strict=True), start=1):
        seen = {"partition": job["Partition"], "account": job["Account"], "minutes": minutes(job["TimeLimit"]),
                "mem_mib": mib(job["MinMemoryNode"]), "cpus_per_task": int(job["CPUs/Task"]),
                "tasks": int(job["NumTasks"]), "gpu": gpu_request(job)}
        assert seen == {"partition": want["partition"], "account": want["account"], "minutes": limit,
                        "mem_mib": mem, "cpus_per_task": want["cpus"], "tasks": 1, "gpu": want["gpu"]}, \
            f"{rule}, attempt {attempt}, job {job['JobId']}"


@pytest.mark.slurm
def test_retry_doubles_time_and_memory(e2e_run: Run):
    """retry: {mem: 2x, time: 2x}: attempt 2 asked SLURM for twice attempt 1, below the partition limits."""
    entry = e2e_run.resources["rules"][RETRIED]
    assert entry["retry"] == {"mem": "2x", "time": "2x"}
    one, two = entry["attempts"]
    assert (two["minutes"], two["mem_mib"]) == (2 * one["minutes"], 2 * one["mem_mib"])
    first, second = e2e_run.jobs[RETRIED]
    assert (minutes(first["TimeLimit"]), mib(first["MinMemoryNode"])) == (one["minutes"], one["mem_mib"])
    assert (minutes(second["TimeLimit"]), mib(second["MinMemoryNode"])) == (two["minutes"], two["mem_mib"])


@pytest.mark.slurm
@pytest.mark.parametrize("rule", RULES)
def test_sacct_matches_resources_yaml(e2e_run: Run, local_slurm, rule: str):
    """The accounting record (full mode): the same values, permanently."""
    if not local_slurm.accounting:
        pytest.skip("light mode: no accounting, sacct does not work")
    records = sacct_records(e2e_run)
    want = expected(e2e_run.resources, rule)
    ids = [job["JobId"] for job in e2e_run.jobs[rule]]
    for attempt, (job_id, (limit, mem)) in enumerate(zip(ids, want["attempts"], strict=True), start=1):
        rec = records[job_id]
        gpus = re.search(r"gres/gpu=(\d+)", rec["ReqTRES"])
        seen = {"partition": rec["Partition"], "account": rec["Account"], "minutes": minutes(rec["Timelimit"]),
                "mem_mib": mib(rec["ReqMem"]), "cpus": int(rec["ReqCPUS"]),
                "gpus": int(gpus.group(1)) if gpus else 0}
        assert seen == {"partition": want["partition"], "account": want["account"], "minutes": limit,
                        "mem_mib": mem, "cpus": want["cpus"], "gpus": want["gpu"][1] if want["gpu"] else 0}, \
            f"{rule}, attempt {attempt}, job {job_id}"
        if e2e_run.executor == "slurm":
            assert rec["Comment"] == f"rule_{rule}"


SACCT_FIELDS = "JobID,JobName,Partition,Account,Timelimit,ReqMem,ReqCPUS,ReqTRES,State,Comment"


def sacct_records(run: Run) -> dict[str, dict[str, str]]:
    """`sacct -X -P --name <this run's job names>`, polled until slurmdbd has every job complete."""
    if run.sacct is not None:
        return run.sacct
    names = SACCT_FIELDS.split(",")
    want = {job["JobId"] for job in run.all()}
    deadline = time.monotonic() + SACCT_TIMEOUT
    while True:
        proc = _run(["sacct", "-X", "-P", "-n", "-S", "now-1days", "--name", ",".join(run.names),
                     "--format", SACCT_FIELDS])
        records = {}
        for line in proc.stdout.splitlines():
            if line.strip():
                rec = dict(zip(names, line.split("|"), strict=False))  # sacct may add fields
                records[rec["JobID"]] = rec
        filled = all(records.get(j, {}).get(k) for j in want for k in ("Partition", "Timelimit", "ReqMem", "ReqTRES"))
        if proc.returncode == 0 and set(records) == want and filled:
            run.sacct = records
            return records
        if time.monotonic() > deadline:
            pytest.fail(f"sacct --name {run.names}: wanted jobs {sorted(want)}, got {records}\n{proc.stderr}")
        time.sleep(0.5)


@pytest.mark.slurm
def test_jobs_saw_what_they_asked_for(e2e_run: Run):
    """Inside each job: SLURM's CPUs and GPUs, and Snakemake's resources of that attempt."""
    seen = {}
    for rule in RULES:
        line = (e2e_run.workdir / "out" / f"{rule}.txt").read_text().split()
        seen[rule] = dict(item.split("=", 1) for item in line)
    for rule in RULES:
        want = expected(e2e_run.resources, rule)
        minutes_, mem = want["attempts"][-1]
        assert seen[rule]["job"] == e2e_run.jobs[rule][-1]["JobId"]
        assert (seen[rule]["cpus"], seen[rule]["threads"]) == (str(want["cpus"]),) * 2
        assert (seen[rule]["mem_mb"], seen[rule]["runtime"]) == (str(mem), str(minutes_))
        assert (seen[rule]["gpus"] != "none") == bool(want["gpu"]), rule
        # the test removed the venv from PATH: bootstrap.sh activated it (environment.venv)
        assert seen[rule]["venv"] != "none" and Path(seen[rule]["venv"]).resolve() == e2e_run.venv.resolve()
    marker_file = e2e_run.workdir / "markers" / "flaky.failed-once"
    marker = dict(item.split("=", 1) for item in marker_file.read_text().split())
    minutes_, mem = expected(e2e_run.resources, RETRIED)["attempts"][0]
    assert marker == {"job": e2e_run.jobs[RETRIED][0]["JobId"], "mem_mb": str(mem), "runtime": str(minutes_)}


@pytest.mark.slurm
def test_jobs_sh_usage_prints_the_job(e2e_run: Run, local_slurm):
    """`jobs.sh usage JOBID`: the sacct row in full mode, scontrol's record in light mode."""
    job = e2e_run.jobs["gpu_typed"][0]
    proc = _run([e2e_run.site_dir / "jobs.sh", "usage", job["JobId"]], cwd=e2e_run.workdir, env=run_env())
    assert proc.returncode == 0, proc.stdout + proc.stderr
    if local_slurm.accounting:
        rows = [line.split() for line in proc.stdout.splitlines()]
        row = next((r for r in rows if r and r[0] == job["JobId"]), None)
        assert row is not None, proc.stdout
        assert "COMPLETED" in row and "00:10:00" in row and "256M" in row, row
    else:
        assert f"JobId={job['JobId']} " in proc.stdout and "JobState=COMPLETED" in proc.stdout


# ---------------------------------------------------------------- lint and SLURM agree


@pytest.mark.slurm
@pytest.mark.parametrize("time_limit, accepted", [("12h", True), ("13h", False)])
def test_gpu_max_time_lint_and_sbatch_agree(local_slurm, tmp_path, time_limit: str, accepted: bool):
    """A GPU rule over the gpu partition's MaxTime (12 h): dvhpc lint says DV301, sbatch refuses it."""
    layer = {"resources": {"rules": {"too_long": {"use": "gpu_small", "time": time_limit}}}}
    spec = spec_for("slurm", local_slurm.mode, tmp_path, **layer)
    proc = dvhpc("lint", "--no-shellcheck", "--format", "json", str(spec))
    codes = [d["code"] for d in json.loads(proc.stdout or "[]") if not d.get("suppressed")]
    if accepted:
        assert (proc.returncode, codes) == (0, []), proc.stdout + proc.stderr
    else:
        assert (proc.returncode, codes) == (1, ["DV301"]), proc.stdout + proc.stderr
        # compile it anyway (the finding silenced) to get the exact sbatch arguments
        spec = spec_for("slurm", local_slurm.mode, tmp_path, **layer, lint={"ignore": ["DV301"]})
    entry = load_resources(compile_spec(spec, tmp_path / "generated"))["rules"]["too_long"]
    assert entry["time"]["minutes"] == (720 if accepted else 780)
    args = entry["sbatch"].split()
    name = f"e2e-limit-{uuid.uuid4().hex[:8]}"
    sub = local_slurm.sbatch(*args, "-J", name, "--wrap", "true", "-o", "/dev/null")
    if accepted:
        assert sub.returncode == 0, sub.stderr
        job = local_slurm.wait_job(sub.stdout.strip().split(";")[0])
        assert (job["Partition"], job["TimeLimit"], job["JobState"]) == ("gpu", "12:00:00", "COMPLETED")
    else:
        assert sub.returncode != 0, f"sbatch {' '.join(args)} accepted as job {sub.stdout.strip()}"
        assert "Requested time limit is invalid" in sub.stderr, sub.stderr
        assert not [j for j in local_slurm.all_jobs() if j.get("JobName") == name]


# ---------------------------------------------------------------- accounts (full mode)


@pytest.mark.slurm
@pytest.mark.parametrize("executor", sorted(SPECS))
def test_wrong_account_is_rejected(local_slurm, tmp_path, executor: str):
    """slurm.account naming an account SLURM does not know: the run fails and no job is accepted."""
    if not local_slurm.accounting:
        pytest.skip("light mode: no accounting, SLURM accepts any -A string")
    spec = spec_for(executor, "full", tmp_path, slurm={"account": "wrongacct"})
    run = run_workflow(local_slurm, executor, tmp_path, "out/cpu_only.txt", spec=spec)
    assert run.code != 0, run.output[-4000:]
    if executor == "slurm":
        assert "The given account wrongacct appears to be invalid" in run.output, run.output[-4000:]
    else:
        assert "Invalid account or account/partition combination specified" in run.output, run.output[-4000:]
    assert not run.reported and not run.all(), run.all()
    assert not (run.workdir / "out" / "cpu_only.txt").exists()
