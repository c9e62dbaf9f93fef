"""A fast "is this spec valid?" check compiled from the JSON Schema into plain Python closures.

`dvhpc.frontend.schema.validate` runs it first; only an invalid spec pays for importing jsonschema, which
then finds and locates every problem. Both must agree on every document: tests/test_schemacheck.py
compares them on the fixtures, the hostile corpus, the sites and random mutations.

Handles exactly the keywords site.schema.json uses; an unknown keyword raises, so a schema change
cannot silently weaken the check.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

_ANNOTATIONS = {"description", "title", "$schema", "$id", "$defs", "x-dvhpc-unit", "default", "examples",
                "markdownDescription", "$comment"}
_KNOWN = {"$ref", "type", "const", "enum", "pattern", "minLength", "maxLength", "minItems", "minimum", "maximum",
          "required", "properties", "additionalProperties", "propertyNames", "items", "oneOf", "anyOf", "allOf",
          "not", "if", "then", "else"} | _ANNOTATIONS


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)  # 1.0 is not an integer here (as dvhpc's checker)


_TYPES = {
    "object": lambda v: isinstance(v, dict), "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str), "integer": _is_int,
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool), "null": lambda v: v is None,
}


def _same(a, b) -> bool:
    """JSON equality: true is not 1."""
    return a == b and isinstance(a, bool) == isinstance(b, bool)


def _accept(_value) -> bool:
    return True


def _reject(_value) -> bool:
    return False


Check = Callable[[Any], bool]


class _Compiler:
    """One method per keyword: each turns its keyword's value into a closure (or None when it checks nothing)."""

    def __init__(self, root: dict) -> None:
        self.defs = root.get("$defs", {})
        self.compiled: dict[str, Check] = {}

    def build(self, s) -> Check:
        if s is True or s == {}:
            return _accept
        if s is False:
            return _reject
        unknown = set(s) - _KNOWN
        if unknown:
            raise ValueError(f"keyword(s) not supported by the fast check: {sorted(unknown)}")
        checks = [make(self, s) for keywords, make in _KEYWORDS if not s.keys().isdisjoint(keywords)]
        if not checks:
            return _accept
        if len(checks) == 1:
            return checks[0]
        every_check = tuple(checks)

        def every(v) -> bool:  # a loop, not all(genexpr): this runs for every value of a spec
            for check in every_check:
                if not check(v):
                    return False
            return True
        return every

    def ref(self, s) -> Check:
        name = s["$ref"].split("/")[-1]
        compiled = self.compiled
        if name not in compiled:
            compiled[name] = _reject  # recursion guard: replaced below, before any value is checked
            compiled[name] = self.build(self.defs[name])
        return lambda v: compiled[name](v)

    def type(self, s) -> Check:
        fs = [_TYPES[t] for t in (s["type"] if isinstance(s["type"], list) else [s["type"]])]
        return fs[0] if len(fs) == 1 else (lambda v: any(f(v) for f in fs))

    def const(self, s) -> Check:
        c = s["const"]
        return lambda v: _same(v, c)

    def enum(self, s) -> Check:
        e = s["enum"]
        return lambda v: any(_same(v, x) for x in e)

    def pattern(self, s) -> Check:
        rx = re.compile(re.sub(r"\$$", r"\\Z", s["pattern"]))
        return lambda v: not isinstance(v, str) or rx.search(v) is not None

    def min_length(self, s) -> Check:
        m = s["minLength"]
        return lambda v: not isinstance(v, str) or len(v) >= m

    def max_length(self, s) -> Check:
        m = s["maxLength"]
        return lambda v: not isinstance(v, str) or len(v) <= m

    def min_items(self, s) -> Check:
        m = s["minItems"]
        return lambda v: not isinstance(v, list) or len(v) >= m

    def minimum(self, s) -> Check:
        m = s["minimum"]
        return lambda v: isinstance(v, bool) or not isinstance(v, (int, float)) or v >= m

    def maximum(self, s) -> Check:
        m = s["maximum"]
        return lambda v: isinstance(v, bool) or not isinstance(v, (int, float)) or v <= m

    def required(self, s) -> Check:
        req = tuple(s["required"])
        return lambda v: not isinstance(v, dict) or all(k in v for k in req)

    def object(self, s) -> Check:
        """properties, additionalProperties and propertyNames together: one pass over the mapping."""
        props = {k: self.build(p) for k, p in s.get("properties", {}).items()}
        extra = s.get("additionalProperties", True)
        closed = extra is False
        extra_check = self.build(extra) if isinstance(extra, dict) else None
        names = self.build(s["propertyNames"]) if "propertyNames" in s else None

        def obj(v) -> bool:
            if not isinstance(v, dict):
                return True
            for key, item in v.items():
                if names is not None and not names(key):
                    return False
                check = props.get(key)
                if check is not None:
                    if not check(item):
                        return False
                elif closed or (extra_check is not None and not extra_check(item)):
                    return False
            return True
        return obj

    def items(self, s) -> Check:
        f = self.build(s["items"])

        def items(v) -> bool:
            if isinstance(v, list):
                for x in v:
                    if not f(x):
                        return False
            return True
        return items

    def one_of(self, s) -> Check:
        fs = [self.build(x) for x in s["oneOf"]]
        return lambda v: sum(1 for f in fs if f(v)) == 1

    def any_of(self, s) -> Check:
        fs = [self.build(x) for x in s["anyOf"]]
        return lambda v: any(f(v) for f in fs)

    def all_of(self, s) -> Check:
        fs = [self.build(x) for x in s["allOf"]]
        return lambda v: all(f(v) for f in fs)

    def not_(self, s) -> Check:
        f = self.build(s["not"])
        return lambda v: not f(v)

    def if_then_else(self, s) -> Check:
        fi, ft, fe = self.build(s["if"]), self.build(s.get("then", True)), self.build(s.get("else", True))
        return lambda v: ft(v) if fi(v) else fe(v)


# The keywords that trigger each compiler, in the order the checks run ("then"/"else" are read by "if").
_KEYWORDS: tuple[tuple[tuple[str, ...], Callable[[_Compiler, dict], Check]], ...] = (
    (("$ref",), _Compiler.ref), (("type",), _Compiler.type), (("const",), _Compiler.const),
    (("enum",), _Compiler.enum), (("pattern",), _Compiler.pattern), (("minLength",), _Compiler.min_length),
    (("maxLength",), _Compiler.max_length), (("minItems",), _Compiler.min_items),
    (("minimum",), _Compiler.minimum), (("maximum",), _Compiler.maximum), (("required",), _Compiler.required),
    (("properties", "additionalProperties", "propertyNames"), _Compiler.object), (("items",), _Compiler.items),
    (("oneOf",), _Compiler.one_of), (("anyOf",), _Compiler.any_of), (("allOf",), _Compiler.all_of),
    (("not",), _Compiler.not_), (("if",), _Compiler.if_then_else),
)


def compile_schema(root: dict) -> Check:
    return _Compiler(root).build(root)
