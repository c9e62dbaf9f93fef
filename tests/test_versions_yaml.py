"""Snakemake reads profiles with PyYAML (YAML 1.1); dvhpc writes them for YAML 1.2 readers too:
every generated profile (and resources.yaml) must read as the same data both ways. YAML 1.1 reads
`on`/`no` as booleans, `1:30` as 90, `0700` as 448 and `1e-05` as a string."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from dvhpc.build import compile_specs
from dvhpc.emit.yamlout import dump

yaml11 = pytest.importorskip("yaml", reason="PyYAML (Snakemake's YAML reader) is not installed")

ROOT = Path(__file__).resolve().parent.parent
SPECS = [*sorted((ROOT / "sites").glob("*.yaml")), ROOT / "tests" / "e2e" / "site.yaml",
         ROOT / "tests" / "e2e" / "site-generic.yaml"]
TRICKY = ["on", "off", "yes", "no", "y", "n", "1:30", "0700", "0x1F", "0o17", "1_000", "~", "null", "1e3",
          "=", "<<", ".inf", "2001-12-14", "+1", "0b101", "!x", "&a", "*a", "'q'", '"d"', "a: b", "#c"]


def _both(text: str):
    return yaml11.safe_load(text), YAML(typ="safe", pure=True).load(text)


def _generated(tmp_path: Path) -> list[Path]:
    specs = tmp_path / "specs"
    shutil.copytree(ROOT / "sites", specs / "sites")
    shutil.copytree(ROOT / "tests" / "e2e", specs / "e2e", ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    for name in ("example", "dynvision-greene"):
        (specs / "sites" / f"{name}-generic.yaml").write_text(
            f"dvhpc: 1\nextends: {name}.yaml\nsite: {name}-generic\nsnakemake: {{executor: cluster-generic}}\n")
    paths = [p for p in sorted((specs / "sites").glob("*.yaml"))] + sorted((specs / "e2e").glob("site*.yaml"))
    compile_specs([str(p) for p in paths], tmp_path / "out")
    return sorted((tmp_path / "out").glob("*/**/*.yaml"))


def test_every_generated_yaml_reads_the_same_in_yaml_1_1_and_1_2(tmp_path):
    files = _generated(tmp_path)
    profiles = [f for f in files if f.parent.name == "profile"]
    assert len(profiles) >= 6, files
    for path in files:
        one, two = _both(path.read_text())
        assert one == two, path


def test_tricky_scalars_are_written_so_both_read_them_alike():
    data = {"strings": TRICKY, "map": {t: t for t in TRICKY}, "floats": [1e-05, 1e20, 0.5, 2.0, -3e-7],
            "ints": [0, 700, -1, 10**20], "flags": [True, False]}
    one, two = _both(dump(data))
    assert one == two == data


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(min_size=1, max_size=8),
                       st.one_of(st.text(max_size=12), st.integers(), st.booleans(),
                                 st.floats(allow_nan=False, allow_infinity=False)), min_size=1, max_size=6))
def test_any_scalar_reads_the_same_both_ways(data):
    one, two = _both(dump(data))
    assert one == two == data
