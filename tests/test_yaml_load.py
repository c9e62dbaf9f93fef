"""load_yaml reads most specs in one pass from the C parser's events (yaml_load._DirectReader) and
any other text by composing nodes and converting them (the general path). On every input both must
give the same data, the same position for every key and value, and the same diagnostics."""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings

from conftest import REPO, SITES
from dvhpc.frontend import yaml_load
from dvhpc.frontend.document import Document
from dvhpc.frontend.yaml_load import _DirectReader, _NotPlain, load_yaml
from dvhpc.report.diagnostics import Report
from test_fuzz_validate import yaml_scalars, yamlish
from test_yaml_compose import FILES


def _plain(value):
    """Data comparable with ==: NaN equals itself here."""
    if isinstance(value, float) and math.isnan(value):
        return "nan"
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _outcome(text: str):
    report = Report()
    doc = load_yaml(text, "x.yaml", report)
    diagnostics = [(d.code, d.message, str(d.location), d.location.end_line, d.location.end_column, d.hint,
                    [(n.message, str(n.location)) for n in d.notes]) for d in report.items]
    if doc is None:
        return None, diagnostics
    places = {(table, path): (str(doc.location(span)), doc.location(span).end_line, doc.location(span).end_column)
              for table, spans in (("value", doc.values), ("key", doc.keys)) for path, span in spans.items()}
    return (repr(_plain(doc.data)), places), diagnostics


def _general_only(_reader, _text):
    raise _NotPlain


def _agree(text: str, monkeypatch) -> None:
    direct = _outcome(text)
    with monkeypatch.context() as patch:
        patch.setattr(_DirectReader, "read", _general_only)
        general = _outcome(text)
    assert direct == general, text


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(REPO)))
def test_both_readers_agree_on_every_shipped_yaml_file(path, monkeypatch):
    text = path.read_text(encoding="utf-8", errors="replace")
    if "\x00" in text or len(text) > 200_000:
        pytest.skip("refused before reading (NUL byte or size)")
    _agree(text, monkeypatch)


@settings(max_examples=400, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                 HealthCheck.function_scoped_fixture])
@given(yamlish())
def test_both_readers_agree_on_random_yaml(monkeypatch, text):
    _agree(text, monkeypatch)


@settings(max_examples=300, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(yaml_scalars, yaml_scalars)
def test_both_readers_agree_on_scalars_keys_and_duplicates(monkeypatch, scalar, other):
    _agree(f"{scalar}: {other}\nk: [{scalar}, {other}]\nk: {{{scalar}: 1}}\nm:\n  {other}: {scalar}\n", monkeypatch)


LONG = "1" * 101
EDGE_CASES = [
    "", "# only a comment\n", "a: 1\n---\nb: 2\n", "a: 1\n---\nb: [\n", "- 1\n- [2, {a: b}]\n", "plain\n",
    "a: 1\na: 2\n", "a: {x: 1}\na: {x: " + LONG + "}\nb: 3\n", "a: 1\na: &x {y: 1}\nb: *x\n",
    f"{LONG}: 1\n{LONG}: 2\n", f"a: {LONG}\n", "a: !!map {x: 1}\n", "a: !!set {x}\n", "a: !!seq [1]\n",
    "a: !tag [1]\n", "a: !!str 1\nb: !!int x\nc: !!bool maybe\nd: !x y\n", "? [a]\n: 1\n", "{[a]: 1}\n",
    "? {a: 1}\n: 2\nb: 3\n", "a: &x 1\nb: *x\n", "a: *x\n", "base: &b {x: 1}\nc: {<<: *b, y: 2}\n",
    "<<: {a: 1}\n", "a: \"\\ud800\"\n", "\"\\ud800\": 1\n", "a: \"\\u2028\"\n", "\"\\x85\": 1\n",
    "a: [1, 2\n", "a: b: c\n", "a:\n  - b\n  -\n  - {}\n  - []\n", "a: 1\n...\n", "a: {x: 1, x: 2, y: {z: 1, z: 2}}\n",
    "a: =\nb: <<\n", "a: 1\r\nb:\r\n  c: 2\r\n", "a: |\n  x\n  y\nb: >-\n  z\n",
    "x: " + "[" * 60 + "]" * 60 + "\n", "a: [" + ", ".join(["1"] * 500) + "]\n",
]


@pytest.mark.parametrize("text", EDGE_CASES)
def test_both_readers_agree_on_edge_cases(text, monkeypatch):
    _agree(text, monkeypatch)


@pytest.mark.parametrize("path", sorted(SITES.glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_sites_take_the_one_pass_reader(path):
    text = path.read_text(encoding="utf-8")
    if yaml_load._diverges(text):
        pytest.skip("read by ruamel's parser")
    doc = Document(str(path), None)
    assert _DirectReader(doc, Report()).read(text) is not None



def _regex_lines(text: str) -> list[str]:
    from dvhpc.frontend.document import _LINE_BREAK

    lines = _LINE_BREAK.split(text)
    return lines[:-1] if lines and not lines[-1] else lines


@pytest.mark.parametrize("text", ["", "a", "a\n", "a\n\nb", "a\r\nb\rc\n", "\n\n", "a\x0cb\u2028c\x85d\n", "x\r",
                                  "\r\n"])
def test_split_lines_fast_path_is_the_regex_split(text):
    """split_lines splits text without a CR with str.split: the same lines as the general regex."""
    from dvhpc.frontend.document import split_lines

    assert split_lines(text) == _regex_lines(text)


def test_split_lines_of_the_test_files():
    from dvhpc.frontend.document import split_lines

    for path in FILES:
        text = path.read_bytes().decode("utf-8", errors="surrogateescape")
        assert split_lines(text) == _regex_lines(text), path
