"""dvhpc.model.snakemake_options: the generated option table and argparse-style key lookup."""

from __future__ import annotations

import contextlib
import importlib.util
import io
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from dvhpc.model import snakemake_options as so

ROOT = Path(__file__).resolve().parent.parent
GEN = ROOT / "tools" / "gen_snakemake_options.py"


def _generator():
    spec = importlib.util.spec_from_file_location("gen_snakemake_options", GEN)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _need_snakemake():
    pytest.importorskip(
        "snakemake.cli",
        reason="snakemake is not installed: cannot regenerate the option table (pip install -e '.[test]')",
    )


@pytest.mark.snakemake
def test_committed_table_is_up_to_date():
    _need_snakemake()
    problems = _generator().check()
    assert not problems, (
        "compiler/dvhpc/data/snakemake_options.json is stale; run "
        "`.venv/bin/python tools/gen_snakemake_options.py`:\n" + "\n".join(problems)
    )


@pytest.mark.snakemake
def test_lookup_agrees_with_snakemakes_argparse():
    """Our prefix logic against argparse's own matching on the real parser."""
    _need_snakemake()
    from snakemake.cli import get_argument_parser

    parser = get_argument_parser()
    keys = ["latency-wait", "latency", "rerun-trigger", "restart", "retries", "slurm", "cluster",
            "use-", "n", "foo-bar", "latency_wait", "slurm-log", "cluster-generic-sub", "report"]
    for key in keys:
        check = so.lookup(key)
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            try:
                res = parser._parse_optional(f"--{key}")
            except SystemExit:
                assert check.status == "ambiguous", (key, check, err.getvalue())
                assert "ambiguous option" in err.getvalue()
                continue
        if isinstance(res, list):  # Python >= 3.12.7 returns a list of candidates
            res = res[0]
        action, option_string = res[0], res[1]
        if action is None:
            assert check.status == "unknown", (key, check)
        else:
            assert check.status in ("exact", "abbreviation"), (key, check)
            assert option_string == f"--{check.option}"


def test_table_shape():
    table = so.load()
    assert table["snakemake"] == so.PINNED_SNAKEMAKE
    assert {"slurm", "cluster-generic"} <= set(table["plugins"])
    names = list(table["options"])
    assert names == sorted(names)
    assert all(not n.startswith("-") and "_" not in n for n in names)
    # aliases are keys of their own
    assert {"restart-times", "retries", "dryrun", "dry-run", "default-resources", "default-res"} <= set(names)
    assert so.options()["slurm-logdir"].plugin == "slurm"
    assert so.options()["cluster-generic-submit-cmd"].plugin == "cluster-generic"
    assert so.options()["latency-wait"].plugin is None
    assert so.options()["latency-wait"].takes_value is True
    assert so.options()["rerun-incomplete"].takes_value is False
    assert so.load() is so.load()  # cached


@pytest.mark.parametrize("key", ["rerun-triggers", "latency-wait", "slurm-logdir",
                                 "cluster-generic-submit-cmd", "--latency-wait"])
def test_exact(key):
    check = so.lookup(key)
    assert check.status == "exact" and check.ok
    assert check.option == key.removeprefix("--")


@pytest.mark.parametrize(("key", "full"), [("latency", "latency-wait"), ("rerun-trigger", "rerun-triggers"),
                                           ("restart", "restart-times"), ("slurm-log", "slurm-logdir")])
def test_abbreviation(key, full):
    check = so.lookup(key)
    assert check.status == "abbreviation" and not check.ok
    assert check.option == full
    assert "silently" in check.message() and full in check.message()


def test_ambiguous():
    check = so.lookup("slurm")
    assert check.status == "ambiguous"
    assert "slurm-logdir" in check.candidates and "slurm-jobstep-array-execs" in check.candidates
    assert all(c.startswith("slurm") for c in check.candidates)
    assert so.lookup("cluster").candidates == tuple(sorted(
        o for o in so.options() if o.startswith("cluster-generic-")))


def test_unknown():
    check = so.lookup("foo-bar")
    assert check.status == "unknown" and check.option is None and not check.ok


@pytest.mark.parametrize(("key", "suggestion"), [("latency_wait", "latency-wait"), ("slurm_logdir", "slurm-logdir"),
                                                 ("latency_w", "latency-wait"), ("laetncy-wait", "latency-wait")])
def test_did_you_mean(key, suggestion):
    check = so.lookup(key)
    assert check.status == "unknown"
    assert check.suggestion == suggestion
    assert f"did you mean '{suggestion}'" in check.message()


def test_lookup_does_not_import_snakemake():
    code = textwrap.dedent("""
        import sys
        from dvhpc.model.snakemake_options import lookup, load, PINNED_SNAKEMAKE
        assert lookup("latency").option == "latency-wait"
        load()
        bad = sorted(m for m in sys.modules if m.split(".")[0].startswith("snakemake"))
        print(",".join(bad))
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "", f"imported: {proc.stdout.strip()}"
