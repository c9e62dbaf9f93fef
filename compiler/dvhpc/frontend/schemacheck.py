"""A fast "is this spec valid?" check compiled from the JSON Schema into plain Python functions, one
per subschema (its keywords' tests inlined as one expression).

`dvhpc.frontend.schema.validate` runs it first; only an invalid spec pays for importing jsonschema, which
then finds and locates every problem. Both must agree on every document: tests/test_schemacheck.py
compares them on the fixtures, the hostile corpus, the sites and random mutations.

Handles exactly the keywords site.schema.json uses; an unknown keyword raises, so a schema change
cannot silently weaken the check.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from types import CodeType
from typing import Any

_ANNOTATIONS = {"description", "title", "$schema", "$id", "$defs", "x-dvhpc-unit", "default", "examples",
                "markdownDescription", "$comment"}
_KNOWN = {"$ref", "type", "const", "enum", "pattern", "minLength", "maxLength", "minItems", "minimum", "maximum",
          "required", "properties", "additionalProperties", "propertyNames", "items", "oneOf", "anyOf", "allOf",
          "not", "if", "then", "else"} | _ANNOTATIONS


# How each JSON type is tested, as a Python expression of `v` (1.0 is not an integer here, as in
# dvhpc's checker; true is not a number).
_TYPES = {
    "object": "isinstance(v, dict)", "array": "isinstance(v, list)", "string": "isinstance(v, str)",
    "integer": "(isinstance(v, int) and not isinstance(v, bool))",
    "number": "(isinstance(v, (int, float)) and not isinstance(v, bool))",
    "boolean": "isinstance(v, bool)", "null": "v is None",
}
_NUMERIC = ("integer", "number")
_REMEMBERED_LENGTH = 64  # the longest text whose pattern test is remembered


def _same(a, b) -> bool:
    """JSON equality: true is not 1."""
    return a == b and isinstance(a, bool) == isinstance(b, bool)


def _in_enum(v, allowed: tuple) -> bool:
    return any(_same(v, x) for x in allowed)


def _accept(_value) -> bool:
    return True


def _reject(_value) -> bool:
    return False


def _pending(_value) -> bool:
    raise AssertionError("a $ref checked before it was compiled")


Check = Callable[[Any], bool]


class _Terms:
    """One subschema's checks as Python expressions of `v`, joined with `and` into one function:
    a value costs one call per subschema, not one per keyword. Values the expressions use (regexes,
    constants, the checks of nested subschemas) are bound to names."""

    def __init__(self, schema: dict) -> None:
        self.namespace: dict[str, Any] = {"_same": _same, "_in_enum": _in_enum}
        self.calls: dict[str, Check] = {}
        declared = schema.get("type")
        # the one type every value reaching a later term has (the type term comes first): those
        # terms skip their own "does this keyword apply to this type" test
        self.type = declared if isinstance(declared, str) else None

    def bind(self, value) -> str:
        name = f"_{len(self.namespace)}"
        self.namespace[name] = value
        return name

    def call(self, check: Check) -> str:
        expression = f"{self.bind(check)}(v)"
        self.calls[expression] = check
        return expression

    def unless(self, types: tuple[str, ...], guard: str) -> str:
        """`guard` (a keyword does not apply to the value's type), or nothing when the type term
        already ensures one of `types`."""
        return "" if self.type in types else guard + " or "


@functools.cache
def _code(expression: str) -> CodeType:
    """The compiled `lambda v: expression` (a few kinds repeat across the schema's hundreds of subschemas:
    their names are numbered alike)."""
    return compile("lambda v: " + expression, "<schema check>", "eval")


class _Compiler:
    """One method per keyword: each turns its keyword's value into an expression (see _Terms)."""

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
        terms = _Terms(s)
        expressions = [make(self, s, terms) for keywords, make in _KEYWORDS if not s.keys().isdisjoint(keywords)]
        if not expressions:
            return _accept
        if len(expressions) == 1 and expressions[0] in terms.calls:  # one nested check: itself, no wrapper
            return terms.calls[expressions[0]]
        return eval(_code(" and ".join(expressions)), terms.namespace)  # our own expressions only

    def ref(self, s, terms: _Terms) -> str:
        name = s["$ref"].split("/")[-1]
        compiled = self.compiled
        if name not in compiled:
            compiled[name] = _pending  # a recursive reference meets this while it is being built
            compiled[name] = self.build(self.defs[name])
        if compiled[name] is _pending:
            return terms.call(lambda v: compiled[name](v))
        return terms.call(compiled[name])

    def type(self, s, _terms: _Terms) -> str:
        kinds = s["type"] if isinstance(s["type"], list) else [s["type"]]
        return "(" + " or ".join(_TYPES[kind] for kind in kinds) + ")"

    def const(self, s, terms: _Terms) -> str:
        return f"_same(v, {terms.bind(s['const'])})"

    def enum(self, s, terms: _Terms) -> str:
        return f"_in_enum(v, {terms.bind(tuple(s['enum']))})"

    def pattern(self, s, terms: _Terms) -> str:
        rx = re.compile(re.sub(r"\$$", r"\\Z", s["pattern"]))
        # the same short texts (sizes, durations, partition names) recur within and across specs: a
        # remembered answer costs less than a search (long texts are searched, not kept)
        remembered = functools.lru_cache(maxsize=1024)(lambda v: rx.search(v) is not None)
        test = (f"({terms.bind(remembered)}(v) if len(v) <= {_REMEMBERED_LENGTH} "
                f"else {terms.bind(rx)}.search(v) is not None)")
        return f"({terms.unless(('string',), 'not isinstance(v, str)')}{test})"

    def min_length(self, s, terms: _Terms) -> str:
        return f"({terms.unless(('string',), 'not isinstance(v, str)')}len(v) >= {terms.bind(s['minLength'])})"

    def max_length(self, s, terms: _Terms) -> str:
        return f"({terms.unless(('string',), 'not isinstance(v, str)')}len(v) <= {terms.bind(s['maxLength'])})"

    def min_items(self, s, terms: _Terms) -> str:
        return f"({terms.unless(('array',), 'not isinstance(v, list)')}len(v) >= {terms.bind(s['minItems'])})"

    def minimum(self, s, terms: _Terms) -> str:
        guard = terms.unless(_NUMERIC, "isinstance(v, bool) or not isinstance(v, (int, float))")
        return f"({guard}v >= {terms.bind(s['minimum'])})"

    def maximum(self, s, terms: _Terms) -> str:
        guard = terms.unless(_NUMERIC, "isinstance(v, bool) or not isinstance(v, (int, float))")
        return f"({guard}v <= {terms.bind(s['maximum'])})"

    def required(self, s, terms: _Terms) -> str:
        present = " and ".join(f"{terms.bind(key)} in v" for key in s["required"]) or "True"
        return f"({terms.unless(('object',), 'not isinstance(v, dict)')}({present}))"

    def object(self, s, terms: _Terms) -> str:
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
        return terms.call(obj)

    def items(self, s, terms: _Terms) -> str:
        f = self.build(s["items"])

        def items(v) -> bool:
            if isinstance(v, list):
                for x in v:
                    if not f(x):
                        return False
            return True
        return terms.call(items)

    def one_of(self, s, terms: _Terms) -> str:
        fs = tuple(self.build(x) for x in s["oneOf"])

        def one_of(v) -> bool:
            fitting = 0
            for f in fs:
                if f(v):
                    fitting += 1
                    if fitting > 1:  # the rest cannot make it exactly one again
                        return False
            return fitting == 1
        return terms.call(one_of)

    def any_of(self, s, terms: _Terms) -> str:
        return "(" + " or ".join(terms.call(self.build(x)) for x in s["anyOf"]) + ")"

    def all_of(self, s, terms: _Terms) -> str:
        return "(" + " and ".join(terms.call(self.build(x)) for x in s["allOf"]) + ")"

    def not_(self, s, terms: _Terms) -> str:
        return f"(not {terms.call(self.build(s['not']))})"

    def if_then_else(self, s, terms: _Terms) -> str:
        fi, ft, fe = self.build(s["if"]), self.build(s.get("then", True)), self.build(s.get("else", True))
        return f"({terms.call(ft)} if {terms.call(fi)} else {terms.call(fe)})"


# The keywords that trigger each compiler, in the order the checks run ("then"/"else" are read by "if").
_KEYWORDS: tuple[tuple[tuple[str, ...], Callable[[_Compiler, dict, _Terms], str]], ...] = (
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
