"""docs/spec.md, generated from the schema: every key's type, constraints and description in words.

`spec_markdown()` is a pure function of the schema, so the output is deterministic and a test can tell
when the checked-in file is stale (`dvhpc schema --markdown > docs/spec.md`, or
`python -m dvhpc.tools.docs spec`). docs/diagnostics.md is rendered by `dvhpc.tools.docs`.
"""

from __future__ import annotations

import json
import re

SPEC_REGENERATE = "dvhpc schema --markdown > docs/spec.md"

_TYPE_WORDS = {
    "object": "mapping",
    "array": "list",
    "string": "string",
    "integer": "integer",
    "number": "number",
    "boolean": "boolean (`true`/`false`)",
    "null": "`null`",
}


def code_span(value: object) -> str:
    """`value` as Markdown inline code (a longer fence when it holds a backtick)."""
    text = value if isinstance(value, str) else json.dumps(value)
    fence = "``" if "`" in text else "`"
    pad = " " if fence == "``" else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _class_words(body: str) -> str:
    """A regex character class body (`A-Za-z0-9_-`) in words."""
    if body.startswith("^"):
        rest = body[1:]
        if rest.replace("\\\\", "\\") in ("\\u0000-\\u001f\\u007f",):
            return "any character except control characters"
        return "any character except " + _class_words(rest)
    words = []
    named = [("A-Za-z", "letters"), ("a-z", "lowercase letters"), ("A-Z", "uppercase letters"), ("0-9", "digits")]
    rest = body
    for chunk, word in named:
        if chunk in rest:
            words.append(word)
            rest = rest.replace(chunk, "", 1)
    rest = rest.replace("\\[", "[").replace("\\]", "]").replace("\\-", "-")
    words += [code_span(ch) for ch in rest]
    return ", ".join(words)


_PIECE = re.compile(r"\[((?:\\.|[^\]\\])+)\](\*|\+|\{\d+\})?|([A-Za-z0-9_-])")


def _pattern_words(pattern: str) -> str | None:
    """Simple anchored patterns (`^[a-z][a-z0-9-]*$`, `^DV[0-9]{3}$`) in words; None if not simple."""
    if not (pattern.startswith("^") and pattern.endswith("$")):
        return None
    if pattern == "^[^\\u0000-\\u001f\\u007f]*$":
        return "one line of text without control characters"
    body, pos, parts, literal = pattern[1:-1], 0, [], ""
    while pos < len(body):
        match = _PIECE.match(body, pos)
        if not match:
            return None
        pos = match.end()
        if match.group(3):
            literal += match.group(3)
            continue
        if literal:
            parts.append(f"the text {code_span(literal)}")
            literal = ""
        words, quantifier = _class_words(match.group(1)), match.group(2)
        if quantifier == "+":
            parts.append(f"one or more characters from {words}")
        elif quantifier == "*":
            parts.append(f"any number of characters from {words}")
        elif quantifier:
            parts.append(f"exactly {quantifier[1:-1]} characters from {words}")
        else:
            parts.append(f"a character from {words}")
    if literal:
        parts.append(f"the text {code_span(literal)}")
    return ", then ".join(parts) if parts else None


def _plural(count: int, noun: str) -> str:
    if count == 1:
        return f"1 {noun}"
    return f"{count} {noun[:-1] + 'ies' if noun.endswith('y') else noun + 's'}"


def _alternatives(words: list[str]) -> str:
    """`a`, `a or b`, `a, b or c`."""
    if len(words) <= 2:
        return " or ".join(words)
    return ", ".join(words[:-1]) + " or " + words[-1]


def _group(text: str) -> str:
    return f"({text})" if " or " in text else text


def _range(sub: dict) -> str | None:
    low, high = sub.get("minimum"), sub.get("maximum")
    if low is not None and high is not None:
        return f"{low} to {high}"
    if low is not None:
        return f"at least {low}"
    if high is not None:
        return f"at most {high}"
    return None


class _SpecWriter:
    def __init__(self, schema: dict):
        self.schema = schema
        self.defs = schema.get("$defs", {})
        self.out: list[str] = []
        self.seen_shapes: dict[str, str] = {}

    # ---- one schema in words

    def type_words(self, sub: dict) -> str:
        """The accepted type of `sub`, short, with links to value types."""
        return _alternatives(self.type_alts(sub)) or "any value"

    def type_alts(self, sub: dict) -> list[str]:
        if "$ref" in sub:
            name = sub["$ref"].split("/")[-1]
            return [f"[{name}](#{name})"]
        if "const" in sub:
            return [f"exactly {code_span(sub['const'])}"]
        if "enum" in sub:
            return ["one of " + ", ".join(code_span(v) for v in sub["enum"])]
        for key in ("oneOf", "anyOf"):
            if key in sub:
                return list(dict.fromkeys(word for alt in sub[key] for word in self.type_alts(alt)))
        kinds = sub.get("type")
        kinds = kinds if isinstance(kinds, list) else [kinds] if kinds else []
        words: list[str] = []
        for kind in kinds:
            word = _TYPE_WORDS.get(kind) or str(kind)
            if kind in ("integer", "number"):
                bounds = _range(sub)
                word += f" ({bounds})" if bounds and len(kinds) == 1 else ""
            elif kind == "array" and isinstance(sub.get("items"), dict):
                word = "list of " + _group(self.type_words(sub["items"]))
            elif kind == "object" and "properties" not in sub and isinstance(sub.get("additionalProperties"), dict):
                word = "mapping of `<name>` to " + _group(self.type_words(sub["additionalProperties"]))
            words.append(word)
        return words

    def facts(self, sub: dict) -> list[str]:
        """Constraints beyond the type, one line each."""
        lines = []
        if "pattern" in sub and "$ref" not in sub:
            human = _pattern_words(sub["pattern"])
            lines.append(f"Format: {human} (pattern {code_span(sub['pattern'])})" if human
                         else f"Format: must match {code_span(sub['pattern'])}")
        if "minLength" in sub and "$ref" not in sub:
            lines.append(f"At least {_plural(sub['minLength'], 'character')}.")
        if "maxLength" in sub and "$ref" not in sub:
            lines.append(f"At most {sub['maxLength']} characters.")
        if "minItems" in sub:
            lines.append(f"At least {_plural(sub['minItems'], 'item')}.")
        if "maxItems" in sub:
            lines.append(f"At most {sub['maxItems']} items.")
        if "minProperties" in sub:
            lines.append(f"At least {_plural(sub['minProperties'], 'entry')}.")
        if sub.get("type") == "array" and isinstance(sub.get("items"), dict):
            items = sub["items"]
            item_facts = self.facts(items)
            if items.get("description"):
                lines.append("Each item: " + items["description"])
            lines += ["Each item: " + fact[0].lower() + fact[1:] for fact in item_facts]
        if isinstance(sub.get("propertyNames"), dict):
            lines.append("Names (`<name>`): " + self.name_words(sub["propertyNames"]))
        # keys that exclude each other: one `not`, or an `allOf` of them (one per pair)
        for negation in [sub] + [part for part in sub.get("allOf", ()) if isinstance(part, dict)]:
            if isinstance(negation.get("not"), dict) and negation["not"].get("required"):
                names = [code_span(n) for n in negation["not"]["required"]]
                lines.append(f"Set {_alternatives(names)}, not {'both' if len(names) == 2 else 'all of them'}.")
        return lines

    def name_words(self, sub: dict) -> str:
        if "$ref" in sub:
            return self.type_words(sub)
        human = _pattern_words(sub.get("pattern", "")) if "pattern" in sub else None
        if human:
            return f"{human} (pattern {code_span(sub['pattern'])})"
        return self.type_words(sub)

    # ---- walking

    def required_words(self, parent: dict, key: str) -> str:
        if key in parent.get("required", []):
            return "yes"
        conditions = []
        for clause in parent.get("allOf", []):
            if key in clause.get("then", {}).get("required", []):
                conditions.append(self.condition_words(clause.get("if", {})))
        if conditions:
            return "yes, " + " and ".join(conditions)
        return "no"

    @staticmethod
    def condition_words(condition: dict) -> str:
        negated = condition.get("not")
        if isinstance(negated, dict):
            consts = {k: v["const"] for k, v in negated.get("properties", {}).items() if "const" in v}
            if consts and set(negated.get("required", [])) <= set(consts):
                return "unless " + " and ".join(code_span(f"{k}: {json.dumps(v)}") for k, v in consts.items())
        return "in some cases (see the schema's `allOf`)"

    def key(self, path: str, sub: dict, parent: dict | None, name: str | None, depth: int) -> None:
        heading = "##" if depth == 1 else "###"
        self.out.append(f"{heading} `{path}`\n")
        description = sub.get("description") or self.defs.get(sub.get("$ref", "").split("/")[-1], {}).get("description")
        if description:
            self.out.append(description + "\n")
        lines = [f"- **Type:** {self.type_words(sub)}"]
        if parent is not None and name is not None:
            lines.append(f"- **Required:** {self.required_words(parent, name)}")
        lines += [f"- {fact}" for fact in self.facts(sub)]
        alternatives = sub.get("oneOf") or sub.get("anyOf")
        if alternatives:
            lines.append("- **Accepted forms:**")
            for alt in alternatives:
                text = "mapping" if "properties" in alt else self.type_words(alt)
                if alt.get("description") and "$ref" not in alt:
                    text += f": {alt['description']}"
                lines.append(f"  - {text}")
                lines += [f"    - {fact}" for fact in self.facts(alt)]
        self.out.append("\n".join(lines) + "\n")
        self.children(path, sub, depth)
        for alt in alternatives or ():
            self.children(path, alt, depth)

    def children(self, path: str, sub: dict, depth: int) -> None:
        if sub.get("type") != "object" and "properties" not in sub:
            return
        props = sub.get("properties", {})
        if props:
            shape = json.dumps({k: v for k, v in sub.items() if k != "description"}, sort_keys=True)
            if shape in self.seen_shapes:
                self.out.append(f"Accepts the same keys as `{self.seen_shapes[shape]}`.\n")
                return
            self.seen_shapes[shape] = path
        for name, child in props.items():
            self.key(f"{path}.{name}" if path else name, child, sub, name, depth + 1)
        extra = sub.get("additionalProperties")
        if isinstance(extra, dict):
            self.key(f"{path}.<name>", extra, None, None, depth + 1)

    def value_types(self) -> None:
        self.out.append("## Value types\n")
        self.out.append("Shared formats that keys above link to.\n")
        for name, sub in self.defs.items():
            self.out.append(f"### {name}\n")
            if sub.get("description"):
                self.out.append(sub["description"] + "\n")
            lines = [f"- **Type:** {self.type_words(sub)}"]
            if "pattern" in sub:
                human = _pattern_words(sub["pattern"])
                lines.append(f"- Pattern: {code_span(sub['pattern'])}" + (f" ({human})" if human else ""))
            if "minLength" in sub:
                lines.append(f"- At least {_plural(sub['minLength'], 'character')}.")
            if "maxLength" in sub:
                lines.append(f"- At most {sub['maxLength']} characters.")
            if sub.get("x-dvhpc-unit"):
                lines.append(f"- Parsed as a {sub['x-dvhpc-unit']}; a bare number is an error (DV204).")
            self.out.append("\n".join(lines) + "\n")

    def render(self) -> str:
        schema = self.schema
        self.out.append(f"<!-- Generated from schema/site.schema.json by `{SPEC_REGENERATE}`; do not edit. -->\n")
        self.out.append(f"# {schema.get('title', 'Site spec reference')}\n")
        if schema.get("description"):
            self.out.append(schema["description"] + "\n")
        self.out.append(
            "Every mapping is closed: a key not listed here is an error (DV102). `<name>` stands for a "
            "name you choose (a partition, a rule, a path, ...). Value types such as "
            "[memory](#memory) and [duration](#duration) are described at the end.\n"
        )
        required = []
        for key in schema.get("properties", {}):
            words = self.required_words(schema, key)
            if words != "no":
                required.append(f"`{key}`" + ("" if words == "yes" else " " + words.removeprefix("yes, ")))
        if required:
            self.out.append("Required at the top level: " + "; ".join(required) + ".\n")
        for name, child in schema.get("properties", {}).items():
            self.key(name, child, schema, name, 1)
        self.value_types()
        return "\n".join(self.out).rstrip("\n") + "\n"


def spec_markdown(schema: dict | None = None) -> str:
    """The reference of every key (docs/spec.md), rendered from the schema's descriptions."""
    if schema is None:
        from dvhpc.frontend.schema import schema as load_schema

        schema = load_schema()
    return _SpecWriter(schema).render()
