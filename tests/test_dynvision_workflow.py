"""DynVision's real workflow (the `dynvision==0.1.0` wheel, files unchanged) as the fixture.

- the README's `project_paths` shim serves every `project_paths.<attribute>` the workflow reads;
- `lint --workflow` reads the workflow as Snakemake's own parser does, and flags resources given to
  its local rules (DV355);
- `snakemake -n` with the profile compiled from each `sites/dynvision-*.yaml`, on the workflow's own
  `all`: every job's resources, as Snakemake resolves them, are what `resources.yaml` says (except
  where lint warns that Snakemake lowers a request to a `snakemake.resources` limit: DV356).

The wheel is downloaded once per session with `pip download --no-deps` (or taken from
$DVHPC_DYNVISION_WHEEL); without the package index the tests skip and say so. The workflow imports
only `dynvision.project_paths` (and PyYAML) at parse time, no torch: the one file put in place is
that module, replaced by the README's shim over the site's generated `site_paths.py` (DynVision's
own module would write into `/home/rgutzen/...`, hard-coded). No workflow file is changed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

from conftest import REPO, VENV_BIN
from dvhpc.rules.snakefile_reader import read_snakefile

WHEEL = "dynvision==0.1.0"
SITES = sorted((REPO / "sites").glob("dynvision-*.yaml"))
# a --config that DynVision's workflow accepts (its keys are read from configs/config_workflow.yaml):
# one experiment, seed and category keep the DAG small; imagenet brings train_model_distributed (the
# `use rule ... with:` variant; its raw data is what a user has), cifar10 brings get_data and train_model
TARGETS = {
    "imagenet": ["data_name=imagenet", "experiment=[response]", "seed=[7000]", "category=[tsteps]"],
    "cifar10": ["data_name=cifar10", "experiment=[response]", "seed=[7000]", "category=[tsteps]"],
}


def readme_shim() -> str:
    """The `project_paths` shim as the README shows it (the code block that defines project_paths)."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    shims = [b for b in blocks if "\nproject_paths = " in b]
    assert len(shims) == 1, "the README shows one project_paths shim"
    return shims[0]


@pytest.fixture(scope="session")
def dynvision(tmp_path_factory) -> Path:
    """The unpacked wheel (the folder that holds `dynvision/`), downloaded once per session."""
    given = os.environ.get("DVHPC_DYNVISION_WHEEL")
    if given:
        wheel = Path(given)
    else:
        folder = tmp_path_factory.mktemp("wheel")
        try:
            proc = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
                                   WHEEL, "-d", str(folder)], capture_output=True, text=True, timeout=180)
        except subprocess.TimeoutExpired:
            pytest.skip(f"pip download {WHEEL} timed out: the package index is not reachable")
        wheels = list(folder.glob("dynvision-*.whl"))
        if proc.returncode != 0 or not wheels:
            last = (proc.stderr.strip().splitlines() or ["no wheel"])[-1]
            pytest.skip(f"pip download --no-deps {WHEEL} failed (package index not reachable?): {last}")
        wheel = wheels[0]
    root = tmp_path_factory.mktemp("dynvision")
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(root)
    assert (root / "dynvision" / "workflow" / "Snakefile").is_file()
    return root


def workflow_files(root: Path) -> list[Path]:
    folder = root / "dynvision" / "workflow"
    return [folder / "Snakefile", *sorted(folder.glob("*.smk"))]


def attribute_chains(root: Path) -> set[str]:
    """Every `project_paths.a.b` the workflow reads (text of its files; method calls end the chain)."""
    chains = set()
    for file in workflow_files(root):
        text = file.read_text(encoding="utf-8")
        chains |= {m.group(1) for m in re.finditer(r"\bproject_paths((?:\s*\.\s*[A-Za-z_]\w*)+)", text)}
    return {re.sub(r"\s", "", c).lstrip(".") for c in chains}


def compile_site(spec: Path, out: Path) -> Path:
    """`dvhpc compile` of one spec; returns generated/<site>."""
    proc = subprocess.run([sys.executable, "-m", "dvhpc", "compile", str(spec), "--out", str(out)],
                          capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(REPO / "compiler")},
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    (folder,) = [p for p in out.iterdir() if p.is_dir()]
    return folder


def with_shim(root: Path, into: Path) -> Path:
    """A copy of the unpacked wheel whose dynvision/project_paths.py is the README's shim."""
    copy = into / "dv"
    shutil.copytree(root, copy)
    (copy / "dynvision" / "project_paths.py").write_text(readme_shim(), encoding="utf-8")
    return copy


def user_env(home: Path, site_folder: Path, **extra: str) -> dict[str, str]:
    """A laptop user's environment (not the cluster, not a job) with site_paths importable."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLURM_", "PBS_", "LSB_", "DVHPC_"))}
    env.update({"HOME": str(home), "USER": "dvuser", "PYTHONPATH": str(site_folder), "DVHPC_ON_CLUSTER": "0",
                "DYNVISION_WORKING_DIR": str(home / "wd"), "SCRATCH": str(home / "scratch"), **extra})
    return env


SHIM_SPEC = """\
dvhpc: 1
site: dvshim
detect: {env: {SLURM_CLUSTER_NAME: "greene*"}}
paths:
  working_dir: {cluster: "${HOME}/DynVision_Working", local: "~/DynVision_Working"}
  scratch: {cluster: "/scratch/${USER}", local: "{working_dir}"}
  data: "{scratch}/data"
  raw: "{data}/raw"
  interim: "{data}/interim"
  processed: "{data}/processed"
  external: "{data}/external"
  models: "{scratch}/models"
  reports: "{scratch}/reports"
  logs: "{scratch}/logs"
"""


# ------------------------------------------------------------------------------------ item 4: the shim


def test_readme_shim_serves_every_project_paths_attribute_the_workflow_reads(dynvision, tmp_path):
    shim = readme_shim()
    assert len([line for line in shim.splitlines() if line.strip()]) <= 10
    chains = attribute_chains(dynvision)
    # what DynVision 0.1.0's workflow reads (found in its text, so a new attribute shows up here)
    assert {"data.raw", "data.interim", "models", "reports", "figures", "iam_on_cluster", "scripts.configs",
            "scripts_path", "large_logs", "benchmarks", "references"} <= chains
    spec = tmp_path / "dvshim.yaml"
    spec.write_text(SHIM_SPEC)
    site = compile_site(spec, tmp_path / "generated")
    package = with_shim(dynvision, tmp_path)
    probe = ("import json, pathlib, sys\nfrom dynvision.project_paths import project_paths as pp\n"
             "out = {}\nfor chain in json.loads(sys.argv[1]):\n    value = pp\n"
             "    for part in chain.split('.'):\n        value = getattr(value, part)\n"
             "    out[chain] = value() if callable(value) else [type(value).__name__, str(value)]\n"
             "print(json.dumps(out))\n")
    home = tmp_path / "home"
    for cluster, expected_raw in (("0", home / "DynVision_Working/data/raw"), ("1", Path("/scratch/dvuser/data/raw"))):
        env = user_env(home, site, DVHPC_ON_CLUSTER=cluster)
        folders = [str(site), str(package)]  # -I ignores PYTHONPATH: the probe puts them on sys.path itself
        proc = subprocess.run([sys.executable, "-I", "-c", f"import sys; sys.path[:0] = {folders!r}\n" + probe,
                               json.dumps(sorted(chains))], env=env, capture_output=True, text=True, timeout=30)
        assert proc.returncode == 0, proc.stderr
        got = json.loads(proc.stdout)
        for chain, value in got.items():
            if chain == "iam_on_cluster":
                assert value is (cluster == "1")
            elif chain != "data":  # `project_paths.data` is only logged, as a namespace
                assert value[0] == "PosixPath", (chain, value)
        assert got["data.raw"][1] == str(expected_raw)
        assert got["scripts.configs"][1] == str(package / "dynvision" / "configs")


# ------------------------------------------------------------------------------------ item 5: lint --workflow


def test_static_reader_reads_the_real_workflow(dynvision):
    info = read_snakefile(dynvision / "dynvision" / "workflow" / "Snakefile")
    assert info.error is None and info.notes == ()
    assert len(info.rules) == 27 and info.rules[-1] == "all"  # Snakefile's own rule comes after its includes
    assert {"get_data", "train_model", "train_model_distributed", "test_model", "plot_responses"} <= set(info.rules)
    assert info.localrules == {"all", "symlink_data_subsets", "symlink_data_groups"}
    assert info.checkpoints == {"intermediate_checkpoint_to_statedict"}
    file, line = info.rule_locations["train_model_distributed"]  # `use rule train_model as ... with:`
    assert (Path(file).name, line) == ("snake_runtime.smk", 133)


@pytest.mark.snakemake
def test_static_reader_agrees_with_snakemakes_parser(dynvision, tmp_path, monkeypatch):
    """--workflow-exec (Snakemake's parser, running the workflow's code) is the oracle for --workflow."""
    from dvhpc.rules.workflow import read_workflow

    spec = tmp_path / "dvshim.yaml"
    spec.write_text(SHIM_SPEC)
    site = compile_site(spec, tmp_path / "generated")
    package = with_shim(dynvision, tmp_path)
    for name, value in user_env(tmp_path / "home", site).items():
        monkeypatch.setenv(name, value)
    snakefile = package / "dynvision" / "workflow" / "Snakefile"
    real = read_workflow(snakefile, workdir=snakefile.parent)
    assert real.error is None, real.error
    static = read_snakefile(snakefile)
    assert static.rules == real.rules
    assert (static.localrules, static.checkpoints) == (real.localrules, real.checkpoints)
    assert {r: v for r, v in static.rule_resources.items() if v} == {r: v for r, v in real.rule_resources.items() if v}


def test_lint_flags_resources_on_the_real_local_rules(dynvision, tmp_path, run_dvhpc):
    spec = tmp_path / "dv.yaml"
    spec.write_text("dvhpc: 1\nsite: dv\ndetect: {env: {SLURM_CLUSTER_NAME: x}}\nresources:\n  rules:\n"
                    "    train_model: {cpus: 8, time: 2h}\n"
                    "    symlink_data_subsets: {cpus: 4, mem: 32G, time: 10min}\n"
                    "    symlink_data_groups: {disk: 10G}\n")
    _, out, err = run_dvhpc("lint", str(spec), "--workflow", str(dynvision / "dynvision" / "workflow" / "Snakefile"),
                            "--no-shellcheck", "--format", "json")
    found = [d for d in json.loads(out) if d["code"] == "DV355"]
    # symlink_data_groups asks for disk only, which Snakemake also counts for local jobs
    assert [(d["line"], d["column"], d["fields"]["keys"]) for d in found] == [(7, 5, ["cpus", "mem", "time"])], err
    assert "symlink_data_subsets" in found[0]["message"] and found[0]["severity"] == "warning"


# ------------------------------------------------------------------------------------ item 6: the dry run

JOB = re.compile(r"^\s*(?:local)?(?:rule|checkpoint) (\w+):$")
RESOURCES = re.compile(r"^\s*resources: (.*)$")
# the Snakemake resources a SLURM profile sets; anything else the dry run shows (tmpdir, mem/mem_mib
# and disk/disk_mib, derived from mem_mb and disk_mb) is Snakemake's own
SLURM_RESOURCES = ("slurm_account", "slurm_partition", "cpus_per_task", "mem_mb", "mem_mb_per_cpu", "runtime",
                   "disk_mb", "nodes", "tasks", "slurm_extra", "qos", "constraint", "gpu", "gpu_model",
                   "cpus_per_gpu", "gres")


def dry_run_resources(output: str) -> dict[str, list[dict[str, str]]]:
    """Each rule's jobs' resources from `snakemake -n` output (its job-info blocks)."""
    jobs: dict[str, list[dict[str, str]]] = {}
    rule = None
    for line in output.splitlines():
        match = JOB.match(line)
        if match:
            rule = match.group(1)
            continue
        match = RESOURCES.match(line)
        if match and rule is not None:
            items = re.split(r", (?=[A-Za-z_]\w*=)", match.group(1))
            jobs.setdefault(rule, []).append(dict(item.split("=", 1) for item in items))
            rule = None
    return jobs


def _first_attempt(value) -> str:
    """A profile resource value as Snakemake gives it to attempt 1 (a number, a quoted string or an
    expression of `attempt` that dvhpc wrote)."""
    if isinstance(value, str) and value[:1] in "'\"":
        return value.strip("'\"")
    if isinstance(value, str) and re.fullmatch(r"\d+m", value):  # a runtime with its unit: minutes
        return value[:-1]
    if isinstance(value, str):
        return str(eval(value, {"__builtins__": {}}, {"attempt": 1, "int": int, "str": str}))  # noqa: S307 (ours)
    return str(value)


def expected_resources(profile: dict, table: dict, rule: str) -> dict[str, str]:
    """What the generated profile gives a rule on its first attempt, by Snakemake resource name; memory,
    time and disk also equal what resources.yaml says."""
    merged = {**(profile.get("default-resources") or {}), **(profile.get("set-resources") or {}).get(rule, {})}
    want = {key: _first_attempt(value) for key, value in merged.items()}
    entry = table["rules"].get(rule, table["defaults"])
    first = (entry.get("attempts") or [{}])[0]
    for key, value in (("mem_mb", first.get("mem_mib", (entry.get("mem") or {}).get("mib"))),
                       ("runtime", first.get("minutes", (entry.get("time") or {}).get("minutes"))),
                       ("disk_mb", first.get("disk_mib", (entry.get("disk") or {}).get("mib")))):
        assert want.get(key) == (None if value is None else str(value)), (rule, key, want.get(key), value)
    return want


@pytest.mark.snakemake
@pytest.mark.parametrize("target", sorted(TARGETS))
@pytest.mark.parametrize("spec", SITES, ids=[p.stem for p in SITES])
def test_dry_run_of_the_real_workflow_gets_the_resources_of_resources_yaml(spec, target, dynvision, tmp_path,
                                                                            run_dvhpc):
    # the user fills in their own local working folder (the shipped spec has the author's, marked "put yours")
    mine = tmp_path / spec.name
    mine.write_text(re.sub(r'local: "/home/rgutzen/[^"]*"', 'local: "${HOME}/DynVision_Working"',
                           spec.read_text(encoding="utf-8")), encoding="utf-8")
    site = compile_site(mine, tmp_path / "generated")
    table = yaml.safe_load((site / "resources.yaml").read_text(encoding="utf-8"))
    (profile_file,) = (p for p in (site / "profile").glob("*.yaml") if ".v10+." not in p.name)  # what 9.x reads
    profile_data = yaml.safe_load(profile_file.read_text(encoding="utf-8"))
    _, out, _ = run_dvhpc("lint", str(spec), "--no-shellcheck", "--format", "json")
    lowered = [d["fields"] for d in json.loads(out) if d["code"] == "DV356" and d["fields"]["attempt"] == 1]
    package = with_shim(dynvision, tmp_path)
    home = tmp_path / "home"
    for subset in ("train", "val", "test"):  # the raw data a user has (imagenet has no download rule)
        (home / "DynVision_Working" / "data" / "raw" / "imagenet" / subset).mkdir(parents=True)
    workflow = package / "dynvision" / "workflow"
    profile = next(site.glob("profile"))
    snakemake = shutil.which("snakemake", path=f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}") or "snakemake"
    proc = subprocess.run([snakemake, "-n", "--profile", str(profile), "all", "--config", *TARGETS[target]],
                          cwd=workflow, env=user_env(home, site), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    jobs = dry_run_resources(proc.stdout + proc.stderr)
    expected_rules = {"all", "symlink_data_subsets", "symlink_data_groups", "init_model", "test_model",
                      "best_checkpoint_to_statedict", "process_single_test", "aggregate_experiment_data",
                      "plot_responses"} | ({"train_model_distributed"} if target == "imagenet" else
                                           {"get_data", "train_model"})
    assert set(jobs) == expected_rules
    for rule, found in sorted(jobs.items()):
        want = expected_resources(profile_data, table, rule)
        for resources in found:
            got = {key: value.strip("'\"") for key, value in resources.items() if key in SLURM_RESOURCES}
            assert set(got) == set(want), (spec.name, rule)
            for key in sorted(k for k in want if got[k] != want[k]):
                # Snakemake lowered it to a snakemake.resources limit: lint must have said so (DV356), for
                # this rule or for the defaults it inherits the value from
                assert [f for f in lowered if f["resource"] == key and str(f["limit"]) == got[key]
                        and str(f["value"]) == want[key] and f["rule"] in (rule, "defaults")], \
                    (spec.name, rule, key, got[key], want[key])
