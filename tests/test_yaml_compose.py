"""dvhpc composes YAML from the C parser's events itself (ruamel's composer spends most of its time
in a Python tag resolver). ruamel.yaml's YAML 1.2 reading (its pure-Python parser and composer) is
the oracle: on every input it accepts, every node must have the same kind, tag and value; where it
refuses an input, so must we. Spans are those of the parser that read the text (the C parser, a
YAML 1.1 scanner, where it reads the text as ruamel's parser does; ruamel's parser elsewhere).
"""

from __future__ import annotations

import warnings

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import REPO, SITES
from dvhpc.frontend.source import load_yaml
from dvhpc.frontend.yaml_compose import _compose, _ComposeError, _diverges
from dvhpc.report.diagnostics import Report
from test_fuzz_validate import yaml_scalars, yamlish

FILES = sorted({*SITES.glob("*.yaml"), *(REPO / "tests" / "fixtures").rglob("*.yaml"),
                *(REPO / "tests" / "hostile" / "corpus").glob("*.yaml")})


def _ruamel_compose(text: str, pure: bool = True):
    """ruamel.yaml's composition under YAML 1.2: its own parser (pure), or over the C parser."""
    from ruamel.yaml import YAML
    from ruamel.yaml.composer import ReusedAnchorWarning
    from ruamel.yaml.resolver import VersionedResolver

    class Yaml12(VersionedResolver):
        @property
        def processing_version(self):
            return (1, 2)

    yaml = YAML(typ="safe", pure=pure)
    yaml.Resolver = Yaml12
    with warnings.catch_warnings():
        # YAML 1.2 lets an anchor be defined again (ruamel warns); dvhpc refuses that on purpose
        # (an alias would silently mean the later value): the one place it is stricter
        warnings.simplefilter("error", ReusedAnchorWarning)
        return [node for node in yaml.compose_all(text) if node is not None]


def _shape(node, seen: dict, spans: bool = True) -> object:
    """A node as plain data (with its start unless not `spans`); an alias (a node met before)
    becomes a back reference."""
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
        value = [_shape(item, seen, spans) for item in node.value]
    else:
        value = [(_shape(k, seen, spans), _shape(v, seen, spans)) for k, v in node.value]
    return (kind, str(node.tag), value, span[:2] if spans else None)


def _agree(text: str) -> None:
    try:
        expected = [_shape(node, {}) for node in _ruamel_compose(text)]
    except Exception as exc:  # noqa: BLE001 - any refusal by the oracle
        with pytest.raises(Exception) as ours:
            _compose(text)
        if not isinstance(ours.value, _ComposeError):
            assert type(ours.value).__name__ == type(exc).__name__, text
        return
    nodes = _compose(text)
    values = [_shape(node, {}, spans=False) for node in _ruamel_compose(text)]
    assert [_shape(node, {}, spans=False) for node in nodes] == values, text  # YAML 1.2's values
    if not _diverges(text):  # read by the C parser unless it refuses the text
        try:
            expected = [_shape(node, {}) for node in _ruamel_compose(text, pure=False)]
        except Exception:  # noqa: BLE001, S110 - YAML 1.1's refusal: read by ruamel's parser
            pass
    assert [_shape(node, {}) for node in nodes] == expected, text


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


# Where YAML 1.2 (ruamel.yaml's parser) and the C parser (libyaml 0.1, YAML 1.1) read a text
# differently: `:` inside a plain scalar in flow context, a plain scalar starting with `:`, `?` and
# `!` indicators, tabs, a block scalar header with a comment right after it, a quoted key with its
# `:` right after it. Each is read as ruamel reads it (values, or a refusal).
FLOW_EDGE_CASES = [
    "small: {time: 0:15:00, mem: 16GiB}", "k: [0:15:00, 1:30]", "k: [a:b]", "k: {a:1}", "k: {a:b:c}", "k: [a:, b]",
    "k: {a: b:}", "k: [:a]", "k: {a: ::}", "k: [http://x.y/z?q=1]", "k: {a:}", "k: [a :b]", "k: [a: b]",
    "k: {? a, b}", "k: [a:[b]]", "k: {a:{b}}", "k: {a: 1:2, b: 3}", "k: {a: b: c}", 'k: {"a":1}', "k: ['a':1]",
    "k: ['a':1\n]", "k: [?]]", "k: [? a]", "k: >#x\n", "k: |2#\n  x", "k: !", "k: [!\r]", "- !\n- x",
    "- a\t:b", "k: \t1", "k: {a:\tb}", "k: [a\t, b]", "k:\n  - {x: y:z}\n  - [p:q, 'r':s]",
    "k: {time: 0:15:00,\n    mem: 16GiB}", "k: {a: b#c, d: e #f\n}", "k: [-1:2, -a:b, .5:x]",
]


@pytest.mark.parametrize("text", FLOW_EDGE_CASES)
def test_flow_edge_cases_read_as_ruamel_yaml_1_2(text):
    _agree(text + "\n")


def test_flow_mapping_with_colon_in_plain_scalar_loads():
    """The issue's case: YAML 1.1 (the C parser) refuses it with "found unexpected ':'"."""
    report = Report()
    doc = load_yaml("small: {time: 0:15:00, mem: 16GiB}\n", "x.yaml", report)
    assert doc is not None and doc.data == {"small": {"time": "0:15:00", "mem": "16GiB"}}, report.items
    assert str(doc.location(doc.values[("small", "mem")])) == "x.yaml:1:29"


def test_error_only_ruamel_finds_is_located():
    """A refusal comes from ruamel's YAML 1.2 parser, at its line and column."""
    report = Report()
    assert load_yaml("a: 1\nk: {a: b: c}\n", "x.yaml", report) is None
    (diag,) = report.items
    assert diag.code == "DV003" and str(diag.location) == "x.yaml:2:9", diag


_FLOW_PLAIN = st.text(alphabet="ab01:-.?!#/ \t'\"", min_size=1, max_size=8)
_FLOW_SCALAR = st.one_of(_FLOW_PLAIN, st.sampled_from(["0:15:00", "16GiB", "1:30", "a:b", ":a", "a:", "http://h:8/p",
                                                       "'q:x'", '"q:x"', "'a':", "~", "? a", "!", "! 1"]))


@st.composite
def flow_yaml(draw) -> str:
    """A block mapping of flow mappings and sequences whose plain scalars hold `:` and other flow
    indicators, nested and across lines."""
    def flow(depth: int) -> str:
        if depth > 1 or draw(st.integers(0, 2)) == 0:
            return draw(_FLOW_SCALAR)
        sep = draw(st.sampled_from([", ", ",", ",\n  ", " , "]))
        items = [flow(depth + 1) for _ in range(draw(st.integers(0, 3)))]
        if draw(st.booleans()):
            keys = [draw(_FLOW_SCALAR) for _ in items]
            colon = draw(st.sampled_from([": ", ":", " : ", ":\t"]))
            return "{" + sep.join(f"{k}{colon}{v}" for k, v in zip(keys, items, strict=True)) + "}"
        return "[" + sep.join(items) + "]"
    return "\n".join(f"k{i}: {flow(0)}" for i in range(draw(st.integers(1, 3)))) + "\n"


@settings(max_examples=250, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(flow_yaml())
def test_flow_collections_with_colons_agree_with_ruamel(text):
    _agree(text)


_SMALL_SET_SPEC = """dvhpc: 1
site: tiny
slurm:
  partitions:
    cpu: {{default: true, max_time: 2d, cpus: 48, mem: 180G}}
resources:
  defaults: {{partition: cpu, cpus: 1, mem: 1G, time: 1h}}
  sets:
    small: {{time: {time}, mem: 16GiB}}
  rules:
    a: {{use: small}}
"""


@pytest.mark.parametrize("time, minutes", [("0:15:00", 15), ('"0:15:00"', 15), ("1-02:00:00", 1560), ("1:30", 2)])
def test_colon_durations_in_a_flow_mapping_reach_the_typed_layer(tmp_path, time, minutes):
    """`0:15:00` is a plain string in YAML 1.2: the duration parser reads it as SLURM's H:MM:SS
    (`1:30` as MM:SS, sent rounded up to whole minutes), quoted or not."""
    from dvhpc.model import keys
    from dvhpc.pipeline import check

    spec = tmp_path / "tiny.yaml"
    spec.write_text(_SMALL_SET_SPEC.format(time=time), encoding="utf-8")
    checked = check(str(spec))
    assert checked.ok, [str(d) for d in checked.report.items]
    assert checked.site is not None
    assert checked.site.rules["a"].attempts[0].count(keys.TIME) == minutes


@pytest.mark.parametrize("time", ["0:75:00", "0:15:00:00", "1:2:3:4"])
def test_colon_strings_that_are_no_duration_are_located_errors(tmp_path, time):
    from dvhpc.pipeline import check

    spec = tmp_path / "tiny.yaml"
    spec.write_text(_SMALL_SET_SPEC.format(time=time), encoding="utf-8")
    checked = check(str(spec))
    assert checked.site is None
    assert [(d.code, str(d.location)) for d in checked.report.items] == [("DV202", f"{spec}:9:19")]


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.lists(st.tuples(st.integers(0, 70), st.integers(0, 34), st.sampled_from(["a:", "a", "[", "{[", "- ["])),
                max_size=40), st.sampled_from(["\n", "\r\n", "\r"]))
def test_the_cheap_nesting_bound_never_misses_a_deep_document(lines, newline):
    from dvhpc.frontend.document import MAX_DEPTH
    from dvhpc.frontend.yaml_compose import _may_nest_deeper, nesting_depth

    text = newline.join(" " * indent + "- " * dashes + tail for indent, dashes, tail in lines)
    assert _may_nest_deeper(text) or nesting_depth(text) <= MAX_DEPTH
