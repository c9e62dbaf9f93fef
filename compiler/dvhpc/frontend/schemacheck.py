"""A fast "is this spec valid?" check compiled from the JSON Schema into plain Python closures.

`dvhpc.frontend.schema.validate` runs it first; only an invalid spec pays for importing jsonschema, which
then finds and locates every problem. Both must agree on every document: tests/test_schemacheck.py
compares them on the fixtures, the hostile corpus, the sites and random mutations.

Handles exactly the keywords site.schema.json uses; an unknown keyword raises, so a schema change
cannot silently weaken the check.
"""

from __future__ import annotations

import re

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


def compile_schema(root: dict):
    defs = root.get("$defs", {})
    compiled: dict[str, object] = {}

    def build(s):
        if s is True or s == {}:
            return lambda v: True
        if s is False:
            return lambda v: False
        unknown = set(s) - _KNOWN
        if unknown:
            raise ValueError(f"keyword(s) not supported by the fast check: {sorted(unknown)}")
        checks = []
        if "$ref" in s:
            name = s["$ref"].split("/")[-1]
            if name not in compiled:
                compiled[name] = None  # recursion guard; filled below
                compiled[name] = build(defs[name])
            checks.append(lambda v, name=name: compiled[name](v))
        if "type" in s:
            fs = [_TYPES[t] for t in (s["type"] if isinstance(s["type"], list) else [s["type"]])]
            checks.append(fs[0] if len(fs) == 1 else (lambda v, fs=fs: any(f(v) for f in fs)))
        if "const" in s:
            checks.append(lambda v, c=s["const"]: _same(v, c))
        if "enum" in s:
            checks.append(lambda v, e=s["enum"]: any(_same(v, x) for x in e))
        if "pattern" in s:
            rx = re.compile(re.sub(r"\$$", r"\\Z", s["pattern"]))
            checks.append(lambda v, rx=rx: not isinstance(v, str) or rx.search(v) is not None)
        if "minLength" in s:
            checks.append(lambda v, m=s["minLength"]: not isinstance(v, str) or len(v) >= m)
        if "maxLength" in s:
            checks.append(lambda v, m=s["maxLength"]: not isinstance(v, str) or len(v) <= m)
        if "minItems" in s:
            checks.append(lambda v, m=s["minItems"]: not isinstance(v, list) or len(v) >= m)
        if "minimum" in s:
            checks.append(lambda v, m=s["minimum"]: isinstance(v, bool) or not isinstance(v, (int, float)) or v >= m)
        if "maximum" in s:
            checks.append(lambda v, m=s["maximum"]: isinstance(v, bool) or not isinstance(v, (int, float)) or v <= m)
        if "required" in s:
            checks.append(lambda v, req=tuple(s["required"]): not isinstance(v, dict) or all(k in v for k in req))
        if "properties" in s or "additionalProperties" in s or "propertyNames" in s:
            props = {k: build(p) for k, p in s.get("properties", {}).items()}
            extra = s.get("additionalProperties", True)
            extra_check = build(extra) if isinstance(extra, dict) else None
            names = build(s["propertyNames"]) if "propertyNames" in s else None

            def obj(v, props=props, closed=extra is False, extra_check=extra_check, names=names):
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
            checks.append(obj)
        if "items" in s:
            def items(v, f=build(s["items"])):
                if isinstance(v, list):
                    for x in v:
                        if not f(x):
                            return False
                return True
            checks.append(items)
        if "oneOf" in s:
            checks.append(lambda v, fs=[build(x) for x in s["oneOf"]]: sum(1 for f in fs if f(v)) == 1)
        if "anyOf" in s:
            checks.append(lambda v, fs=[build(x) for x in s["anyOf"]]: any(f(v) for f in fs))
        if "allOf" in s:
            checks.append(lambda v, fs=[build(x) for x in s["allOf"]]: all(f(v) for f in fs))
        if "not" in s:
            checks.append(lambda v, f=build(s["not"]): not f(v))
        if "if" in s:
            checks.append(lambda v, fi=build(s["if"]), ft=build(s.get("then", True)), fe=build(s.get("else", True)):
                          ft(v) if fi(v) else fe(v))
        if not checks:
            return lambda v: True
        if len(checks) == 1:
            return checks[0]

        def every(v, checks=tuple(checks)):  # a loop, not all(genexpr): this runs for every value of a spec
            for check in checks:
                if not check(v):
                    return False
            return True
        return every

    return build(root)
