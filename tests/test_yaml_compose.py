"""dvhpc composes YAML from the C parser's events itself (ruamel's composer spends most of its time
in a Python tag resolver). ruamel's own composer is the oracle: on every input both accept, every
node must have the same kind, tag, value and span; where ruamel refuses an input, so must we.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings

from conftest import REPO, SITES
from dvhpc.frontend.source import load_yaml
from dvhpc.frontend.yaml_compose import _compose, _ComposeError
from dvhpc.report.diagnostics import Report
from test_fuzz_validate import yaml_scalars, yamlish

FILES = sorted({*SITES.glob("*.yaml"), *(REPO / "tests" / "fixtures").rglob("*.yaml"),
                *(REPO / "tests" / "hostile" / "corpus").glob("*.yaml")})


def _ruamel_compose(text: str):
    from ruamel.yaml import YAML
    from ruamel.yaml.resolver import VersionedResolver

    class Yaml12(VersionedResolver):
        @property
        def processing_version(self):
            return (1, 2)

    yaml = YAML(typ="safe", pure=False)
    yaml.Resolver = Yaml12
    return [node for node in yaml.compose_all(text) if node is not None]


def _shape(node, seen: dict) -> object:
    """A node as plain data; an alias (a node met before) becomes a back reference."""
    if id(node) in seen:
        return ("alias", seen[id(node)])
    seen[id(node)] = len(seen)
    kind = getattr(node, "kind", None) or {"ScalarNode": "scalar", "SequenceNode": "seq",
                                             "MappingNode": "map"}[type(node).__name__]
    if hasattr(node, "start_mark"):
        span = (node.start_mark.line, node.start_mark.column, node.end_mark.line, node.end_mark.column)
    else:
        span = (*node.start, *node.end)
    if kind == "scalar":
        value = node.value
    elif kind == "seq":
        value = [_shape(item, seen) for item in node.value]
    else:
        value = [(_shape(k, seen), _shape(v, seen)) for k, v in node.value]
    return (kind, str(node.tag), value, span[:2])


def _agree(text: str) -> None:
    try:
        expected = [_shape(node, {}) for node in _ruamel_compose(text)]
    except Exception as exc:  # noqa: BLE001 - any refusal by the oracle
        with pytest.raises(Exception) as ours:
            _compose(text)
        if not isinstance(ours.value, _ComposeError):
            assert type(ours.value).__name__ == type(exc).__name__, text
        return
    assert [_shape(node, {}) for node in _compose(text)] == expected, text


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(REPO)))
def test_composer_agrees_with_ruamel_on_every_shipped_yaml_file(path):
    text = path.read_text(encoding="utf-8", errors="replace")
    if "\x00" in text or len(text) > 200_000 or text.count("[") > 500:
        pytest.skip("refused before composing (NUL byte, size or nesting)")
    _agree(text)


@settings(max_examples=400, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(yamlish())
def test_composer_agrees_with_ruamel_on_random_yaml(text):
    _agree(text)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(yaml_scalars)
def test_scalar_tags_agree_with_ruamel(scalar):
    _agree(f"key: {scalar}\nlist: [{scalar}]\n")


@pytest.mark.parametrize("text, value", [
    ("a: yes", "yes"), ("a: on", "on"), ("a: 0o17", 15), ("a: 017", 17), ("a: 0x1F", 31), ("a: 1_000", 1000),
    ("a: .5", 0.5), ("a: 1e3", 1000.0), ("a: ~", None), ("a:", None), ("a: Null", None), ("a: TRUE", True),
    ("a: '12'", "12"), ("a: ! 12", 12), ("a: !!str 12", "12"), ("a: 2025-01-01", "2025-01-01"),
    ("a: 12:30:00", "12:30:00"), ("a: =", None),
])
def test_yaml_1_2_scalars(text, value):
    report = Report()
    doc = load_yaml(text + "\n", "x.yaml", report)
    if text == "a: =":  # the `value` tag is not data
        assert doc is None and [d.code for d in report.items] == ["DV006"]
        return
    assert doc is not None and doc.data == {"a": value}, report.items


def test_anchor_errors_name_the_anchor_and_both_places():
    report = Report()
    assert load_yaml("a: &x 1\nb: &x 2\nc: *y\n", "x.yaml", report) is None
    (diag,) = report.items
    assert (diag.code, diag.message, str(diag.location)) == (
        "DV003", "YAML syntax error: anchor '&x' is defined twice", "x.yaml:2:4")
    assert [(n.message, str(n.location)) for n in diag.notes] == [("first defined here", "x.yaml:1:4")]
    report = Report()
    assert load_yaml("a: 1\nc: *y\n", "x.yaml", report) is None
    assert [(d.message, str(d.location)) for d in report.items] == [
        ("YAML syntax error: alias '*y' names no anchor defined before it", "x.yaml:2:4")]


# Every spelling of the YAML 1.2 core schema and near misses of each: the tag resolution must
# match the oracle on all of them.
CORE_SPELLINGS = [
    *(f"{word}" for word in ("true", "True", "TRUE", "tRUE", "false", "False", "FALSE", "fALSE", "yes", "No", "on",
                             "OFF", "y", "n")),
    "~", "null", "Null", "NULL", "nULL", "nul", "", "''", '""',
    "0", "-0", "+7", "007", "0o17", "0o8", "0b101", "0b2", "-0b1", "0x1F", "0xG", "+0x_f", "1_000", "_1", "1__2",
    "1.5", "-1.5", "+.5", ".5", "5.", "1e3", "1E-3", "1.5e+3", ".5e3", ".5e+3", "1_0.5_0", "1e", "e3",
    ".inf", "-.Inf", "+.INF", ".iNf", ".nan", ".NaN", ".NAN", "-.nan", "nan", "inf",
    "2025-01-01", "2025-1-1", "2025-01-01T12:30:00", "2025-01-01 12:30:00.5 +01:00", "2025-01-01t1:30:00Z",
    "12:30", "12:30:00", "190:20:30", "1:2:3.5",
    "<<", "<< ", "=", "==", "!", "! 12", "!!str 12", "!!int 12", "!!bool yes", "!custom x",
]


@pytest.mark.parametrize("scalar", CORE_SPELLINGS)
def test_core_schema_spellings_agree_with_ruamel(scalar):
    _agree(f"key: {scalar}\nlist: [{scalar}]\n")
