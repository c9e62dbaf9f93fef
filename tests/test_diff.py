"""`dvhpc diff`: spec pairs (tests/fixtures/diff), output formats, exit codes, git revisions,
generated folders, and the drift summary of `dvhpc compile --check`."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import FIXTURES, SITES, dvhpc_env

DIFF = FIXTURES / "diff"
CASES = sorted(p.name for p in DIFF.iterdir() if p.is_dir())
GOLDEN = [case for case in CASES if (DIFF / case / "expected.txt").is_file()]
AREAS = {"profile", "rules", "partitions", "environment", "paths", "datasets", "detect", "settings", "files"}


def pair(case: str) -> tuple[str, str]:
    folder = DIFF / case
    (old,) = [p.name for p in folder.glob("old.*")]
    (new,) = [p.name for p in folder.glob("new.*")]
    return old, new


def expected(case: str) -> str:
    return (DIFF / case / "expected.txt").read_text(encoding="utf-8")


def lines_of(area: str, text: str) -> list[str]:
    """The change lines of one area in text output (without the two-space indent)."""
    out, inside = [], False
    for line in text.splitlines():
        if not line.startswith(" "):
            inside = line == f"{area}:"
        elif inside:
            out.append(line.strip())
    return out


# ------------------------------------------------------------------------------ spec pairs

def test_every_case_has_a_pair_and_every_golden_case_is_listed():
    assert len(CASES) >= 10
    for case in CASES:
        pair(case)
    assert {"rule_value", "set_value", "default_value", "added_removed_rule", "partition_limit", "environment_paths",
            "renamed_set", "written_differently", "toml_vs_yaml"} <= set(GOLDEN)


@pytest.mark.parametrize("case", GOLDEN)
def test_text_output_is_exactly_the_expected(case, dvhpc_main):
    old, new = pair(case)
    code, out, err = dvhpc_main("diff", old, new, cwd=DIFF / case)
    assert out == expected(case)
    assert code == (0 if expected(case).startswith("no effective change") else 1), err
    assert err == ""


@pytest.mark.parametrize("case", ["renamed_set", "written_differently", "toml_vs_yaml"])
def test_same_meaning_is_no_change_both_ways(case, dvhpc_main):
    old, new = pair(case)
    for a, b in ((old, new), (new, old)):
        code, out, err = dvhpc_main("diff", a, b, cwd=DIFF / case)
        assert (code, out, err) == (0, f"no effective change between {a} and {b}\n", "")


def test_set_change_says_via_set_for_every_rule_using_it(run_dvhpc):
    code, out, err = run_dvhpc("diff", "old.yaml", "new.yaml", cwd=DIFF / "set_value")
    assert code == 1, err
    assert lines_of("rules", out) == [
        "long_train: mem 80G → 120G (81920 → 122880 MiB) (via set gpu_train); partition gpu (unchanged)",
        "test_model: mem 80G → 120G (81920 → 122880 MiB) (via set gpu_train); partition gpu (unchanged)",
        "train_model: mem 80G → 120G (81920 → 122880 MiB) (via set gpu_train); "
        "time 13h20m → 16h (800 → 960 min) (via set gpu_train); partition gpu (unchanged)",
    ]
    assert out.splitlines()[:2] == ["--- old.yaml", "+++ new.yaml"]


def test_default_change_in_an_extended_layer_says_via_defaults(run_dvhpc):
    code, out, _ = run_dvhpc("diff", "old.yaml", "new.yaml", cwd=DIFF / "default_value")
    assert code == 1
    assert lines_of("rules", out) == [
        "defaults: mem 4G → 6G (4096 → 6144 MiB) (via defaults); partition cpu (unchanged)",
        "plain: mem 4G → 6G (4096 → 6144 MiB) (via defaults); partition cpu (unchanged)",
    ]


def test_rule_value_and_added_removed_rule(dvhpc_main):
    _, out, _ = dvhpc_main("diff", "old.yaml", "new.yaml", cwd=DIFF / "rule_value")
    assert lines_of("rules", out) == ["prep: mem 8G → 12G (8192 → 12288 MiB); partition cpu (unchanged)"]
    _, out, _ = dvhpc_main("diff", "old.yaml", "new.yaml", cwd=DIFF / "added_removed_rule")
    assert lines_of("rules", out) == ["evaluate: added (partition cpu; account lab; cpus 8; mem 4G; time 3h)",
                                      "prep: removed"]


def test_partition_limit_shows_in_partitions_and_in_the_capped_rule(dvhpc_main):
    code, out, _ = dvhpc_main("diff", "old.yaml", "new.yaml", cwd=DIFF / "partition_limit")
    assert code == 1
    (rule,) = lines_of("rules", out)
    assert rule.startswith("long_train: attempts ") and "2: 1440 min" in rule and "2: 2400 min" in rule
    (partition,) = lines_of("partitions", out)
    assert partition.startswith("gpu: ") and "1d" in partition and "2d" in partition


def test_environment_and_paths(dvhpc_main):
    code, out, _ = dvhpc_main("diff", "old.yaml", "new.yaml", cwd=DIFF / "environment_paths")
    assert code == 1
    assert lines_of("environment", out) == [
        'modules.load: ["python/3.11"] → ["python/3.12"]',
        "variables.HF_HOME: added (${SCRATCH}/hf)",
        "variables.WANDB_DIR: ${SCRATCH}/wandb → ${SCRATCH}/wandb2",
    ]
    assert lines_of("paths", out) == ["data.cluster: /scratch/${USER}/data → /vast/${USER}/data"]
    assert lines_of("rules", out) == []


@pytest.mark.parametrize("case", CASES)
def test_no_change_line_shows_the_same_old_and_new(case, monkeypatch):
    """A change whose old and new text are equal tells the reader nothing (gpu_flag: only the
    sbatch arguments of rules with retries change, and they were shown as equal attempt lists)."""
    from dvhpc.report.diagnostics import Report
    from dvhpc.tools.diff import diff_sides

    monkeypatch.chdir(DIFF / case)
    _, _, changes = diff_sides(*pair(case), Report())
    same = [(c.item, f.key, f.old) for c in changes for f in c.fields if f.old == f.new]
    assert same == []


# ------------------------------------------------------------------------------ formats and exit codes

def test_exit_codes(tmp_path, dvhpc_main):
    case = DIFF / "set_value"
    assert dvhpc_main("diff", "old.yaml", "old.yaml", cwd=case)[0] == 0
    assert dvhpc_main("diff", "old.yaml", "new.yaml", cwd=case)[0] == 1
    code, out, err = dvhpc_main("diff", "old.yaml", "missing.yaml", cwd=case)
    assert code == 2 and out == "" and "missing.yaml" in err
    (tmp_path / "bad.yaml").write_text("dvhpc: 1\nsite: bad\nresources:\n  defaults: {mem: 16000}\n")
    code, _, err = dvhpc_main("diff", str(case / "old.yaml"), "bad.yaml", cwd=tmp_path)
    assert code == 2 and "bad.yaml:4:19: error[DV204]" in err and "the spec has errors" in err
    (tmp_path / "empty").mkdir()
    code, _, err = dvhpc_main("diff", str(case / "old.yaml"), "empty", cwd=tmp_path)
    assert code == 2 and "not a dvhpc output folder" in err
    code, _, err = dvhpc_main("diff", str(SITES / "base.yaml"), str(case / "old.yaml"))
    assert code == 2 and "abstract" in err
    assert dvhpc_main("diff", "old.yaml", cwd=case)[0] == 2  # usage
    assert dvhpc_main("diff", "old.yaml", "new.yaml", "--format", "yaml", cwd=case)[0] == 2


def test_quiet_prints_nothing(run_dvhpc):
    case = DIFF / "set_value"
    assert run_dvhpc("diff", "old.yaml", "new.yaml", "--quiet", cwd=case) == (1, "", "")
    assert run_dvhpc("diff", "old.yaml", "old.yaml", "-q", cwd=case) == (0, "", "")
    assert run_dvhpc("diff", "old.yaml", "new.yaml", "-q", "--format", "json", cwd=case) == (1, "", "")
    assert run_dvhpc("diff", "old.yaml", "new.yaml", "-q", "--unified", cwd=case) == (1, "", "")


def test_json_shape_and_determinism(run_dvhpc):
    case = DIFF / "set_value"
    first = subprocess.run([*_python_m(), "diff", "old.yaml", "new.yaml", "--format", "json"], cwd=case,
                           capture_output=True, env=dvhpc_env())
    second = subprocess.run([*_python_m(), "diff", "old.yaml", "new.yaml", "--format", "json"], cwd=case,
                            capture_output=True, env=dvhpc_env())
    assert first.returncode == second.returncode == 1
    assert first.stdout == second.stdout
    data = json.loads(first.stdout)
    assert list(data) == ["old", "new", "changed", "changes"]
    assert (data["old"], data["new"], data["changed"]) == ("old.yaml", "new.yaml", True)
    for change in data["changes"]:
        assert list(change) == ["area", "item", "kind", "fields", "unchanged"]
        assert change["area"] in AREAS and change["kind"] in ("added", "removed", "changed")
        for f in change["fields"]:
            assert list(f) == ["key", "old", "new", "via"]
        for u in change["unchanged"]:
            assert list(u) == ["key", "value"]
    assert [(c["area"], c["item"], c["kind"]) for c in data["changes"]] == [
        ("rules", "long_train", "changed"), ("rules", "test_model", "changed"), ("rules", "train_model", "changed")]
    train = data["changes"][2]
    assert [f["key"] for f in train["fields"]] == ["mem", "time"]
    assert train["fields"][0]["old"] == "80G" and train["fields"][0]["new"].startswith("120G")
    assert all(f["via"].endswith("set gpu_train") for f in train["fields"])
    assert train["unchanged"] == [{"key": "partition", "value": "gpu"}]
    code, out, _ = run_dvhpc("diff", "old.yaml", "old.yaml", "--format", "json", cwd=case)
    assert code == 0 and json.loads(out) == {"old": "old.yaml", "new": "old.yaml", "changed": False, "changes": []}


def test_json_old_and_new_are_the_same_kind_of_value(dvhpc_main):
    """`old` is "80G" but `new` was "120G (81920 → 122880 MiB)": a consumer cannot compare them.
    The MiB/minute numbers belong in their own fields (or only in the text format)."""
    _, out, _ = dvhpc_main("diff", "old.yaml", "new.yaml", "--format", "json", cwd=DIFF / "set_value")
    train = json.loads(out)["changes"][2]
    assert [(f["key"], f["old"], f["new"]) for f in train["fields"]] == [("mem", "80G", "120G"),
                                                                          ("time", "13h20m", "16h")]


def test_markdown(dvhpc_main):
    case = DIFF / "set_value"
    code, out, _ = dvhpc_main("diff", "old.yaml", "new.yaml", "--format", "markdown", cwd=case)
    assert code == 1
    lines = out.splitlines()
    assert lines[0] == "**dvhpc diff** `old.yaml` → `new.yaml`"
    assert "### rules" in lines
    assert ("- `train_model`: mem `80G` → `120G` (81920 → 122880 MiB) (via `set gpu_train`); "
            "time `13h20m` → `16h` (800 → 960 min) (via `set gpu_train`); partition `gpu` (unchanged)") in lines
    code, out, _ = dvhpc_main("diff", "old.yaml", "old.yaml", "--format", "markdown", cwd=case)
    assert (code, out) == (0, "**dvhpc diff**: no effective change between `old.yaml` and `old.yaml`.\n")


def test_unified_diff_of_generated_files(dvhpc_main):
    code, out, _ = dvhpc_main("diff", "old.yaml", "new.yaml", "--unified", cwd=DIFF / "set_value")
    assert code == 1
    lines = out.splitlines()
    assert "--- a/resources.yaml" in lines and "+++ b/resources.yaml" in lines
    assert '-      human: "80G"' in lines and '+      human: "120G"' in lines
    assert "--- a/profile/config.v9+.yaml" in lines
    assert not any("MANIFEST.json" in line for line in lines)
    code, out, _ = dvhpc_main("diff", "old.yaml", "old.yaml", "--unified", cwd=DIFF / "set_value")
    assert (code, out) == (0, "")


def test_rule_named_defaults_does_not_hide_a_change_of_resources_defaults(tmp_path, dvhpc_main):
    """`rules.defaults` and `resources.defaults` were keyed alike, so the rule shadowed the defaults."""
    spec = ("dvhpc: 1\nsite: s\nslurm:\n  partitions:\n    cpu: {default: true}\nresources:\n"
            "  defaults: {cpus: 2, mem: %s, time: 1h}\n  rules:\n"
            "    defaults: {cpus: 3, mem: 1G, time: 2h}\n    prep: {cpus: 1, mem: 1G, time: 1h}\n")
    (tmp_path / "old.yaml").write_text(spec % "4G")
    (tmp_path / "new.yaml").write_text(spec % "6G")
    code, out, _ = dvhpc_main("diff", "old.yaml", "new.yaml", cwd=tmp_path)
    assert code == 1 and "4G → 6G" in out


# ------------------------------------------------------------------------------ generated folders

def _python_m() -> list[str]:
    import sys

    return [sys.executable, "-m", "dvhpc"]


def _compile_as(project: Path, spec: Path, out: str, name: str = "mini.yaml") -> None:
    (project / "sites").mkdir(exist_ok=True)
    shutil.copy(spec, project / "sites" / name)
    proc = subprocess.run([*_python_m(), "compile", f"sites/{name}", "--out", out], cwd=project,
                          capture_output=True, text=True, env=dvhpc_env())
    assert proc.returncode == 0, proc.stderr


def test_two_generated_folders(tmp_path, run_dvhpc):
    case = DIFF / "set_value"
    _compile_as(tmp_path, case / "old.yaml", "out1")
    _compile_as(tmp_path, case / "new.yaml", "out2")
    code, out, err = run_dvhpc("diff", "out1/mini", "out2/mini", cwd=tmp_path)
    assert code == 1, err
    assert out == (
        "--- out1/mini\n+++ out2/mini\nrules:\n"
        "  long_train: mem 80G → 120G (81920 → 122880 MiB); partition gpu (unchanged)\n"
        "  test_model: mem 80G → 120G (81920 → 122880 MiB); partition gpu (unchanged)\n"
        "  train_model: mem 80G → 120G (81920 → 122880 MiB); time 13h20m → 16h (800 → 960 min); "
        "partition gpu (unchanged)\n")
    assert run_dvhpc("diff", "out1/mini", "out1/mini", cwd=tmp_path)[0] == 0
    # a folder against a spec: the spec side knows where values came from
    code, out, _ = run_dvhpc("diff", "out1/mini", "sites/mini.yaml", cwd=tmp_path)
    assert code == 1
    assert ("  train_model: mem 80G → 120G (81920 → 122880 MiB) (via set gpu_train); time 13h20m → 16h "
            "(800 → 960 min) (via set gpu_train); partition gpu (unchanged)") in out.splitlines()
    code, out, _ = run_dvhpc("diff", "out2/mini", "sites/mini.yaml", cwd=tmp_path)
    assert (code, out) == (0, "no effective change between out2/mini and sites/mini.yaml\n")


@pytest.mark.parametrize("damage, message", [
    ("a: [\n", "out2/mini/resources.yaml:{after}:1: error[DV403]: YAML syntax error: "
              "did not find expected node content"),
    ("rules: {}\n", "out2/mini/resources.yaml:{line}:1: error[DV403]: duplicate key 'rules'"),
    ("x: !!python/name:os.system ''\n", "out2/mini/resources.yaml:{line}:4: error[DV403]: YAML tag "
                                        "'tag:yaml.org,2002:python/name:os.system'; dvhpc writes none"),
])
def test_a_broken_generated_folder_is_an_error_with_its_place(tmp_path, run_dvhpc, damage, message):
    """A folder side is anybody's files: a hand-broken resources.yaml is exit 2 with a DV403 at its
    file:line:col (it was an internal error, exit 3)."""
    case = DIFF / "set_value"
    _compile_as(tmp_path, case / "old.yaml", "out1")
    _compile_as(tmp_path, case / "old.yaml", "out2")
    resources = tmp_path / "out2" / "mini" / "resources.yaml"
    line = resources.read_text().count("\n") + 1
    resources.write_text(resources.read_text() + damage)
    code, out, err = run_dvhpc("diff", "out1/mini", "out2/mini", cwd=tmp_path)
    assert (code, out) == (2, "")
    assert err.splitlines()[0] == message.format(line=line, after=line + 1)  # a syntax error: at the end
    assert "run `dvhpc compile` to write the folder again" in err


def test_generated_folders_from_differently_named_specs_of_the_same_site(tmp_path, dvhpc_main):
    """Every generated file starts with `Generated by dvhpc from <spec path>`: that header alone
    made bootstrap.sh, run.sh, jobs.sh and site_paths.py "changed" (exit 1) for the same site."""
    case = DIFF / "written_differently"
    _compile_as(tmp_path, case / "old.yaml", "out1", "mini.yaml")
    _compile_as(tmp_path, case / "new.yaml", "out2", "mini-v2.yaml")
    code, out, _ = dvhpc_main("diff", "out1/mini", "out2/mini", cwd=tmp_path)
    assert (code, out) == (0, "no effective change between out1/mini and out2/mini\n")
    code, out, _ = dvhpc_main("diff", "out1/mini", "sites/mini-v2.yaml", cwd=tmp_path)
    assert (code, out) == (0, "no effective change between out1/mini and sites/mini-v2.yaml\n")


# ------------------------------------------------------------------------------ compile --check

@pytest.fixture
def stale_example(tmp_path, run_dvhpc) -> Path:
    shutil.copytree(SITES, tmp_path / "sites")
    code, _, err = run_dvhpc("compile", "sites/example.yaml", cwd=tmp_path)
    assert code == 0, err
    spec = tmp_path / "sites" / "example.yaml"
    text = spec.read_text()
    assert "cpus: 16, mem: 80G, time: 13h20m}" in text
    spec.write_text(text.replace("cpus: 16, mem: 80G, time: 13h20m}", "cpus: 16, mem: 120G, time: 13h20m}"))
    return tmp_path


def test_compile_check_up_to_date_has_no_summary(tmp_path, run_dvhpc):
    shutil.copytree(SITES, tmp_path / "sites")
    assert run_dvhpc("compile", "sites/example.yaml", cwd=tmp_path)[0] == 0
    code, out, _ = run_dvhpc("compile", "sites/example.yaml", "--check", cwd=tmp_path)
    assert (code, out) == (0, "generated/example: up to date\n")


def test_compile_check_prints_the_semantic_summary(stale_example, run_dvhpc):
    code, out, _ = run_dvhpc("compile", "sites/example.yaml", "--check", cwd=stale_example)
    assert code == 1
    lines = out.splitlines()
    assert lines[0] == "generated/example: out of date"
    rules = [line for line in lines if line.startswith("  rules: ")]
    assert [line.split(":")[1].strip() for line in rules] == ["test_model", "train_model"]
    assert all(" mem 80G → 120G (81920 → 122880 MiB)" in line for line in rules)
    assert "  differs: generated/example/resources.yaml" in lines


def test_compile_check_summary_is_the_same_as_diff(stale_example, run_dvhpc):
    """The issue: --check prints "the same semantic summary" as diff; it lost `via set gpu_train`
    because the new side was built without its model."""
    _, check_out, _ = run_dvhpc("compile", "sites/example.yaml", "--check", cwd=stale_example)
    _, diff_out, _ = run_dvhpc("diff", "generated/example", "sites/example.yaml", cwd=stale_example)
    wanted = [f"  rules: {line}" for line in lines_of("rules", diff_out)]
    assert wanted and all("(via set gpu_train)" in line for line in wanted)
    assert [line for line in check_out.splitlines() if line.startswith("  rules: ")] == wanted


# ------------------------------------------------------------------------------ git revisions

BASE = "dvhpc: 1\nabstract: true\nresources:\n  defaults: {cpus: 1, mem: %s, time: %s}\n"
SITE = """dvhpc: 1
site: x
extends: [../layers/base.yaml]
slurm:
  partitions:
    cpu: {default: true, max_time: 1d}
resources:
  rules:
    prep: {mem: %s}
    plain: {}
"""


def git(repo: Path, *args: str) -> str:
    proc = subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.org", "-c", "commit.gpgsign=false",
                           *args], cwd=repo, capture_output=True, text=True, check=True)
    return proc.stdout


@pytest.fixture
def repo(tmp_path) -> Path:
    """Commit 1: site + base (time 30min). Commit 2: base time 45min. Work tree: base mem 6G, prep 16G."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    root = tmp_path / "repo"
    (root / "layers").mkdir(parents=True)
    (root / "sites").mkdir()
    git(root, "init", "-q")
    (root / "layers" / "base.yaml").write_text(BASE % ("4G", "30min"))
    (root / "sites" / "x.yaml").write_text(SITE % "8G")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "one")
    (root / "layers" / "base.yaml").write_text(BASE % ("4G", "45min"))
    git(root, "commit", "-q", "-am", "two: only the base changes")
    (root / "layers" / "base.yaml").write_text(BASE % ("6G", "45min"))
    (root / "sites" / "x.yaml").write_text(SITE % "16G")
    return root


def test_git_revision_reads_the_extends_chain_at_that_revision(repo, run_dvhpc):
    code, out, err = run_dvhpc("diff", "HEAD~1:sites/x.yaml", "HEAD:sites/x.yaml", cwd=repo)
    assert code == 1, err
    assert out.splitlines()[:2] == ["--- HEAD~1:sites/x.yaml", "+++ HEAD:sites/x.yaml"]
    assert lines_of("rules", out) == [
        "defaults: time 30min → 45min (30 → 45 min) (via defaults); partition cpu (unchanged)",
        "plain: time 30min → 45min (30 → 45 min) (via defaults); partition cpu (unchanged)",
        "prep: time 30min → 45min (30 → 45 min) (via defaults); partition cpu (unchanged)",
    ]


def test_git_revision_against_the_work_tree(repo, run_dvhpc):
    code, out, _ = run_dvhpc("diff", "HEAD:sites/x.yaml", "sites/x.yaml", cwd=repo)
    assert code == 1
    assert lines_of("rules", out) == [
        "defaults: mem 4G → 6G (4096 → 6144 MiB) (via defaults); partition cpu (unchanged)",
        "plain: mem 4G → 6G (4096 → 6144 MiB) (via defaults); partition cpu (unchanged)",
        "prep: mem 8G → 16G (8192 → 16384 MiB); partition cpu (unchanged)",
    ]
    code, out, _ = run_dvhpc("diff", "HEAD~1:sites/x.yaml", "sites/x.yaml", cwd=repo)
    assert code == 1
    assert ("plain: mem 4G → 6G (4096 → 6144 MiB) (via defaults); time 30min → 45min (30 → 45 min) (via defaults); "
            "partition cpu (unchanged)") in lines_of("rules", out)
    assert run_dvhpc("diff", "HEAD:sites/x.yaml", "HEAD:sites/x.yaml", cwd=repo)[:2] == (
        0, "no effective change between HEAD:sites/x.yaml and HEAD:sites/x.yaml\n")


def test_git_revision_from_a_subfolder(repo, run_dvhpc):
    code, out, _ = run_dvhpc("diff", "HEAD~1:x.yaml", "HEAD:x.yaml", cwd=repo / "sites")
    assert code == 1 and "plain: time 30min → 45min (30 → 45 min) (via defaults)" in out


def test_git_revision_that_names_a_branch_with_a_slash(repo, run_dvhpc):
    """`release/v1:sites/x.yaml` was taken for a file path (the '/' test in _is_rev_spec)."""
    git(repo, "branch", "release/v1", "HEAD~1")
    code, out, err = run_dvhpc("diff", "release/v1:sites/x.yaml", "HEAD:sites/x.yaml", cwd=repo)
    assert code == 1, err
    assert "plain: time 30min → 45min (30 → 45 min) (via defaults); partition cpu (unchanged)" in out


def test_git_base_missing_at_the_revision_is_read_from_git_not_disk(repo, run_dvhpc):
    (repo / "layers" / "extra.yaml").write_text(BASE % ("2G", "1h"))  # never committed
    (repo / "sites" / "y.yaml").write_text(SITE.replace("base.yaml", "extra.yaml").replace("site: x", "site: y") % "8G")
    git(repo, "add", "sites/y.yaml")
    git(repo, "commit", "-q", "-m", "y")
    assert run_dvhpc("validate", "sites/y.yaml", cwd=repo)[0] == 0
    code, out, err = run_dvhpc("diff", "HEAD:sites/y.yaml", "sites/y.yaml", cwd=repo)
    assert code == 2 and out == ""
    assert "layers/extra.yaml" in err and "HEAD" in err and "Traceback" not in err


def test_git_errors_exit_2(repo, tmp_path, run_dvhpc):
    code, out, err = run_dvhpc("diff", "HEAD~9:sites/x.yaml", "sites/x.yaml", cwd=repo)
    assert code == 2 and out == "" and "'HEAD~9' is not a git revision" in err
    code, out, err = run_dvhpc("diff", "HEAD:sites/nope.yaml", "sites/x.yaml", cwd=repo)
    assert code == 2 and out == "" and "sites/nope.yaml" in err and "'HEAD'" in err
    assert "Traceback" not in err
    # no git repository
    plain = tmp_path / "plain"
    shutil.copytree(repo / "sites", plain / "sites")
    shutil.copytree(repo / "layers", plain / "layers")
    env = dvhpc_env(GIT_CEILING_DIRECTORIES=str(tmp_path))
    code, out, err = run_dvhpc("diff", "HEAD:sites/x.yaml", "sites/x.yaml", cwd=plain, env=env)
    assert code == 2 and out == "" and "not a git repository" in err
    # git not installed
    empty = tmp_path / "bin"
    empty.mkdir()
    code, out, err = run_dvhpc("diff", "HEAD:sites/x.yaml", "sites/x.yaml", cwd=repo,
                               env=dvhpc_env(PATH=str(empty)))
    assert code == 2 and out == "" and "git is not installed" in err


def test_a_file_named_like_a_revision_is_a_file(tmp_path, run_dvhpc):
    shutil.copy(DIFF / "set_value" / "old.yaml", tmp_path / "HEAD:old.yaml")
    code, out, err = run_dvhpc("diff", "HEAD:old.yaml", str(DIFF / "set_value" / "new.yaml"), cwd=tmp_path,
                               env=dvhpc_env(GIT_CEILING_DIRECTORIES=str(tmp_path.parent)))
    assert code == 1, err
    assert "train_model: mem 80G → 120G" in out



# ------------------------------------------------------------------------------ scale (issue 19, item 16)

def test_emitted_data_is_what_the_generated_yaml_reads_back_as():
    """diff compares a spec side's emitted data without writing it out: that data must be what a
    folder side reads from the written files."""
    from dvhpc.build import generate, site_for_output
    from dvhpc.pipeline import check
    from dvhpc.tools.diff import PROFILE_YAML, PROFILE_YAMLS, RESOURCES_YAML, emitted_data, read_generated_yaml

    for spec in sorted(SITES.glob("*.yaml")):
        checked = check(str(spec))
        if checked.abstract:
            continue
        files = generate(checked, Path("generated"))
        data = emitted_data(site_for_output(checked, Path("generated")))
        profile = next(name for name in files if name in PROFILE_YAMLS)  # its name follows the declared range
        for name, path in ((PROFILE_YAML, profile), (RESOURCES_YAML, RESOURCES_YAML)):
            assert data[name] == read_generated_yaml(files[path].content, path), (spec.name, name)


@pytest.mark.slow
def test_20000_rules_diff_and_check(tmp_path):
    """What compile can write, diff and --check can read: 20,000 rules made a resources.yaml over
    the loader's node limit (diff exit 2, a stale --check exit 3)."""
    import copy
    import sys

    from conftest import REPO
    from dvhpc.build import compile_specs
    from dvhpc.report.diagnostics import Report
    from dvhpc.tools.diff import change_line, compare, drift, view_of

    sys.path.insert(0, str(REPO / "bench"))
    import specgen

    old = specgen.site_data(specgen.SEED, "big", rules=20000, partitions=8, sets=6)
    new = copy.deepcopy(old)
    new["snakemake"]["jobs"] = 321
    gone = sorted(new["resources"]["rules"])[-1]
    del new["resources"]["rules"][gone]
    spec = tmp_path / "big.yaml"
    spec.write_text(specgen.to_yaml(old))
    report = Report()
    [result] = compile_specs([str(spec)], tmp_path / "generated", report=report)
    assert result.written and not report.items
    (tmp_path / "old.yaml").write_text(spec.read_text())
    spec.write_text(specgen.to_yaml(new))
    expected = [f"profile: jobs: {old['snakemake']['jobs']} → 321", f"rules: {gone}: removed"]

    [result] = compile_specs([str(spec)], tmp_path / "generated", check_only=True, report=report)
    assert not report.items, [d.message for d in report.items]
    assert result.plan.stale
    assert drift(result.plan.site_dir, result.files, result.checked.site) == expected

    # (--check read the 20,000-rule folder back; diff of two specs compares the emitted data)
    old_side, new_side = view_of(str(tmp_path / "old.yaml"), report), view_of(str(spec), report)
    assert [f"{c.area}: {change_line(c)}" for c in compare(old_side, new_side)] == expected
    assert not report.items


@pytest.mark.parametrize("direction", ["set_to_rule", "rule_to_set"])
def test_via_is_the_origin_explain_shows(tmp_path, dvhpc_main, direction):
    """Issue 17: `gpus 1 → 2 (via set gpu_job)` where explain (rightly) says the rule's own key. Both
    commands take the value's origin from one function; diff credits the new side's value."""
    from dvhpc.pipeline import check
    from dvhpc.tools.explain import explain_resources

    spec = ("dvhpc: 1\nsite: demo\nslurm:\n  accounting: false\n  partitions:\n"
            "    gpu: {default: true, gpus: {a100: 4}}\nresources:\n  sets:\n    gpu_job: {gpus: 1}\n"
            "  rules:\n    train: {use: gpu_job%s}\n")
    own, via_set = tmp_path / "own.yaml", tmp_path / "set.yaml"
    own.write_text(spec % ", gpus: 2", encoding="utf-8")
    via_set.write_text(spec % "", encoding="utf-8")
    old, new = (via_set, own) if direction == "set_to_rule" else (own, via_set)
    status, out, _ = dvhpc_main("diff", "--format", "json", str(old), str(new))
    assert status == 1
    [train] = [c for c in json.loads(out)["changes"] if c["item"] == "train"]
    [field] = train["fields"]
    site = check(str(new)).site
    [shown] = [v for v in explain_resources(site, site.rules["train"])["values"] if v["key"] == "gpus"]
    assert shown["from"] == ("rule train" if direction == "set_to_rule" else "set gpu_job")
    assert field["via"] == (None if shown["from"] == "rule train" else f"via {shown['from']}")
