"""The diagnostic rules (`dvhpc.report.codes.RULES`): each rule's failing example yields its code
with its severity and its passing example does not, through `dvhpc lint` as a user runs it;
`--explain`, `--list-codes`, SARIF `rules[]` and `--format json` carry what the rule declares."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from conftest import REPO, run_in_process  # noqa: E402
from dvhpc.report.codes import BY_NAME, RULES  # noqa: E402
from dvhpc.report.rule import EXAMPLE_FILE, Example, Severity, Stage  # noqa: E402

WITH_EXAMPLES = sorted(code for code, rule in RULES.items() if rule.failing is not None)


def lint_example(example: Example, folder: Path) -> tuple[int, list[dict]]:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / EXAMPLE_FILE).write_text(example.text, encoding="utf-8")
    args = ["lint", "--no-shellcheck", "--format", "json", EXAMPLE_FILE]
    if example.workflow is not None:
        (folder / "Snakefile").write_text(example.workflow, encoding="utf-8")
        args += ["--workflow", "Snakefile"]
    if example.cluster is not None:
        (folder / "cluster.json").write_text(example.cluster, encoding="utf-8")
        args += ["--cluster", "cluster.json"]
    status, out, err = run_in_process(*args, cwd=folder)
    assert "Traceback" not in err and "internal error" not in err, err
    return status, json.loads(out)


def test_rules_are_well_formed():
    assert list(RULES) == sorted(RULES)
    assert len(BY_NAME) == len(RULES), "rule names are unique"
    for code, rule in RULES.items():
        assert rule.code == code and re.fullmatch(r"DV\d{3}", code)
        assert re.fullmatch(r"[a-z]+(-[a-z0-9]+)*", rule.name), rule.name
        assert isinstance(rule.severity, Severity) and isinstance(rule.stage, Stage)
        assert rule.summary == rule.summary.strip() and rule.explanation.endswith(".")
        assert rule.message
        # every rule is shown by example specs, or names the test that shows it
        assert (rule.failing is not None and rule.passing is not None) or rule.tested_by, code
        if rule.tested_by.startswith("tests/"):
            assert (REPO / rule.tested_by.split("::")[0].split(" ")[0].rstrip(",")).exists(), rule.tested_by


def test_errors_that_would_let_wrong_output_be_written_cannot_be_silenced():
    for rule in RULES.values():
        if rule.stage in (Stage.READ, Stage.SCHEMA, Stage.RESOLVE, Stage.WRITE) and rule.severity is Severity.ERROR:
            assert not rule.silenceable, rule.code
    for code in ("DV231", "DV234", "DV343", "DV340", "DV401", "DV403"):
        assert not RULES[code].silenceable, code
    assert RULES["DV301"].silenceable and RULES["DV235"].silenceable


@pytest.mark.parametrize("code", WITH_EXAMPLES)
def test_failing_example_yields_the_code_and_passing_does_not(code, tmp_path):
    rule = RULES[code]
    if rule.failing.workflow is not None or rule.passing.workflow is not None:
        pytest.importorskip("snakemake")
    _, found = lint_example(rule.failing, tmp_path / "failing")
    mine = [d for d in found if d["code"] == code]
    assert mine, f"{code}: the failing example yields {[(d['code'], d['message']) for d in found]}"
    assert {(d["severity"], d["rule"]) for d in mine} == {(rule.severity.value, rule.name)}
    assert rule.message in [d["message"] for d in mine], "the rule's message is what its failing example prints"
    _, found = lint_example(rule.passing, tmp_path / "passing")
    assert not [d for d in found if d["code"] == code], f"{code}: the passing example yields it: {found}"


def test_explain_prints_the_rule():
    status, out, err = run_in_process("lint", "--explain", "DV301")
    assert (status, err) == (0, "")
    rule = RULES["DV301"]
    assert out.startswith(f"DV301 time-exceeds-partition: {rule.summary}\n")
    for text in ("severity:    error", "stage:       check", "silenceable: yes", rule.message,
                 "failing example (example.yaml):", "passing example (example.yaml):", "prepare: {time: 3d}"):
        assert text in out, text
    assert " ".join(out.split()).count(" ".join(rule.explanation.split())) == 1
    # by name too; a rule that cannot be silenced says why
    status, out, _ = run_in_process("lint", "--explain", "unknown-snakemake-option")
    assert status == 0 and out.startswith("DV340 unknown-snakemake-option:")
    assert f"silenceable: no ({RULES['DV340'].why_not_silenceable})" in out
    status, _, err = run_in_process("lint", "--explain", "DV999")
    assert status == 2 and "DV999" in err


def test_list_codes_is_the_registry():
    status, out, err = run_in_process("lint", "--list-codes")
    assert (status, err) == (0, "")
    lines = out.splitlines()
    assert len(lines) == len(RULES)
    for line, rule in zip(lines, RULES.values(), strict=True):
        assert re.fullmatch(rf"{rule.code}  {rule.severity.value:<7}  {rule.name} +{re.escape(rule.summary)}", line)


def test_sarif_rules_come_from_the_registry(tmp_path):
    rule = RULES["DV301"]
    (tmp_path / EXAMPLE_FILE).write_text(rule.failing.text, encoding="utf-8")
    status, out, _ = run_in_process("lint", "--no-shellcheck", "--format", "sarif", EXAMPLE_FILE, cwd=tmp_path)
    assert status == 1
    rules = {r["id"]: r for r in json.loads(out)["runs"][0]["tool"]["driver"]["rules"]}
    sarif_rule = rules["DV301"]
    assert sarif_rule["name"] == "time-exceeds-partition"
    assert sarif_rule["shortDescription"]["text"] == rule.summary
    assert sarif_rule["fullDescription"]["text"] == rule.explanation
    assert rule.explanation in sarif_rule["help"]["text"]
    assert sarif_rule["defaultConfiguration"]["level"] == "error"
    [result] = [r for r in json.loads(out)["runs"][0]["results"] if r["ruleId"] == "DV301"]
    assert result["properties"]["fields"]["limit"] == 2880


def test_json_carries_the_rule_name_and_its_fields(tmp_path):
    _, found = lint_example(RULES["DV301"].failing, tmp_path)
    [diag] = [d for d in found if d["code"] == "DV301"]
    assert diag["rule"] == "time-exceeds-partition"
    assert diag["fields"] == {"rules": ["prepare"], "key": "time", "partition": "cpu",
                              "value": 4320, "limit": 2880, "unit": "min"}
    example = Example("slurm:\n  partitions:\n    cpu: {default: true, max_tiem: 2d}\n")
    _, found = lint_example(example, tmp_path / "dv102")
    [diag] = [d for d in found if d["code"] == "DV102"]
    assert diag["fields"] == {"key": "max_tiem", "path": "slurm.partitions.cpu", "suggestion": "max_time"}


def test_every_code_used_in_the_package_is_declared():
    """A code string in the source (`report.add("DV301", ...)`) must be a declared rule."""
    unknown = []
    for path in sorted((REPO / "compiler" / "dvhpc").rglob("*.py")):
        for match in re.finditer(r"""["'](DV\d{3})["']""", path.read_text(encoding="utf-8")):
            if match.group(1) not in RULES:
                unknown.append(f"{path.relative_to(REPO)}: {match.group(1)}")
    assert not unknown, unknown
