"""`dvhpc import`: DynVision's hand-written profiles become specs that mean the same, rule by rule.

"Means the same" is decided by the real Snakemake: a dry run with the original profile and one
with the profile compiled from the imported spec must give every rule the same runtime (minutes),
memory (MB), CPUs, partition and GPU request — except where the import reported a fix.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "import"
SNAKEMAKE = shutil.which("snakemake", path=os.path.dirname(sys.executable)) or shutil.which("snakemake")
DYNVISION_RULES = [
    "init_model", "test_model", "train_model", "train_model_distributed", "symlink_data_subsets",
    "symlink_data_groups", "build_ffcv_datasets", "process_test_data", "process_single_test",
    "aggregate_test_results", "best_checkpoint_to_statedict", "intermediate_checkpoint_to_statedict",
    "plot_unrolling", "not_in_profile",
]


def dvhpc(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dvhpc", *args], cwd=cwd, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "NO_COLOR": "1"})


def dry_run_resources(profile_dir: Path, workdir: Path, rules: list[str]) -> dict[str, dict[str, str]]:
    """Each rule's resources as the real Snakemake resolves them from a profile."""
    if SNAKEMAKE is None:
        pytest.skip("snakemake is not installed (pip install -e '.[test]')")
    workdir.mkdir(exist_ok=True)
    lines = ["rule all:", "    input: " + ", ".join(f"'{r}.txt'" for r in rules), "    localrule: True"]
    for rule in rules:
        lines += [f"rule {rule}:", f"    output: '{rule}.txt'", "    shell: 'touch {output}'"]
    (workdir / "Snakefile").write_text("\n".join(lines) + "\n")
    proc = subprocess.run([SNAKEMAKE, "--profile", str(profile_dir), "--executor", "local", "--cores", "4", "-n"],
                          cwd=workdir, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    found: dict[str, dict[str, str]] = {}
    current = None
    for line in proc.stdout.splitlines() + proc.stderr.splitlines():
        match = re.match(r"^(?:local)?rule (\w+):", line)
        if match:
            current = match.group(1)
        elif current and line.strip().startswith("resources:"):
            items = re.findall(r"(\w+)=((?:[^,]|, (?!\w+=))*)", line.split("resources:", 1)[1])
            found[current] = {key: value.strip() for key, value in items}
    return found


def gpu_request(resources: dict[str, str]) -> str | None:
    extra = resources.get("slurm_extra", "")
    match = re.search(r"--gpus-per-node=(?:[A-Za-z0-9_.<>-]+:)?(\d+)|--gres=gpu:(?:\w+:)?(\d+)", extra)
    if match:
        return match.group(1) or match.group(2)
    return resources.get("gpu")


def import_and_compile(tmp_path: Path, source: Path, site: str) -> tuple[Path, subprocess.CompletedProcess]:
    spec = tmp_path / "sites" / f"{site}.yaml"
    spec.parent.mkdir(parents=True, exist_ok=True)
    imported = dvhpc("import", str(source), "--site", site, "-o", str(spec), cwd=tmp_path)
    # issue 15: what a spec cannot express (DynVision's <YOUR_SLURM_ACCOUNT> placeholders) is a located error,
    # so the import exits 1; the spec is still written, without those values
    assert imported.returncode in (0, 1) and spec.exists(), imported.stderr
    assert "Traceback" not in imported.stderr
    validated = dvhpc("validate", str(spec), cwd=tmp_path)
    assert validated.returncode == 0, validated.stderr
    compiled = dvhpc("compile", str(spec), "--out", str(tmp_path / "generated"), cwd=tmp_path)
    assert compiled.returncode == 0, compiled.stderr
    return tmp_path / "generated" / site, imported


@pytest.mark.snakemake
@pytest.mark.parametrize("version", ["current", "early"])
def test_dynvision_profile_imports_with_the_same_meaning(tmp_path, version):
    original = tmp_path / "original"
    original.mkdir()
    shutil.copy(FIXTURES / "dynvision" / f"{version}.yaml", original / "config.yaml")
    site_dir, imported = import_and_compile(tmp_path, original, f"dynvision-{version}")
    rules = [r for r in DYNVISION_RULES if version == "current" or r in (
        "init_model", "test_model", "train_model", "symlink_data_subsets", "symlink_data_groups",
        "build_ffcv_datasets", "not_in_profile")]
    before = dry_run_resources(original, tmp_path / "wf-before", rules)
    after = dry_run_resources(site_dir / "profile", tmp_path / "wf-after", rules)
    for rule in rules:
        old, new = before[rule], after[rule]
        assert new["runtime"] == old["runtime"], (rule, "runtime (minutes)")
        assert new["mem_mb"] == old["mem_mb"], (rule, "mem_mb")
        assert new["cpus_per_task"] == old["cpus_per_task"], (rule, "cpus")
        assert new.get("disk_mb") == old.get("disk_mb"), (rule, "disk_mb")
        assert new.get("slurm_partition") == old.get("slurm_partition"), (rule, "partition")
        assert (gpu_request(new) or "0") == (gpu_request(old) or "0"), (rule, "GPUs")
        if old.get("constraint"):
            assert new.get("constraint") == old["constraint"], (rule, "constraint")
    # the fixes it made are said, with the original file:line
    if version == "current":
        assert "comment says 30min, value means 1d6h" in imported.stderr
        assert re.search(r"config\.yaml:29:12: warning\[DV502\]", imported.stderr)
        assert "placeholder" in imported.stderr and "<YOUR_SLURM_ACCOUNT>" in imported.stderr
        assert "with retry factor 2x" in imported.stderr
        spec_text = (tmp_path / "sites" / f"dynvision-{version}.yaml").read_text()
        assert "# time: the old comment said 30min; the value means 1d6h" in spec_text
        assert "gpu_flag: gpus-per-node" in spec_text
        assert "logdir: \"${YOUR_PROJECT_PATH}/logs/slurm\"" in spec_text
    else:
        assert "the SLURM executor plugin refuses --gres in slurm_extra" in imported.stderr
        spec_text = (tmp_path / "sites" / f"dynvision-{version}.yaml").read_text()
        # issue 15: the path keeps its meaning (it was rewritten to ${HOME}/..., which differs for other users)
        assert "logdir: \"/home/rg5022/rhythmic_visual_attention/logs/slurm\"" in spec_text


def test_quoted_numbers_and_duplicates_are_merged(tmp_path):
    profile = tmp_path / "p"
    profile.mkdir()
    (profile / "config.yaml").write_text(
        'executor: slurm\njobs: "150"\nlatency-wait: "90"\nkeep-going: "True"\n'
        "default-resources:\n  runtime: 60\n  mem_mb: 16000\n  cpus_per_task: 16\n  cpu: 16\n"
        "  slurm_account: \"acct1\"\n"
        "set-resources:\n  a:\n    runtime: 30\n    slurm_account: \"acct1\"\n    gpu: 1\n    gpu_model: \"a100\"\n")
    spec = tmp_path / "s.yaml"
    proc = dvhpc("import", str(profile), "--site", "s", "-o", str(spec), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    text = spec.read_text()
    assert "jobs: 150" in text and 'latency_wait: "90s"' in text and "keep_going: true" in text
    assert 'account: "acct1"' in text  # lifted
    assert "defaults: {cpus: 16, mem: 16000M, time: 1h}" in text
    # rules only keep their own keys
    assert "a: {cpus: 16, mem: 16000M, time: 30min, gpus: 1, gpu_type: \"a100\"}" not in text
    assert re.search(r"a: \{time: 30min, gpus: 1, gpu_type: \"a100\"\}", text)
    assert dvhpc("validate", str(spec), cwd=tmp_path).returncode == 0


def test_snakemake7_template_maps_placeholders_back(tmp_path):
    spec = tmp_path / "old.yaml"
    proc = dvhpc("import", str(FIXTURES / "v7"), "--site", "old", "-o", str(spec), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    text = spec.read_text()
    assert "executor: cluster-generic" in text
    assert 'account: "lab42"' in text
    assert 'defaults: {partition: "short", mem: 1000M, time: 30min, slurm_extra: ["--mail-type=FAIL"]}' in text
    assert 'big: {partition: "long", cpus: 8, mem: 64000M, time: 10h}' in text
    assert "'cluster-status' is not imported" in proc.stderr
    assert dvhpc("validate", str(spec), cwd=tmp_path).returncode == 0


def test_unmappable_values_are_reported_not_dropped(tmp_path):
    profile = tmp_path / "config.yaml"
    profile.write_text("executor: slurm\ndefault-resources:\n  runtime: 60\n  foo_bar: 3\n"
                       "set-resources:\n  x:\n    mem_mb: \"max(2 * input.size_mb, 1000)\"\n")
    proc = dvhpc("import", str(profile), "--site", "x", cwd=tmp_path)
    # issue 15: a resource the SLURM plugin never sends to sbatch loses no sbatch meaning (info, located);
    # a value a spec cannot express is a located error (DV506, "cannot be expressed")
    assert "config.yaml:4:12: info[DV503]: resource 'foo_bar' is not sent to SLURM" in proc.stderr
    assert "config.yaml:7:13: error[DV506]" in proc.stderr and "input.size_mb" in proc.stderr
    assert proc.returncode == 1


def test_missing_profile_and_existing_output(tmp_path):
    proc = dvhpc("import", str(tmp_path), "--site", "x", cwd=tmp_path)
    assert proc.returncode == 1 and "no Snakemake profile" in proc.stderr
    (tmp_path / "config.yaml").write_text("executor: slurm\n")
    (tmp_path / "out.yaml").write_text("keep me\n")
    proc = dvhpc("import", str(tmp_path), "--site", "x", "-o", str(tmp_path / "out.yaml"), cwd=tmp_path)
    assert proc.returncode == 2 and (tmp_path / "out.yaml").read_text() == "keep me\n"
    assert dvhpc("import", str(tmp_path), "--site", "Bad Name", cwd=tmp_path).returncode == 2
