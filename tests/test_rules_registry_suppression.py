"""Silencing is applied once, in the pipeline: `validate`, `lint` and `compile` give the same exit
code and the same silenced findings for one spec; a rule that may not be silenced stays counted
and says why (issue 13, item 4)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from conftest import run_in_process  # noqa: E402
from dvhpc.report.codes import RULES  # noqa: E402

SITE = """\
dvhpc: 1
site: quiet
detect:
  env: {SLURM_CLUSTER_NAME: quiet}
slurm:
  account: mylab
  partitions:
    cpu: {default: true, max_time: 2d, cpus: 48, mem: 180G}
environment:
  variables:
    PYTHONPATH: /opt/lib<pythonpath_comment>
  allow_unsafe_variables: [PYTHONPATH]
snakemake:
  options:
    rerun-triggers: [mtime]<option_comment>
resources:
  defaults: {partition: cpu, cpus: 2, mem: 4G, time: 1h}
<extra>"""


def spec(tmp_path: Path, *, pythonpath_comment: str = "", option_comment: str = "", extra: str = "",
         option: str = "rerun-triggers") -> Path:
    text = SITE.replace("<pythonpath_comment>", pythonpath_comment).replace("<option_comment>", option_comment)
    text = text.replace("<extra>", extra)
    path = tmp_path / "site.yaml"
    path.write_text(text.replace("rerun-triggers:", f"{option}:"), encoding="utf-8")
    return path


def outcomes(tmp_path: Path) -> dict[str, tuple[int, list[tuple[str, bool]]]]:
    """command -> (exit code, [(code, silenced)]) from --format json."""
    runs = {
        "validate": ("validate", "--format", "json", "site.yaml"),
        "lint": ("lint", "--no-shellcheck", "--format", "json", "site.yaml"),
        "compile": ("compile", "--out", str(tmp_path / "generated"), "--format", "json", "site.yaml"),
    }
    found = {}
    for command, args in runs.items():
        status, out, err = run_in_process(*args, cwd=tmp_path)
        assert "Traceback" not in err and "internal error" not in err, err
        start = out.index("[")  # compile prints its own lines after the JSON
        items, _ = json.JSONDecoder().raw_decode(out[start:])
        pairs = sorted((d["code"], d["suppressed"]) for d in items if d["code"] in ("DV235", "DV340"))
        found[command] = (status, pairs)
    return found


def test_an_inline_ignore_counts_the_same_in_every_command(tmp_path):
    spec(tmp_path, pythonpath_comment="  # dvhpc: ignore[DV235]")
    found = outcomes(tmp_path)
    assert found == {command: (0, [("DV235", True)]) for command in ("validate", "lint", "compile")}
    # without the comment the warning shows (and fails nothing)
    spec(tmp_path)
    assert outcomes(tmp_path)["validate"] == (0, [("DV235", False)])


def test_a_per_file_ignore_counts_the_same_in_every_command(tmp_path):
    spec(tmp_path, extra="lint: {ignore: [DV235]}\n")
    assert set(map(repr, outcomes(tmp_path).values())) == {repr((0, [("DV235", True)]))}


def test_text_output_says_how_many_were_silenced(tmp_path):
    spec(tmp_path, pythonpath_comment="  # dvhpc: ignore[DV235]")
    status, out, err = run_in_process("validate", "site.yaml", cwd=tmp_path)
    assert status == 0 and "DV235" not in err
    assert out.splitlines()[-1] == "1 spec(s) valid (1 silenced)"
    status, out, err = run_in_process("lint", "--no-shellcheck", "--strict", "site.yaml", cwd=tmp_path)
    assert (status, out) == (0, "1 spec(s) linted: no problems (1 silenced)\n")


def test_an_error_that_would_write_wrong_output_cannot_be_silenced(tmp_path):
    """Before: `# dvhpc: ignore[DV340]` made lint exit 0 ("1 silenced") while validate and compile
    exited 1. DV340 (an option Snakemake would misread) cannot be silenced: all three exit 1, it
    says why, and nothing is written."""
    assert not RULES["DV340"].silenceable
    spec(tmp_path, option="rerun-trigger", option_comment="  # dvhpc: ignore[DV340]",
         pythonpath_comment="  # dvhpc: ignore[DV235]")
    found = outcomes(tmp_path)
    assert found == {command: (1, [("DV235", True), ("DV340", False)]) for command in ("validate", "lint", "compile")}
    assert not (tmp_path / "generated").exists()
    for command in ("validate", "lint"):
        args = (command, "--no-shellcheck", "site.yaml") if command == "lint" else (command, "site.yaml")
        status, _, err = run_in_process(*args, cwd=tmp_path)
        assert status == 1
        assert f"  = note: DV340 cannot be silenced: {RULES['DV340'].why_not_silenceable}\n" in err
    status, out, _ = run_in_process("lint", "--no-shellcheck", "--format", "json", "site.yaml", cwd=tmp_path)
    [diag] = [d for d in json.loads(out) if d["code"] == "DV340"]
    assert diag["notes"][-1]["message"].startswith("DV340 cannot be silenced")


@pytest.mark.parametrize("code", ["DV231", "DV234", "DV343"])
def test_security_refusals_cannot_be_silenced(code):
    assert not RULES[code].silenceable


def test_a_base_layers_ignore_does_not_silence_the_site(tmp_path):
    (tmp_path / "base.yaml").write_text("dvhpc: 1\nabstract: true\nlint: {ignore: [DV235]}\n", encoding="utf-8")
    spec(tmp_path, extra="extends: base.yaml\n")
    assert outcomes(tmp_path)["validate"] == (0, [("DV235", False)])
