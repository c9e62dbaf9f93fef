"""`validate`, `compile` and `lint` agree on errors (issue 17 item 1): an error means the output
would be refused or wrong, so compile writes nothing and validate does not say ok; lint only adds
warnings and the workflow and script checks. And one run reports every problem of a spec."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from conftest import run_in_process  # noqa: E402
from dvhpc.report.codes import RULES  # noqa: E402
from dvhpc.report.rule import EXAMPLE_FILE, Severity, Stage  # noqa: E402

# Stages whose examples are specs alone (the workflow's need --workflow, shellcheck's a broken template)
SPEC_STAGES = (Stage.READ, Stage.SCHEMA, Stage.RESOLVE, Stage.CHECK, Stage.LINT)
EXAMPLES = sorted(code for code, rule in RULES.items() if rule.failing is not None and rule.stage in SPEC_STAGES
                  and rule.failing.workflow is None)


def _errors(*args: str, cwd: Path) -> tuple[int, list[tuple], str]:
    status, out, err = run_in_process(*args, "--format", "json", cwd=cwd)
    assert "Traceback" not in err and "internal error" not in err, err
    found = json.JSONDecoder().raw_decode(out)[0] if out.strip() else []  # compile adds a summary line
    return status, sorted((d["code"], d["line"], d["column"], d["message"]) for d in found
                          if d["severity"] == "error" and not d.get("suppressed")), out


@pytest.mark.parametrize("code", EXAMPLES)
def test_validate_compile_and_lint_give_the_same_errors(code, tmp_path):
    rule = RULES[code]
    (tmp_path / EXAMPLE_FILE).write_text(rule.failing.text, encoding="utf-8")
    v_status, v_errors, v_out = _errors("validate", EXAMPLE_FILE, cwd=tmp_path)
    c_status, c_errors, _ = _errors("compile", EXAMPLE_FILE, "--out", "gen", cwd=tmp_path)
    l_status, l_errors, _ = _errors("lint", "--no-shellcheck", EXAMPLE_FILE, cwd=tmp_path)
    assert v_errors == c_errors == l_errors, (code, v_errors, c_errors, l_errors)
    if rule.severity is Severity.ERROR:
        assert code in {e[0] for e in v_errors}, f"{code}: validate does not report it"
        assert (v_status, c_status, l_status) == (1, 1, 1)
        assert not (tmp_path / "gen").exists() or not any((tmp_path / "gen").rglob("*")), "compile wrote files"
    else:  # a warning: validate and compile pass, only lint says it
        assert code not in {e[0] for e in v_errors}


def test_one_run_reports_every_problem(tmp_path):
    """A bad duration does not hide the unknown partition next to it, nor a limit of another rule."""
    (tmp_path / "s.yaml").write_text(
        "dvhpc: 1\nsite: demo\nslurm:\n  accounting: false\n  partitions:\n"
        "    cpu: {default: true, max_time: 1d, cpus: 4, mem: 8000M}\n"
        "resources:\n  rules:\n    a: {time: 20 minutes, partition: cpuu}\n"
        "    b: {mem: 16G, cpus: 8, time: 2d}\n", encoding="utf-8")
    for command in (("validate",), ("compile", "--out", "gen"), ("lint", "--no-shellcheck")):
        status, errors, _ = _errors(*command, "s.yaml", cwd=tmp_path)
        assert status == 1
        assert [(code, line, column) for code, line, column, _ in errors] == [
            ("DV202", 9, 15), ("DV211", 9, 38), ("DV301", 10, 34), ("DV302", 10, 14), ("DV303", 10, 25)], command
    assert not (tmp_path / "gen").exists()


def test_an_unknown_value_is_not_replaced_by_a_lower_layer(tmp_path):
    """A rule's bad `time` is unknown: the defaults' 3d (over the 1d limit) is not checked in its place,
    and a bad partition limit checks nothing."""
    (tmp_path / "s.yaml").write_text(
        "dvhpc: 1\nsite: demo\nslurm:\n  accounting: false\n  partitions:\n"
        "    cpu: {default: true, max_time: 1d, mem: lots}\n"
        "resources:\n  defaults: {time: 3d, mem: 1G}\n  rules:\n    a: {time: 2 hours, mem: 999G}\n",
        encoding="utf-8")
    _, errors, _ = _errors("validate", "s.yaml", cwd=tmp_path)
    assert [(code, line) for code, line, _, _ in errors] == [("DV201", 6), ("DV202", 10), ("DV301", 8)]
    assert "defaults" in errors[2][3] and "'a'" not in errors[2][3]


def test_a_silenced_limit_compiles(tmp_path):
    """The limit checks stay silenceable (the spec's limit may be out of date): silenced, compile writes."""
    (tmp_path / "s.yaml").write_text(
        "dvhpc: 1\nsite: demo\nslurm:\n  accounting: false\n  partitions:\n    cpu: {default: true, cpus: 4}\n"
        "resources:\n  rules:\n    a: {cpus: 8}  # dvhpc: ignore[DV303]\n", encoding="utf-8")
    status, errors, _ = _errors("compile", "s.yaml", "--out", "gen", cwd=tmp_path)
    assert (status, errors) == (0, [])
    assert (tmp_path / "gen" / "demo" / "MANIFEST.json").is_file()
