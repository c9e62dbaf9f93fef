"""dvhpc.rules.workflow.read_workflow (`lint --workflow-exec`): rules, localrules, checkpoints and rule
resources via the real Snakemake. The static reader is compared with it in test_snakefile_reader.py."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from dvhpc.rules.workflow import WorkflowInfo, default_workdir, read_workflow

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "workflow"


def _snakemake_or_skip():
    pytest.importorskip("snakemake.api", reason="snakemake is not installed (pip install -e '.[test]')")


@pytest.fixture(scope="module")
def info(tmp_path_factory) -> tuple[WorkflowInfo, list[str]]:
    _snakemake_or_skip()
    # A copy, so that any file Snakemake might write cannot land in the source tree.
    work = tmp_path_factory.mktemp("wf") / "workflow_fixture"
    shutil.copytree(FIXTURE, work)
    result = read_workflow(work / "Snakefile")
    return result, sorted(p.name for p in work.iterdir())


@pytest.mark.snakemake
def test_rules_in_definition_order_including_include(info):
    result, _ = info
    assert result.error is None and result.ok
    # rules/extra.smk is included before the Snakefile's own rules
    assert result.rules == ("inspect_gpu", "summarize", "all", "prepare", "train", "plot")


@pytest.mark.snakemake
def test_localrules_directive_and_localrule_flag(info):
    result, _ = info
    assert result.localrules == frozenset({"all", "plot", "inspect_gpu"})
    assert result.checkpoints == frozenset()


@pytest.mark.snakemake
def test_rule_resources_are_the_rules_own(info):
    result, _ = info
    assert result.rule_resources == {
        "inspect_gpu": {"gpu"},
        "summarize": {"mem_mb"},
        "all": set(),
        "prepare": set(),
        "train": {"mem_mb", "runtime", "slurm_partition"},
        "plot": set(),
    }


@pytest.mark.snakemake
def test_leaves_no_files_behind(info):
    _, listing = info
    assert listing == sorted(p.name for p in FIXTURE.iterdir())  # no .snakemake/log


def _write(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))
    return tmp_path / "Snakefile"


@pytest.mark.snakemake
def test_python_syntax_error_in_included_file_has_snakefile_line(tmp_path):
    _snakemake_or_skip()
    snakefile = _write(tmp_path, {
        "Snakefile": 'include: "rules/bad.smk"\n',
        "rules/bad.smk": """
            rule a:
                output: "a"
                shell: "true"

            rule b:
                output: "b"
                shell: "x" +
        """,
    })
    result = read_workflow(snakefile)
    assert result.rules == () and not result.ok
    assert result.error.startswith(f"{tmp_path / 'rules' / 'bad.smk'}:7: SyntaxError")
    assert "\n" not in result.error


@pytest.mark.snakemake
def test_snakemake_parser_error_has_the_right_line(tmp_path):
    """Snakemake itself would say line 2 here (it maps the parser's line through the linemap)."""
    _snakemake_or_skip()
    snakefile = _write(tmp_path, {"Snakefile": """
        rule a:
            output: "a"
            outptu: "b"
            shell: "true"
    """})
    result = read_workflow(snakefile)
    assert result.error == f"{snakefile}:3: SyntaxError: Unexpected keyword outptu in rule definition"


@pytest.mark.snakemake
def test_runtime_error_and_chatty_snakefile(tmp_path):
    _snakemake_or_skip()
    snakefile = _write(tmp_path, {"Snakefile": """
        print("hello from the Snakefile")
        samples = config["samples"]
    """})
    result = read_workflow(snakefile)
    assert result.error == f"{snakefile}:2: KeyError: 'samples'"


@pytest.mark.snakemake
def test_print_does_not_corrupt_the_result(tmp_path):
    _snakemake_or_skip()
    snakefile = _write(tmp_path, {"Snakefile": """
        print("{not json")
        rule only:
            output: "x"
            threads: workflow.cores
            resources: mem="4G", disk="1G", tmpdir="/scratch"
            shell: "true"
    """})
    result = read_workflow(snakefile)
    assert result.error is None
    assert result.rules == ("only",)
    assert result.rule_resources == {"only": {"mem_mb", "disk_mb", "tmpdir"}}


@pytest.mark.snakemake
def test_module_rules_come_through(tmp_path):
    _snakemake_or_skip()
    snakefile = _write(tmp_path, {
        "other/Snakefile": """
            rule x:
                output: "x"
                resources: mem_mb=10
                shell: "true"
        """,
        "Snakefile": """
            module other:
                snakefile: "other/Snakefile"
            use rule * from other as o_*
            use rule x from other as y with:
                resources: gpu=2
            localrules: y
        """,
    })
    result = read_workflow(snakefile)
    assert result.error is None
    assert result.rules == ("o_x", "y")
    assert result.localrules == {"y"}
    # `with: resources:` replaces the module rule's resources block
    assert result.rule_resources == {"o_x": {"mem_mb"}, "y": {"gpu"}}


def test_missing_snakefile(tmp_path):
    result = read_workflow(tmp_path / "nope" / "Snakefile")
    assert result.error is not None and "not found" in result.error
    assert result.rules == ()


def test_default_workdir(tmp_path):
    (tmp_path / "workflow").mkdir()
    assert default_workdir(tmp_path / "workflow" / "Snakefile") == tmp_path.resolve()
    assert default_workdir(tmp_path / "Snakefile") == tmp_path.resolve()


def test_import_is_light():
    code = "import sys, dvhpc.rules.workflow; print(any(m.startswith('snakemake') for m in sys.modules))"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "False"


# ---------------------------------------------------------------------------------------- DV355, DV356


def _lint_json(dvhpc_main, tmp_path: Path, spec: str, snakefile: str | None = None) -> list[dict]:
    import json

    (tmp_path / "s.yaml").write_text("dvhpc: 1\nsite: s\ndetect: {env: {X_CLUSTER: '*'}}\n" + spec)
    args = ["lint", str(tmp_path / "s.yaml"), "--no-shellcheck", "--format", "json"]
    if snakefile is not None:
        (tmp_path / "Snakefile").write_text(textwrap.dedent(snakefile))
        args += ["--workflow", str(tmp_path / "Snakefile")]
    _, out, err = dvhpc_main(*args)
    return [d for d in json.loads(out) if d["code"] in ("DV352", "DV355", "DV356")]


LOCAL_WORKFLOW = """\
    localrules: a, b
    rule a:
        output: "a"
    rule b:
        output: "b"
    rule c:
        localrule: True
        output: "c"
    rule d:
        output: "d"
    rule e:
        localrule: True
        output: "e"
    """


def test_resources_on_local_rules_by_directive_flag_and_set(dvhpc_main, tmp_path):
    spec = ("slurm: {partitions: {g: {gpus: {a100: 4}}}}\n"
            "resources:\n  defaults: {time: 1h, mem: 4G}\n  sets: {light: {cpus: 2}}\n  rules:\n"
            "    a: light\n    b: {disk: 10G}\n    c: {time: 5min, account: lab}\n    d: {cpus: 8}\n"
            "    e: {partition: g, gpus: 1}\n")
    found = _lint_json(dvhpc_main, tmp_path, spec, LOCAL_WORKFLOW)
    # a: from its set; b: disk only (Snakemake limits local jobs by it too); c: `localrule: True`;
    # d: not local; e: GPUs are DV352's, not repeated; defaults (time, mem) are not the rule's entry
    assert [(d["code"], (d.get("fields") or {}).get("keys"), d["line"]) for d in found] == [
        ("DV355", ["cpus"], 9), ("DV355", ["account", "time"], 11), ("DV352", None, 13)]
    assert "rule 'a' is a local rule" in found[0]["message"] and "rule 'c'" in found[1]["message"]


def test_requests_above_snakemake_resources_limits(dvhpc_main, tmp_path):
    spec = ("snakemake:\n  restart_times: 1\n  resources: {mem: 100G, disk: 50G, gpu_slots: 3}\n"
            "resources:\n  defaults: {mem: 120G}\n  rules:\n"
            "    fits: {mem: 64G, disk: 50G, retry: {mem: 1.5x}}\n"
            "    retried: {mem: 60G, retry: {mem: 2x}}\n"
            "    wide: {disk: 51G}\n")
    found = _lint_json(dvhpc_main, tmp_path, spec)
    assert [(d["fields"]["rule"], d["fields"]["resource"], d["fields"]["attempt"], d["fields"]["value"],
             d["fields"]["limit"], d["line"]) for d in found] == [
        ("defaults", "mem_mb", 1, 122880, 102400, 8), ("retried", "mem_mb", 2, 122880, 102400, 11),
        ("wide", "disk_mb", 1, 52224, 51200, 12)]  # 'wide' gets the defaults' mem: said once, at the defaults
    assert "at attempt 2" in found[1]["message"] and "resources.defaults ask" in found[0]["message"]
    assert found[0]["notes"][0]["line"] == 6  # where the limit is set
