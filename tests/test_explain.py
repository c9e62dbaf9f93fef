"""`dvhpc explain`: every resolved value with its emitted form and the layer it came from
(defaults in an extended file, a set, the rule, partition default, built-in default, slurm.account),
per-attempt values with sbatch arguments, `--all --format json`, unknown rules, usage errors."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from conftest import REPO, SITES

# Positions below are 1-based line:column of the value in these exact texts.
BASE = """\
dvhpc: 1
abstract: true
snakemake:
  jobs: 50
  options: {show-failed-logs: true}
resources:
  defaults: {cpus: 1, mem: 4G, time: 30min}
settings:
  num_workers: {cluster: 8, local: 2}
"""
SITE = """\
dvhpc: 1
site: x
extends: [../layers/base.yaml]
slurm:
  account: grp
  partitions:
    cpu: {default: true, max_time: 2d, cpus: 48, mem: 180G}
    gpu: {max_time: 5d, cpus: 48, mem: 360G, gpus: {a100: 4}}
snakemake:
  restart_times: 1
resources:
  sets:
    gpu_train: {partition: gpu, gpus: 1, gpu_type: a100, cpus: 16, mem: 80G, time: 13h20m}
  rules:
    train_model: {use: gpu_train, time: 30h}
    prep: {mem: 8G}
    long_train: {use: gpu_train, time: 4d, retry: {time: 2x, mem: 2x}}
    own_account: {account: other, partition: gpu}
paths:
  data: {cluster: /scratch/data, local: ~/data}
settings:
  batch_size: {cluster: 256, local: 3}
"""
BARE = """\
dvhpc: 1
site: bare
slurm:
  partitions:
    cpu: {default: true}
resources:
  rules:
    prep: {mem: 8G}
"""
X = "sites/x.yaml"
B = "layers/base.yaml"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """sites/x.yaml extends ../layers/base.yaml (another folder); sites/bare.yaml sets almost nothing."""
    (tmp_path / "layers").mkdir()
    (tmp_path / "sites").mkdir()
    (tmp_path / "layers" / "base.yaml").write_text(BASE)
    (tmp_path / "sites" / "x.yaml").write_text(SITE)
    (tmp_path / "sites" / "bare.yaml").write_text(BARE)
    return tmp_path


def explain_json(dvhpc_main, project: Path, spec: str, *args: str) -> dict:
    code, out, err = dvhpc_main("explain", spec, *args, "--format", "json", cwd=project)
    assert code == 0, err
    return json.loads(out)


def rows(rule: dict) -> dict[str, dict]:
    return {row["key"]: row for row in rule["values"]}


def origin(row: dict) -> tuple:
    return (row["from"], row.get("file"), row.get("line"), row.get("column"))


def test_provenance_of_each_layer(project, dvhpc_main):
    data = explain_json(dvhpc_main, project, X, "train_model", "prep")
    assert data["site"] == "x"
    train, prep = data["rules"]
    assert (train["rule"], train["file"], train["line"], train["column"], train["sets"]) == (
        "train_model", X, 15, 5, ["gpu_train"])
    t, p = rows(train), rows(prep)
    # a set
    assert origin(t["partition"]) == ("set gpu_train", X, 13, 28)
    assert origin(t["mem"]) == ("set gpu_train", X, 13, 73)
    assert (t["mem"]["value"], t["mem"]["profile"]) == ("80G (81920 MiB)", {"mem_mb": 81920})
    # the rule: "why did my job get 30 hours?"
    assert origin(t["time"]) == ("rule train_model", X, 15, 41)
    assert (t["time"]["value"], t["time"]["profile"]) == ("1d6h (1800 min)", {"runtime": "1800m"})
    # slurm.account
    assert origin(t["account"]) == ("slurm.account", X, 5, 12)
    assert t["account"]["profile"] == {"slurm_account": "str('grp')"}
    # defaults, from the extended file in another folder
    assert origin(p["cpus"]) == ("defaults", B, 7, 20)
    assert p["cpus"]["profile"] == {"cpus_per_task": 1, "threads": 1}
    assert origin(p["time"]) == ("defaults", B, 7, 38)
    assert p["time"]["value"] == "30min (30 min)"
    # partition default: the rule names no partition, cpu is the default partition
    assert origin(p["partition"]) == ("partition default", X, 7, 5)
    assert origin(p["mem"]) == ("rule prep", X, 16, 17)
    assert prep["sets"] == []


def test_rule_override_of_account_and_partition(project, dvhpc_main):
    (rule,) = explain_json(dvhpc_main, project, X, "own_account")["rules"]
    r = rows(rule)
    assert origin(r["account"]) == ("rule own_account", X, 18, 28)
    assert origin(r["partition"]) == ("rule own_account", X, 18, 46)
    assert r["account"]["profile"] == {"slurm_account": "str('other')"}


def test_keys_no_layer_sets_are_engine_defaults(project, dvhpc_main):
    """Not set is a state: no value is invented; explain names what the engine picks, and the
    profile carries nothing for it (Snakemake and SLURM apply their own defaults)."""
    data = explain_json(dvhpc_main, project, "sites/bare.yaml", "prep", "defaults")
    for rule in data["rules"]:
        r = rows(rule)
        for key in ("cpus", "time", "account"):  # no slurm.account, no rule account
            assert origin(r[key]) == ("Snakemake/SLURM default", None, None, None), key
            assert r[key]["value"] == "(not set)" and r[key]["profile"] == {}
        assert "threads" in r["cpus"]["default"] and "DefaultTime" in r["time"]["default"]
        assert origin(r["partition"]) == ("partition default", "sites/bare.yaml", 5, 5)
        assert all(a["minutes"] is None for a in rule["attempts"])
        assert all("-t" not in a["sbatch"].split() and "--cpus-per-task" not in a["sbatch"] for a in rule["attempts"])
    assert origin(rows(data["rules"][0])["mem"]) == ("rule prep", "sites/bare.yaml", 8, 17)
    assert origin(rows(data["rules"][1])["mem"]) == ("Snakemake/SLURM default", None, None, None)
    code, out, err = dvhpc_main("compile", "sites/bare.yaml", cwd=project)
    assert code == 0, err
    profile = (project / "generated" / "bare" / "profile" / "config.v9+.yaml").read_text()
    for word in ("runtime", "cpus_per_task", "mem_mb: 1024", "jobs:", "set-threads"):
        assert word not in profile, word


def test_text_format(project, dvhpc_main):
    code, out, err = dvhpc_main("explain", X, "train_model", "prep", cwd=project)
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0] == "rule train_model (sites/x.yaml:15:5), sets: gpu_train"
    assert "rule prep (sites/x.yaml:16:5)" in lines

    def line(key: str, after: str) -> list[str]:
        start = lines.index(after)
        found = next(text for text in lines[start + 1:] if text.split()[:1] == [key])
        return re.split(r"\s{2,}", found.strip())

    assert line("time", lines[0]) == ["time", "1d6h (1800 min)", "runtime: 1800m",
                                      "rule train_model at sites/x.yaml:15:41"]
    assert line("mem", lines[0]) == ["mem", "80G (81920 MiB)", "mem_mb: 81920", "set gpu_train at sites/x.yaml:13:73"]
    assert line("cpus", "rule prep (sites/x.yaml:16:5)") == [
        "cpus", "1", "cpus_per_task: 1, threads: 1", "defaults at layers/base.yaml:7:20"]
    assert line("partition", "rule prep (sites/x.yaml:16:5)") == [
        "partition", "cpu", "slurm_partition: str('cpu')", "partition default at sites/x.yaml:7:5"]
    assert line("account", "rule prep (sites/x.yaml:16:5)")[-1] == "slurm.account at sites/x.yaml:5:12"
    assert "    sbatch -A grp -p gpu -t 1800 --mem 81920 --cpus-per-task=16 --gpus=a100:1" in lines


def test_attempts_of_test_model_in_the_example(dvhpc_main):
    code, out, _ = dvhpc_main("explain", "sites/example.yaml", "test_model", "--format", "json", cwd=REPO)
    assert code == 0
    (rule,) = json.loads(out)["rules"]
    assert [(a["attempt"], a["minutes"], a["mem_mib"], a["capped"]) for a in rule["attempts"]] == [
        (1, 120, 81920, []), (2, 180, 163840, [])]
    assert [a["sbatch"] for a in rule["attempts"]] == [
        "-A mylab -p gpu -t 120 --mem 81920 --cpus-per-task=16 --gpus=a100:1",
        "-A mylab -p gpu -t 180 --mem 163840 --cpus-per-task=16 --gpus=a100:1",
    ]
    r = rows(rule)
    assert r["retry"]["value"] == "mem 2x, time 1.5x"
    assert r["time"]["from"] == "rule test_model" and r["mem"]["from"] == "set gpu_train"
    code, out, _ = dvhpc_main("explain", "sites/example.yaml", "test_model", cwd=REPO)
    lines = out.splitlines()
    i = lines.index("  attempt 2: 180 min, 163840 MiB")
    assert lines[i + 1] == "    sbatch -A mylab -p gpu -t 180 --mem 163840 --cpus-per-task=16 --gpus=a100:1"
    assert "  attempt 1: 120 min, 81920 MiB" in lines


def test_attempt_capped_by_the_partition(project, dvhpc_main):
    (rule,) = explain_json(dvhpc_main, project, X, "long_train")["rules"]
    assert [(a["attempt"], a["minutes"], a["mem_mib"], a["capped"]) for a in rule["attempts"]] == [
        (1, 5760, 81920, []), (2, 7200, 163840, ["time"])]
    assert rule["attempts"][1]["sbatch"] == "-A grp -p gpu -t 7200 --mem 163840 --cpus-per-task=16 --gpus=a100:1"
    assert rows(rule)["time"]["profile"] == {"runtime": "min(int(5760 * 2 ** (attempt - 1)), 7200)"}
    code, out, _ = dvhpc_main("explain", X, "long_train", cwd=project)
    assert "  attempt 2: 7200 min, 163840 MiB (capped: time)" in out.splitlines()


def test_all_json_has_defaults_every_rule_and_settings(project, dvhpc_main):
    data = explain_json(dvhpc_main, project, X, "--all")
    assert list(data) == ["site", "rules", "settings"]
    names = [rule["rule"] for rule in data["rules"]]
    assert names[0] == "defaults" and sorted(names[1:]) == ["long_train", "own_account", "prep", "train_model"]
    defaults = data["rules"][0]
    assert (defaults["file"], defaults["line"], defaults["column"]) == (B, 7, 3)
    for rule in data["rules"]:
        assert list(rule)[:1] == ["rule"] and {"sets", "values", "attempts"} <= set(rule)
        for row in rule["values"]:
            assert {"key", "value", "profile", "from"} <= set(row)
            assert ("file" in row) == (row["from"] != "Snakemake/SLURM default")
            if "file" in row:
                assert isinstance(row["line"], int) and isinstance(row["column"], int)
    settings = {row["key"]: row for row in data["settings"]}
    for row in data["settings"]:
        assert {"key", "profile", "spec", "from"} <= set(row)
    assert (settings["jobs"]["spec"], settings["jobs"]["profile"]) == ("snakemake.jobs", 50)
    assert (settings["jobs"]["file"], settings["jobs"]["line"], settings["jobs"]["column"]) == (B, 4, 9)
    assert settings["show-failed-logs"]["spec"] == "snakemake.options.show-failed-logs"
    assert (settings["show-failed-logs"]["file"], settings["show-failed-logs"]["line"]) == (B, 5)
    assert (settings["restart-times"]["file"], settings["restart-times"]["line"]) == (X, 10)
    assert settings["executor"]["from"] == "dvhpc default" and "file" not in settings["executor"]
    assert settings["paths.data.cluster"]["profile"] == "/scratch/data"
    assert (settings["paths.data.cluster"]["spec"], settings["paths.data.cluster"]["file"],
            settings["paths.data.cluster"]["line"]) == ("paths.data", X, 20)


def test_all_json_explains_the_spec_settings_section(project, dvhpc_main):
    """The issue: "For settings and paths the same provenance". The spec's `settings:` entries
    (batch_size here, num_workers from the base) were missing from the explanation."""
    data = explain_json(dvhpc_main, project, X, "--all")
    by_spec = {}
    for row in data["settings"]:
        by_spec.setdefault(row["spec"], row)
    assert "settings.batch_size" in by_spec and "settings.num_workers" in by_spec
    assert (by_spec["settings.batch_size"]["file"], by_spec["settings.batch_size"]["line"]) == (X, 22)
    assert (by_spec["settings.num_workers"]["file"], by_spec["settings.num_workers"]["line"]) == (B, 9)


def test_all_on_the_example(dvhpc_main):
    code, out, _ = dvhpc_main("explain", "sites/example.yaml", "--all", "--format", "json", cwd=REPO)
    assert code == 0
    data = json.loads(out)
    from ruamel.yaml import YAML

    spec = YAML(typ="safe").load((SITES / "example.yaml").read_text())
    names = [rule["rule"] for rule in data["rules"]]
    assert names[0] == "defaults" and sorted(names[1:]) == sorted(spec["resources"]["rules"])
    settings = {row["key"]: row for row in data["settings"]}
    assert settings["show-failed-logs"]["file"] == "sites/base.yaml"  # from the extended base
    assert settings["jobs"]["file"] == "sites/example.yaml"


def test_json_is_deterministic(project, run_dvhpc):
    first = run_dvhpc("explain", X, "--all", "--format", "json", cwd=project)
    second = run_dvhpc("explain", X, "--all", "--format", "json", cwd=project)
    assert first[0] == 0 and first == second


def test_unknown_rule_gets_the_defaults(project, dvhpc_main):
    """Exactly the defaults: the profile has no `set-threads` entry for a rule the spec does not
    list, so its explanation must not claim `threads: 1` (explain_resources added it)."""
    data = explain_json(dvhpc_main, project, X, "not_in_spec", "defaults")
    unknown, defaults = data["rules"]
    assert unknown["rule"] == "not_in_spec" and "file" not in unknown and unknown["sets"] == []
    assert unknown["values"] == defaults["values"] and unknown["attempts"] == defaults["attempts"]
    assert origin(rows(unknown)["cpus"]) == ("defaults", B, 7, 20)
    code, out, _ = dvhpc_main("explain", X, "not_in_spec", cwd=project)
    assert code == 0
    assert out.splitlines()[0] == "rule not_in_spec (no entry in the spec: it gets resources.defaults)"


def test_usage_and_errors(project, run_dvhpc, dvhpc_main):
    code, out, err = run_dvhpc("explain", X, cwd=project)
    assert code == 2 and out == "" and "--all" in err
    assert dvhpc_main("explain", cwd=project)[0] == 2
    assert dvhpc_main("explain", X, "prep", "--format", "yaml", cwd=project)[0] == 2
    code, _, err = dvhpc_main("explain", B, "--all", cwd=project)
    assert code == 1 and "abstract" in err
    (project / "sites" / "bad.yaml").write_text("dvhpc: 1\nsite: bad\nresources:\n  defaults: {mem: 16000}\n")
    code, out, err = dvhpc_main("explain", "sites/bad.yaml", "--all", cwd=project)
    assert code == 1 and out == "" and "sites/bad.yaml:4:19: error[DV204]" in err
    code, _, err = dvhpc_main("explain", "sites/missing.yaml", "--all", cwd=project)
    assert code == 1 and "missing.yaml" in err


def test_explain_agrees_with_the_generated_resources(project, dvhpc_main):
    """The sbatch arguments explain prints are the ones compile writes to resources.yaml."""
    from ruamel.yaml import YAML

    code, _, err = dvhpc_main("compile", X, "--out", "out", cwd=project)
    assert code == 0, err
    resources = YAML(typ="safe").load((project / "out" / "x" / "resources.yaml").read_text())
    data = explain_json(dvhpc_main, project, X, "--all")
    for rule in data["rules"][1:]:
        written = resources["rules"][rule["rule"]]
        sbatch = [a["sbatch"] for a in written["attempts"]] if "attempts" in written else [written["sbatch"]]
        assert [a["sbatch"] for a in rule["attempts"]][: len(sbatch)] == sbatch
