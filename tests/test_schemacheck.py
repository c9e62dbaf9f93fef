"""The fast validity check and jsonschema agree on every document (differential test).

`dvhpc.frontend.schema.validate` trusts the fast check when it says "valid"; a disagreement would let an
invalid spec through to the resolver, so it is checked on every kind of input we have.
"""

from __future__ import annotations

import copy
import random
from pathlib import Path

import pytest

from dvhpc.frontend.layers import SpecLoader
from dvhpc.frontend.schema import _fast_check, _validator
from dvhpc.report.diagnostics import Report

ROOT = Path(__file__).resolve().parent.parent
INPUTS = sorted(
    {*ROOT.glob("sites/*.yaml"), *ROOT.glob("tests/fixtures/**/*.yaml"), *ROOT.glob("tests/fixtures/**/*.toml"),
     *ROOT.glob("tests/hostile/corpus/*"), *ROOT.glob("tests/e2e/*.yaml")}
)


def _documents():
    for path in INPUTS:
        if path.is_file():
            layers = SpecLoader().load(path, Report())
            if layers is not None:
                yield path, layers.data


def _agree(data) -> tuple[bool, bool]:
    return _fast_check()(data), next(_validator().iter_errors(data), None) is None


def test_agrees_with_jsonschema_on_every_fixture_and_corpus_file():
    checked = 0
    for path, data in _documents():
        fast, slow = _agree(data)
        assert fast == slow, f"{path}: fast check says {fast}, jsonschema says {slow}"
        checked += 1
    assert checked > 100


# the long texts pass the fast check's pattern tests that are not remembered (schemacheck._REMEMBERED_LENGTH)
MUTATIONS = [None, True, False, 0, -1, 1.5, 10**12, "", "x", "16G", "2h", "$(x)", "a\n", "1" * 70 + "G",
             "x" * 70, "x" * 70 + "\n", [], ["x"], {}, {"x": 1}]


def _paths(data, path=()):
    yield path
    if isinstance(data, dict):
        for key, value in data.items():
            yield from _paths(value, path + (key,))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from _paths(value, path + (index,))


@pytest.mark.parametrize("spec", ["example.yaml", "dynvision-greene.yaml"])
def test_agrees_on_every_field_replaced_by_every_kind_of_value(spec):
    base = SpecLoader().load(ROOT / "sites" / spec, Report()).data
    rng = random.Random(7)
    for path in list(_paths(base))[1:]:
        for value in MUTATIONS:
            data = copy.deepcopy(base)
            node = data
            for part in path[:-1]:
                node = node[part]
            node[path[-1]] = value
            fast, slow = _agree(data)
            assert fast == slow, f"{spec}: {path} = {value!r}: fast {fast}, jsonschema {slow}"
        # and an unknown key next to it
        data = copy.deepcopy(base)
        node = data
        for part in path[:-1]:
            node = node[part]
        if isinstance(node, dict):
            node[f"x{rng.randrange(1000)}"] = 1
            assert _agree(data)[0] == _agree(data)[1], path


def test_unknown_schema_keyword_is_refused():
    from dvhpc.frontend.schemacheck import compile_schema

    with pytest.raises(ValueError, match="not supported"):
        compile_schema({"type": "object", "patternProperties": {}})


def test_recursive_reference_checks_every_level():
    """site.schema.json has none, but a recursive `$ref` must reach the finished check, not a placeholder."""
    from dvhpc.frontend.schemacheck import compile_schema

    check = compile_schema({"$defs": {"node": {"type": "object", "additionalProperties": False,
                                               "properties": {"child": {"$ref": "#/$defs/node"},
                                                              "n": {"type": "integer", "minimum": 0}}}},
                            "$ref": "#/$defs/node"})
    assert check({"child": {"child": {"n": 1}}}) is True
    assert check({"child": {"child": {"n": -1}}}) is False
    assert check({"child": {"child": {"x": 1}}}) is False
    assert check({"n": True}) is False


def test_keywords_without_their_type_apply_to_their_type_only():
    from dvhpc.frontend.schemacheck import compile_schema

    check = compile_schema({"minimum": 2, "maxLength": 1, "minItems": 1, "required": ["a"], "pattern": "^x$"})
    assert [check(v) for v in (3, 1, True, "x", "xx", "x\n", [1], [], {"a": 1}, {}, None)] == [
        True, False, True, True, False, False, True, False, True, False, True]
