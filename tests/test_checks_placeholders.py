"""The placeholder check (DV320) skips a document whose text cannot spell a placeholder
(`may_hold_placeholder`): differential test against the full walk of its data, on spellings that
reach a placeholder only through the parser (escapes, folding, aliases, quoted keys) and on every
spec the test suite ships."""

from __future__ import annotations

from pathlib import Path

import pytest

from dvhpc.frontend.toml_load import load_toml
from dvhpc.frontend.yaml_load import load_yaml
from dvhpc.report.diagnostics import Report
from dvhpc.rules.checks import _placeholders, may_hold_placeholder

YAML_CASES = [
    "dvhpc: 1\nsite: plain\n",
    "dvhpc: 1\nsite: <cluster name>\n",
    "dvhpc: 1\nsite: \"\\x3ccluster>\"\n",
    "dvhpc: 1\nsite: \"\\u003Cname>\"\n",
    "dvhpc: 1\nsite: \"TO\\\n  DO\"\n",
    "dvhpc: 1\nsite: >\n  TO\n  DO\n",
    "dvhpc: 1\nsite: |\n  a\n  FIXME\n",
    "dvhpc: 1\nsite: a\n  CHANGEME b\n",
    "dvhpc: 1\n\"\\x54ODO\": 1\n",
    "dvhpc: 1\nbase: &b XXX\nother: *b\n",
    "dvhpc: 1\nlist: [a, \"<x>\", {k: TODO}]\n",
    "dvhpc: 1\nsite: TO DO\n",
]
TOML_CASES = [
    "dvhpc = 1\nsite = \"plain\"\n",
    "dvhpc = 1\nsite = \"\\u003Cname>\"\n",
    "dvhpc = 1\nsite = \"\"\"TO\\\n   DO\"\"\"\n",
    "dvhpc = 1\n\"\\u0054ODO\" = 1\n",
    "dvhpc = 1\nsite = 'FIXME'\n",
]


def _walked(doc) -> list:
    found: list = []
    _placeholders(doc.data, (), found)
    return [(path, match.group(0), is_key) for path, match, is_key in found]


def _check(doc) -> None:
    assert doc is not None
    if not may_hold_placeholder(doc):
        assert _walked(doc) == []


@pytest.mark.parametrize("text", YAML_CASES)
def test_yaml_skip_agrees_with_walk(text):
    _check(load_yaml(text, "t.yaml", Report()))


@pytest.mark.parametrize("text", TOML_CASES)
def test_toml_skip_agrees_with_walk(text):
    _check(load_toml(text, "t.toml", Report()))


def test_escaped_placeholders_are_walked():
    doc = load_yaml("dvhpc: 1\nsite: \"\\x3ccluster>\"\n", "t.yaml", Report())
    assert doc is not None and may_hold_placeholder(doc) and _walked(doc) == [(("site",), "<cluster>", False)]


def test_shipped_specs_skip_agrees_with_walk():
    root = Path(__file__).parent / "fixtures"
    files = [p for p in root.rglob("*") if p.suffix in (".yaml", ".yml", ".toml") and p.is_file()]
    assert files
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        load = load_toml if path.suffix == ".toml" else load_yaml
        doc = load(text, str(path), Report())
        if doc is not None and not may_hold_placeholder(doc):
            try:
                walked = _walked(doc)
            except RecursionError:  # a fixture that nests (or aliases) past any real spec
                continue
            assert walked == [], path
