"""Stage 3, validate: check the merged spec against the JSON Schema and rewrite every
schema error as a located diagnostic a human can act on.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from dvhpc.frontend.layers import Layers
from dvhpc.model.units import Duration, Factor, Memory, UnitError
from dvhpc.report.diagnostics import Report, closest, dotted

_UNIT_PARSERS = {"memory": Memory.parse, "duration": Duration.parse, "factor": Factor.parse}
_TYPE_NAMES = {
    "object": "a mapping", "array": "a list", "string": "a string", "integer": "an integer",
    "number": "a number", "boolean": "true or false", "null": "nothing",
}


def schema_text() -> str:
    return (Path(__file__).parent.parent / "site.schema.json").read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def schema() -> dict:
    return json.loads(schema_text())


@lru_cache(maxsize=1)
def _validator():
    import re

    from jsonschema import Draft202012Validator, validators
    from jsonschema.exceptions import ValidationError

    def pattern(validator, regex, instance, _schema):
        # JSON Schema's `$` ends the input; Python's also matches before a final newline
        if validator.is_type(instance, "string") and not re.search(re.sub(r"\$$", r"\\Z", regex), instance):
            yield ValidationError(f"{instance!r} does not match {regex!r}")

    # JSON Schema counts 1.0 as an integer; a spec that says `cpus: 16.0` is a typo, not 16
    checker = Draft202012Validator.TYPE_CHECKER.redefine(
        "integer", lambda _, value: isinstance(value, int) and not isinstance(value, bool))
    strict = validators.extend(Draft202012Validator, {"pattern": pattern}, type_checker=checker)
    return strict(_inlined(schema(), schema()["$defs"]))


def _inlined(node, defs):
    """The schema with every `$ref` replaced by its target: a third faster to evaluate (the schema
    has no recursive references)."""
    if isinstance(node, dict):
        if str(node.get("$ref", "")).startswith("#/$defs/"):
            target = defs[node["$ref"].rsplit("/", 1)[-1]]
            return _inlined({**target, **{k: v for k, v in node.items() if k != "$ref"}}, defs)
        return {k: _inlined(v, defs) for k, v in node.items() if k != "$defs"}
    if isinstance(node, list):
        return [_inlined(v, defs) for v in node]
    return node


def _type_of(value) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if value is None:
        return "null"
    names: dict[type, str] = {dict: "object", list: "array", str: "string"}
    return names.get(type(value), type(value).__name__)


def _accepts_type(subschema: dict, value) -> bool:
    declared = subschema.get("type")
    if "const" in subschema:
        return subschema["const"] == value
    if "enum" in subschema:
        return value in subschema["enum"]
    if declared is None:
        return True
    declared = declared if isinstance(declared, list) else [declared]
    actual = _type_of(value)
    return actual in declared or (actual == "integer" and "number" in declared)


def _describe(subschema: dict) -> str:
    if "const" in subschema:
        return repr(subschema["const"])
    if "enum" in subschema:
        return "one of " + ", ".join(map(str, subschema["enum"]))
    declared = subschema.get("type")
    kinds: list[str] = declared if isinstance(declared, list) else [declared] if declared else []
    if subschema.get("x-dvhpc-unit"):
        return f"a {subschema['x-dvhpc-unit']} with a unit"
    return " or ".join(_TYPE_NAMES.get(k, k) for k in kinds) or "a value"


class _Translator:
    def __init__(self, layers: Layers, report: Report):
        self.layers = layers
        self.report = report

    def add(self, code: str, message: str, path, *, key: bool = False, hint: str | None = None,
            fields: dict | None = None) -> None:
        self.report.add(code, message, self.layers.where(tuple(path), key=key), hint=hint, fields=fields)

    def translate(self, error) -> None:
        """The keys and structure of a mapping; a value's own problems go to `value`."""
        path = tuple(error.absolute_path)
        kind = error.validator
        where = dotted(path)
        if "propertyNames" in error.schema_path and isinstance(error.instance, str):
            self.bad_name(error.instance, error.schema, path)
        elif kind == "additionalProperties":
            self.unknown_keys(error, path)
        elif kind == "required":
            for key in [k for k in error.validator_value if k not in error.instance]:
                self.add("DV101", f"missing required key '{key}' in {where}", path)
        elif kind == "propertyNames":
            self.bad_name(error.instance, error.schema.get("propertyNames", {}), path)
        elif kind in ("oneOf", "anyOf"):
            self.one_of(error, path)
        elif kind == "not":
            first, second = error.validator_value.get("required", ["?", "?"])[:2]
            self.add("DV104", f"{where}: set either '{first}' or '{second}', not both", path)
        else:
            self.value(error, kind, path)

    def bad_name(self, name: str, names_schema, path) -> None:
        self.add("DV103", f"invalid name '{name}' in {dotted(path)}: {_describe_pattern(names_schema)}",
                 path + (name,), key=True)

    def unknown_keys(self, error, path) -> None:
        allowed = sorted(error.schema.get("properties", {}))
        extras = sorted(set(error.instance) - set(allowed)) if isinstance(error.instance, dict) else []
        for extra in extras:
            suggestion = closest(extra, allowed)
            self.add(
                "DV102",
                f"unknown key '{extra}' in {dotted(path)}" + (f" (did you mean '{suggestion}'?)" if suggestion else ""),
                path + (extra,), key=True,
                hint=None if suggestion else "allowed keys: " + ", ".join(allowed),
                fields={"key": extra, "path": dotted(path), "suggestion": suggestion},
            )

    def value(self, error, kind: str, path) -> None:
        sub = error.schema if isinstance(error.schema, dict) else {}
        where = dotted(path)
        if kind == "const" and path == ("dvhpc",):
            self.add("DV105", f"unsupported spec format version {error.instance!r}; this dvhpc reads version 1", path)
        elif sub.get("x-dvhpc-unit") and kind in ("type", "pattern"):
            self.unit(sub["x-dvhpc-unit"], error.instance, path)
        elif kind == "type":
            found = _type_of(error.instance)
            self.add("DV100", f"{where} must be {_describe(error.schema)}, not {_TYPE_NAMES.get(found, found)}", path)
        elif kind in ("enum", "const"):
            self.add("DV103", f"{where}: {error.instance!r} is not allowed; expected {_describe(error.schema)}", path)
        elif kind == "pattern" and "slurm_extra" in path:
            self.slurm_extra(error.instance, path)
        elif kind == "pattern":
            expected = _describe_pattern(error.schema)
            self.add("DV103", f"{where}: {_short(error.instance)} is not valid: {expected}", path)
        elif kind in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
            bound = "at least" if "inimum" in kind else "at most"
            self.add("DV103", f"{where} must be {bound} {error.validator_value}, not {error.instance!r}", path)
        elif kind in ("minProperties", "minItems", "minLength"):
            self.add("DV101", f"{where} must not be empty", path)
        elif kind in ("maxLength", "maxItems", "maxProperties"):
            self.add("DV103", f"{where} is too long (at most {error.validator_value})", path)
        else:
            self.add("DV103", f"{where}: {error.message}", path)

    def slurm_extra(self, flag, path) -> None:
        where = dotted(path)
        if any(q in str(flag) for q in "'\""):
            self.add("DV233", f"{where}: quotes inside a slurm_extra flag ({_short(flag)}); each item "
                     "is passed to sbatch as one flag, so it needs no quoting", path,
                     hint="write the flag bare, e.g. --gres=gpu:1 -> use `gpus`/`gpu_type`; --mail-type=END")
        elif " " in str(flag).strip():
            self.add("DV233", f"{where}: {_short(flag)} holds several flags or a space; "
                     "write one flag per list item", path,
                     hint='e.g. slurm_extra: ["--exclusive", "--mail-type=END"]')
        else:
            self.add("DV103", f"{where}: {_short(flag)} is not a plain sbatch flag "
                     "(--name or --name=value with letters, digits and _.,:@%+/=-)", path)

    def unit(self, unit: str, value, path) -> None:
        try:
            _UNIT_PARSERS[unit](value)
        except UnitError as exc:
            self.add(exc.code, f"{dotted(path)}: {exc}", path, hint=exc.hint)
        else:  # parser is more lenient than the pattern: still an error, said plainly
            self.add("DV103", f"{dotted(path)}: {_short(value)} is not a valid {unit}", path)

    def one_of(self, error, path) -> None:
        alternatives = error.validator_value
        fitting = [i for i, alt in enumerate(alternatives) if _accepts_type(alt, error.instance)]
        if len(fitting) == 1:
            chosen = [e for e in error.context if e.relative_schema_path and e.relative_schema_path[0] == fitting[0]]
            if chosen:
                for sub_error in chosen:
                    self.translate(sub_error)
                return
        if len(fitting) == 1 and alternatives[fitting[0]].get("x-dvhpc-unit"):
            self.unit(alternatives[fitting[0]]["x-dvhpc-unit"], error.instance, path)
            return
        expected = " or ".join(dict.fromkeys(_describe(alt) for alt in alternatives))
        found = _TYPE_NAMES.get(_type_of(error.instance), "this")
        self.add("DV104", f"{dotted(path)} must be {expected}, not {found}", path)


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "...'"


def _describe_pattern(subschema: dict) -> str:
    return subschema.get("description", f"must match {subschema.get('pattern')}").rstrip(".")


MAX_SCHEMA_ERRORS = 200


@lru_cache(maxsize=1)
def _fast_check():
    from dvhpc.frontend.schemacheck import compile_schema

    return compile_schema(schema())


def validate(layers: Layers, report: Report) -> bool:
    """Report every schema violation (up to a limit); True when the merged spec is valid."""
    if _fast_check()(layers.data):
        return True  # the common case needs no jsonschema at all
    before = len(report.items)
    translator = _Translator(layers, report)
    for error in _validator().iter_errors(layers.data):
        if len(report.items) - before >= MAX_SCHEMA_ERRORS:
            del report.items[before + MAX_SCHEMA_ERRORS:]  # one error can expand to many (oneOf)
            report.add("DV005", f"more than {MAX_SCHEMA_ERRORS} problems; the rest are not shown", layers.where(()))
            break
        translator.translate(error)
    return len(report.items) == before


def invalid_value_paths(data) -> list[tuple]:
    """The path of each place the schema refuses, a oneOf followed into the alternative that fits
    the value's type (as the diagnostics do): the value itself, or the mapping for a key error."""
    paths: list[tuple] = []

    def leaf(error) -> None:
        if error.validator in ("oneOf", "anyOf"):
            fitting = [i for i, alt in enumerate(error.validator_value) if _accepts_type(alt, error.instance)]
            chosen = [e for e in error.context if len(fitting) == 1 and e.relative_schema_path
                      and e.relative_schema_path[0] == fitting[0]]
            if chosen:
                for sub_error in chosen:
                    leaf(sub_error)
                return
        paths.append(tuple(error.absolute_path))

    for error in _validator().iter_errors(data):
        leaf(error)
    return paths
