"""bootstrap.sh (and run.sh, which sources it) checks the installed Snakemake and executor
plugins against the versions the profile was written for: the declared range
(environment.require.snakemake, else the version matrix) and the plugin releases dvhpc verified."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from dvhpc.emit import scripts
from dvhpc.model import versions
from dvhpc.pipeline import check

# python3 answers the metadata query with $FAKE_PLUGIN_VERSION, anything else with success;
# snakemake --version prints $FAKE_SNAKEMAKE_VERSION; the SLURM commands exist.
PYTHON = """#!/bin/bash
case "$2" in
  *importlib.metadata*) echo "$FAKE_PLUGIN_VERSION" ;;
  *version_info*) echo 3.11.7 ;;
esac
exit 0
"""
SNAKEMAKE = '#!/bin/bash\necho "$FAKE_SNAKEMAKE_VERSION"\n'


def _bootstrap(tmp_path: Path, spec: str, snakemake: str, plugin: str) -> subprocess.CompletedProcess:
    (tmp_path / "spec.yaml").write_text(spec)
    here = os.getcwd()
    os.chdir(tmp_path)
    try:
        checked = check("spec.yaml")
    finally:
        os.chdir(here)
    assert checked.ok, [d.message for d in checked.report.items]
    (tmp_path / "bootstrap.sh").write_text(scripts.files(checked.site)["bootstrap.sh"].content)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, text in (("python3", PYTHON), ("snakemake", SNAKEMAKE), ("sbatch", "#!/bin/sh\n"),
                       ("squeue", "#!/bin/sh\n"), ("sacct", "#!/bin/sh\n")):
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(tmp_path), "FAKE_SNAKEMAKE_VERSION": snakemake,
           "FAKE_PLUGIN_VERSION": plugin}
    return subprocess.run(["bash", str(tmp_path / "bootstrap.sh")], env=env, capture_output=True, text=True,
                          timeout=30)


DECLARED = "dvhpc: 1\nsite: v\nenvironment: {require: {snakemake: '>=9.19'}}\n"
UNDECLARED = "dvhpc: 1\nsite: v\n"


@pytest.mark.parametrize("spec,snakemake,plugin,problem", [
    (DECLARED, "9.27.1", "2.8.0", None),
    (DECLARED, "9.27.1", "2.8.4", None),  # a patch release of the verified plugin
    (DECLARED, "9.16.3", "2.8.0", "snakemake 9.16.3 does not satisfy >=9.19"),
    (DECLARED, "9.27.1", "2.7.1", "snakemake-executor-plugin-slurm 2.7.1 is not a version this profile was "
                                  "verified with (~=2.8.0)"),
    (DECLARED, "9.27.1", "3.0.0", "snakemake-executor-plugin-slurm 3.0.0 is not a version"),
    (UNDECLARED, "9.1.5", "2.8.0", None),  # no declared range: the matrix
    (UNDECLARED, "9.0.2", "2.8.0", f"snakemake 9.0.2 does not satisfy {versions.DEFAULT_RANGE}"),
    (UNDECLARED, "9.28.0", "2.8.0", f"snakemake 9.28.0 does not satisfy {versions.DEFAULT_RANGE}"),
])
def test_bootstrap_checks_snakemake_and_plugin_versions(tmp_path, spec, snakemake, plugin, problem):
    proc = _bootstrap(tmp_path, spec, snakemake, plugin)
    if problem is None:
        assert proc.returncode == 0, proc.stderr
    else:
        assert proc.returncode == 1 and problem in proc.stderr, proc.stderr


@pytest.mark.parametrize("text,admits,refused", [
    (">=9.19", {"9.19.0": True, "9.18.9": False, "10.0": True}, False),
    ("~=9.1.5", {"9.1.5": True, "9.1.9": True, "9.2.0": False, "9.1.4": False}, False),
    (">=9.1.5,<10", {"9.27.1": True, "10.0.0": False}, False),
    (">=9", {"9.0.0": True}, True),
    ("<10", {"8.30.0": True}, True),
    (">9.1.4", {"9.1.5": True, "9.1.4": False}, True),  # 9.1.4.1 would be admitted: below the matrix
])
def test_declared_range(text, admits, refused):
    wanted = versions.Range.parse(text)
    assert {v: wanted.admits(v) for v in admits} == admits
    assert wanted.below_matrix() is refused


def test_profile_file_name_keeps_older_snakemake_out():
    assert versions.profile_file(">=9.19") == "profile.v9+.yaml"  # 9.0 to 9.18 know no profile.* name
    assert versions.profile_file("~=9.1.5") == "config.v9+.yaml"
    assert versions.profile_file(None) == "config.v9+.yaml"  # the matrix starts at 9.1.5


def test_guard_file_only_for_a_range_that_ends_before_10():
    assert versions.guard_file("~=9.1.5") == "config.v10+.yaml"
    assert versions.guard_file(">=9.19,<10") == "profile.v10+.yaml"
    assert versions.guard_file(">=9.19") is None  # 10 is admitted: nothing to stop
    assert versions.guard_file(None) is None
    assert versions.guard_file("<10.2,>=9.19") is None  # admits 10.0 and 10.1
