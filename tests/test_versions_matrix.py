"""The version matrix: every Snakemake dvhpc verifies builds the same sbatch argv from a profile.

For every rule of every shipped site (sites/*.yaml, and each again with executor cluster-generic)
and attempts 1 and 2, the real Snakemake of each matrix row (tests/matrix/matrix.json: 9.1.5,
9.16.3, 9.27.1 with the plugins pip resolved for them) submits through a recording `sbatch`
(tests/matrix/sbatch) that refuses every job, so Snakemake submits attempt 2 too. The argv must
equal resources.yaml's `sbatch` on every row, hence be identical across the matrix. One Snakemake
run per (version, site) covers all its rules; the runs go in parallel.

The venvs are built once by tests/matrix/venvs.py (cached in .venv-matrix/, ~90 s per row cold).
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from dvhpc.build import compile_specs
from dvhpc.model import versions

pytestmark = [pytest.mark.snakemake, pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent
MATRIX_DIR = ROOT / "tests" / "matrix"
SHIPPED = sorted(p.stem for p in (ROOT / "sites").glob("*.yaml")
                 if not (YAML(typ="safe").load(p.read_text()) or {}).get("abstract"))
SITES = [*SHIPPED, *(f"{name}-generic" for name in SHIPPED)]


def _venvs() -> dict[str, Path]:
    import sys
    sys.path.insert(0, str(MATRIX_DIR))
    try:
        import venvs  # type: ignore[import-not-found]
    finally:
        sys.path.remove(str(MATRIX_DIR))
    assert [r["snakemake"] for r in venvs.MATRIX] == list(versions.MATRIX), "matrix.json and versions.MATRIX differ"
    try:
        with ThreadPoolExecutor(max_workers=len(versions.MATRIX)) as pool:
            return dict(zip(versions.MATRIX, pool.map(venvs.bin_dir, versions.MATRIX), strict=True))
    except (RuntimeError, OSError) as exc:
        pytest.skip(f"cannot build the version matrix venvs (tests/matrix/venvs.py): {exc}")


def _compile(tmp: Path) -> Path:
    """The shipped sites and a cluster-generic variant of each, compiled into tmp/generated."""
    specs = tmp / "sites"
    shutil.copytree(ROOT / "sites", specs)
    for name in SHIPPED:
        (specs / f"{name}-generic.yaml").write_text(
            f"dvhpc: 1\nextends: {name}.yaml\nsite: {name}-generic\nsnakemake: {{executor: cluster-generic}}\n")
    out = tmp / "generated"
    results = compile_specs([str(specs / f"{name}.yaml") for name in SITES], out)
    assert all(r.plan is not None for r in results), [r.checked.report.items for r in results]
    return out


def _run(venv_bin: Path, version: str, site_dir: Path, work: Path) -> dict[tuple[str, int], list[str]]:
    """One Snakemake run of every rule of the site; (rule, attempt) -> the recorded argv."""
    resources = YAML(typ="safe").load((site_dir / "resources.yaml").read_text())
    rules = list(resources["rules"])
    work.mkdir(parents=True)
    profile = work / "profile"
    shutil.copytree(site_dir / "profile", profile)
    if versions.parse_version(version) < versions.PROFILE_NAMES_FROM:
        # the name keeps Snakemake < 9.19 out (that is its point); the content is what is compared
        for name in versions.PROFILE_FILES:
            if (profile / name).exists():
                (profile / name).rename(profile / "config.v9+.yaml")
    (work / "Snakefile").write_text("".join(f"rule {r}:\n    output: 'out/{r}'\n    shell: 'touch {{output}}'\n"
                                            for r in rules))
    log = work / "sbatch.calls"
    log.mkdir()
    stubs = work / "bin"
    stubs.mkdir()
    for name in ("sbatch", "sacctmgr"):
        shutil.copy(MATRIX_DIR / name, stubs / name)
    for name in ("sacct", "squeue", "sinfo", "scontrol", "sshare", "scancel"):
        (stubs / name).write_text("#!/bin/sh\nexit 0\n")
        (stubs / name).chmod(0o755)
    accounts = {str(r.get("account")) for r in [resources["defaults"], *resources["rules"].values()]}
    env = {**os.environ, "PATH": f"{stubs}{os.pathsep}{venv_bin}{os.pathsep}{os.environ['PATH']}",
           "MATRIX_LOG": str(log), "STUB_ACCOUNTS": " ".join(sorted(accounts)), "DVHPC_RUN_ID": "matrix",
           "DYNVISION_WORKING_DIR": str(work), "HOME": str(work)}
    env.pop("SNAKEMAKE_PROFILE", None)
    args = [str(venv_bin / "snakemake"), "--profile", str(profile), "--keep-going", "--jobs", "100"]
    if resources["executor"] == "slurm":
        args += ["--slurm-init-seconds-before-status-checks", "1"]
    proc = subprocess.run([*args, *(f"out/{r}" for r in rules)], cwd=work, env=env, capture_output=True,
                          text=True, timeout=600)
    (work / "snakemake.log").write_text(proc.stdout + proc.stderr)
    return _calls(log, resources["executor"])


def _calls(log: Path, executor: str) -> dict[tuple[str, int], list[str]]:
    calls: dict[tuple[str, int], list[str]] = {}
    for path in sorted(log.iterdir()):
        args = path.read_text().split("\0")[:-1]
        if executor == "slurm":
            wrap = next(a for a in args if a.startswith("--wrap="))
            attempt = int(wrap.split("--attempt ", 1)[1].split()[0])
            comment = args.index("--comment")
            rule = args[comment + 1].removeprefix("rule_")
            words = [a for a in args[comment + 2:] if not a.startswith("--wrap=")]
            if "-D" in words:
                del words[words.index("-D"):words.index("-D") + 2]
        else:  # cluster-generic: sbatch --parsable --job-name --output --error WORDS... JOBSCRIPT
            attempt = int(args[-1].removeprefix("jobscript"))
            rule = args[1].removeprefix("--job-name=matrix-")
            words = args[4:-2]
        calls[(rule, attempt)] = words
    return calls


@pytest.fixture(scope="module")
def venv_bins():
    return _venvs()


@pytest.fixture(scope="module")
def matrix(tmp_path_factory, venv_bins):
    """(version, site) -> (the site's resources.yaml, the argv per (rule, attempt))."""
    tmp = tmp_path_factory.mktemp("matrix")
    generated = _compile(tmp)
    jobs = [(version, site) for version in versions.MATRIX for site in SITES]
    with ThreadPoolExecutor(max_workers=4) as pool:
        calls = pool.map(lambda job: _run(venv_bins[job[0]], job[0], generated / job[1],
                                          tmp / "runs" / job[0] / job[1]), jobs)
        out = dict(zip(jobs, calls, strict=True))
    return {job: (YAML(typ="safe").load((generated / job[1] / "resources.yaml").read_text()), got, tmp)
            for job, got in out.items()}


@pytest.mark.parametrize("version", versions.MATRIX)
@pytest.mark.parametrize("site", SITES)
def test_every_rule_submits_resources_yaml_sbatch(matrix, site, version):
    resources, calls, tmp = matrix[(version, site)]
    assert resources["attempts"] >= 2, "the shipped sites retry once: attempts 1 and 2 are both checked"
    wrong = {}
    for rule, want in resources["rules"].items():
        for attempt in (1, 2):
            expected = shlex.split(want["attempts"][attempt - 1]["sbatch"] if "attempts" in want else want["sbatch"])
            got = calls.get((rule, attempt))
            if got != expected:
                wrong[(rule, attempt)] = (got, expected)
    log = tmp / "runs" / version / site / "snakemake.log"
    assert not wrong, f"{len(wrong)} of {2 * len(resources['rules'])} submissions differ (log: {log}): {wrong}"


def test_the_matrix_builds_identical_argv(matrix):
    """The same argv on every version (implied by the test above; stated for the report)."""
    for site in SITES:
        rows = [matrix[(version, site)][1] for version in versions.MATRIX]
        assert all(row == rows[0] for row in rows[1:]), site


@pytest.mark.parametrize("version", versions.MATRIX)
def test_profile_name_keeps_versions_below_the_range_out(tmp_path, venv_bins, version):
    """example.yaml requires >=9.19: its profile.v9+.yaml is not read by an older Snakemake
    (which stops: no config file), and is read by a version in the range."""
    out = tmp_path / "generated"
    results = compile_specs([str(ROOT / "sites" / "example.yaml")], out)
    assert results[0].plan is not None
    (tmp_path / "Snakefile").write_text("rule a:\n    output: 'a'\n    shell: 'touch {output}'\n")
    proc = subprocess.run([str(venv_bins[version] / "snakemake"), "--profile", str(out / "example" / "profile"),
                           "-n", "a"], cwd=tmp_path, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "HOME": str(tmp_path)})
    if versions.Range.parse(">=9.19").admits(version):
        assert proc.returncode == 0, proc.stderr
    else:
        assert proc.returncode != 0 and "config.yaml" in proc.stdout + proc.stderr, proc.stdout + proc.stderr


def test_guard_file_stops_snakemake_10_and_is_not_read_by_9(tmp_path, venv_bins):
    """A range that ends before 10 (`~=9.16.3`) also writes config.v10+.yaml: a Snakemake 10 would
    pick it over config.v9+.yaml and stop on its one key. No 10 exists to run, so 9.27.1 reads the
    file directly (it accepts a file path) to show that it stops; 9.16.3 reads the folder and
    takes config.v9+.yaml."""
    spec = tmp_path / "g.yaml"
    spec.write_text("dvhpc: 1\nsite: g\nsnakemake: {jobs: 1}\nenvironment: {require: {snakemake: '~=9.16.3'}}\n")
    results = compile_specs([str(spec)], tmp_path / "out")
    assert results[0].plan is not None
    profile = tmp_path / "out" / "g" / "profile"
    assert sorted(p.name for p in profile.iterdir()) == ["config.v10+.yaml", "config.v9+.yaml"]
    (tmp_path / "Snakefile").write_text("rule a:\n    output: 'a'\n    shell: 'touch {output}'\n")
    env = {**os.environ, "HOME": str(tmp_path)}
    stop = subprocess.run([str(venv_bins[versions.MATRIX[-1]] / "snakemake"), "--profile",
                           str(profile / "config.v10+.yaml"), "-n", "a"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300, env=env)
    assert stop.returncode == 2 and "unrecognized arguments: --this-profile-is-for-snakemake=~=9.16.3" in stop.stderr
    read = subprocess.run([str(venv_bins["9.16.3"] / "snakemake"), "--profile", str(profile), "-n", "a"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300, env=env)
    assert read.returncode == 0, read.stdout + read.stderr
