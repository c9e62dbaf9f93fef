"""Reference docs generated from the schema and the diagnostics catalogue.

`spec_markdown()` renders docs/spec.md (`dvhpc schema --markdown > docs/spec.md`);
`diagnostics_markdown()` renders docs/diagnostics.md (`python -m dvhpc.tools.docs diagnostics > docs/diagnostics.md`).
Both are pure functions of the schema / `CODES`, so the output is deterministic and a test can
tell when the checked-in files are stale.
"""

from __future__ import annotations

import json
import re
import sys

SPEC_REGENERATE = "dvhpc schema --markdown > docs/spec.md"
DIAGNOSTICS_REGENERATE = "python -m dvhpc.tools.docs diagnostics > docs/diagnostics.md"

# --------------------------------------------------------------------------- spec.md

_TYPE_WORDS = {
    "object": "mapping",
    "array": "list",
    "string": "string",
    "integer": "integer",
    "number": "number",
    "boolean": "boolean (`true`/`false`)",
    "null": "`null`",
}


def _code(value) -> str:
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
    words += [_code(ch) for ch in rest]
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
            parts.append(f"the text {_code(literal)}")
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
        parts.append(f"the text {_code(literal)}")
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


def _range(sub: dict, noun: str) -> str | None:
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
            return [f"exactly {_code(sub['const'])}"]
        if "enum" in sub:
            return ["one of " + ", ".join(_code(v) for v in sub["enum"])]
        for key in ("oneOf", "anyOf"):
            if key in sub:
                return list(dict.fromkeys(word for alt in sub[key] for word in self.type_alts(alt)))
        kinds = sub.get("type")
        kinds = kinds if isinstance(kinds, list) else [kinds] if kinds else []
        words: list[str] = []
        for kind in kinds:
            word = _TYPE_WORDS.get(kind, kind)
            if kind in ("integer", "number"):
                bounds = _range(sub, kind)
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
            lines.append(f"Format: {human} (pattern {_code(sub['pattern'])})" if human
                         else f"Format: must match {_code(sub['pattern'])}")
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
        if isinstance(sub.get("not"), dict) and sub["not"].get("required"):
            names = [_code(n) for n in sub["not"]["required"]]
            lines.append(f"Set {_alternatives(names)}, not {'both' if len(names) == 2 else 'all of them'}.")
        return lines

    def name_words(self, sub: dict) -> str:
        if "$ref" in sub:
            return self.type_words(sub)
        human = _pattern_words(sub.get("pattern", "")) if "pattern" in sub else None
        if human:
            return f"{human} (pattern {_code(sub['pattern'])})"
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
                return "unless " + " and ".join(_code(f"{k}: {json.dumps(v)}") for k, v in consts.items())
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
                lines.append(f"- Pattern: {_code(sub['pattern'])}" + (f" ({human})" if human else ""))
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


# --------------------------------------------------------------------------- diagnostics.md

# One real message per code (the validate ones are exactly what tests/fixtures/validate expects).
EXAMPLES: dict[str, str] = {
    "DV001": "cannot read 'missing.yaml': it does not exist",
    "DV002": "file is not valid UTF-8 text",
    "DV003": "YAML syntax error: a tab character here",
    "DV004": "duplicate key 'train'",
    "DV005": "document expands to more than 200000 nodes or 64 levels (alias bomb or runaway nesting?)",
    "DV006": "YAML tag '!custom' is not supported",
    "DV007": "'layers/not_a_spec.yaml' is not a dvhpc spec (its content is not shown)",
    "DV008": "U+0085 (NEXT LINE) is a line break to YAML 1.1 readers such as Snakemake, not to YAML 1.2",
    "DV010": "cannot read 'bsae.yaml': it does not exist",
    "DV011": "cycle in `extends`: dv011_self.yaml -> dv011_self.yaml",
    "DV100": "slurm.accounting must be true or false, not a string",
    "DV101": "missing required key 'site' in the top level",
    "DV102": "unknown key 'partiton' in resources.rules.train_model (did you mean 'partition'?)",
    "DV103": "slurm.gpu_flag: 'gres-per-node' is not allowed; expected one of gpus, gres, gpus-per-node",
    "DV104": "snakemake.jobs must be an integer or 'unlimited', not a string",
    "DV105": "unsupported spec format version 2; this dvhpc reads version 1",
    "DV201": "resources.defaults.mem: unknown memory unit 'Q' in '16Q'",
    "DV202": "resources.defaults.time: invalid duration '2 hours'",
    "DV203": "resources.defaults.retry.mem: invalid retry factor 'double'",
    "DV204": "resources.defaults.mem: memory '16' has no unit",
    "DV210": "unknown resource set 'gpu_trian' (did you mean 'gpu_train'?)",
    "DV211": "unknown partition 'cpus' (did you mean 'cpu'?)",
    "DV212": "GPU type 'h100' is not offered by partition 'gpu' (it has: a100)",
    "DV213": "resource set 'a' uses itself (cycle: a -> b -> a)",
    "DV220": "environment.conda: '$' at position 1 does not start a variable; write ${NAME} or $NAME "
             "(no command substitution or ${VAR:-...} forms)",
    "DV221": "paths.models: unknown path '{dta}' (did you mean '{data}'?)",
    "DV222": "paths refer to each other in a cycle: a -> b -> a",
    "DV230": "partitions 'cpu' and 'gpu' are both marked default",
    "DV231": "environment.variables.BASH_ENV is refused: the generated scripts use it themselves or it changes how "
             "bash runs them",
    "DV232": "slurm_extra flag '--mem' is set by the SLURM executor plugin itself; the job would be refused",
    "DV233": "resources.rules.train.slurm_extra[0]: '--exclusive --mail-type=END' holds several flags or a space; "
             "write one flag per list item",
    "DV234": "environment.container.image: '--contain' begins with '-': apptainer exec would read it as an option",
    "DV235": "environment.variables.PYTHONPATH is outside the safe set but allowed by "
             "environment.allow_unsafe_variables: python reads it at start-up and can be made to run or import "
             "other code",
    # DV3xx: real `dvhpc lint` output
    "DV301": "rule 'long': time 4320 min (3d) exceeds partition 'cpu' max_time 2880 min (2d)",
    "DV302": "rule 'big': mem 204800 MiB (200G) exceeds partition 'cpu' node memory 184320 MiB (180G)",
    "DV303": "rule 'many': cpus 64 exceeds partition 'cpu' CPUs per node 48",
    "DV304": "rule 'too_many_gpus': gpus 8 exceeds the 4 GPUs per node of partition 'gpu'",
    "DV305": "rule 'gpus_on_cpu': asks for 1 GPU(s) but partition 'cpu' has no GPUs",
    "DV306": "rule 'type_only': gpu_type 'a100' without gpus requests no GPU",
    "DV307": "rule 'nodes': nodes 20 exceeds the 10 nodes of partition 'cpu'",
    "DV310": "rule 'grow': retry mem 2x is capped by partition 'cpu' at attempt 3: 102400 -> 184320 -> 184320 MiB",
    "DV320": "leftover placeholder 'CHANGEME' in resources.rules.todo.account",
    "DV321": "no slurm.account while accounting is on: jobs without an account land on the default account "
             "(the executor plugin's account guess does not work)",
    "DV330": "resource set 'unused' is defined but no rule uses it",
    "DV331": "datasets are mounted but datasets.root is not set: a dataset that is not mounted "
             "(and every dataset off the cluster) has no path",
    "DV332": "path 'rel' is relative on the cluster ('data/x'): it depends on the folder jobs start in",
    "DV333": "detect has no entries: on_cluster() is never true (unless DVHPC_ON_CLUSTER=1)",
    "DV340": "snakemake option 'rerun-trigger' is not an option name but an abbreviation of 'rerun-triggers': "
             "Snakemake would silently read it as --rerun-triggers; write 'rerun-triggers'",
    "DV341": "snakemake option 'jobs' is written by dvhpc from snakemake.jobs",
    "DV342": "snakemake option 'slurm-partition-config' belongs to the slurm executor plugin, "
             "but this site uses executor 'cluster-generic'",
    "DV343": "snakemake.options.rerun-triggers[1]: '--executor=cluster-generic' begins with '-': Snakemake would "
             "read it as an option (as a separate word of Snakemake's command line), not as a value",
    "DV350": "rule 'train_modle' is not in the workflow Snakefile (did you mean 'train_model'?)",
    "DV351": "workflow rule 'all' has no entry: it gets resources.defaults",
    "DV352": "rule 'plot' is a local rule (runs on the submit host) but asks for GPUs",
    "DV353": "cannot read the workflow: Nope: Snakefile not found",
    "DV354": "include: config[\"extra\"] is not a plain string, so the static reader cannot tell which file it "
             "includes (--workflow-exec would run Snakemake's parser, which executes the workflow's code)",
    "DV360": "SC2086: Double quote to prevent globbing and word splitting.",
    "DV361": "shellcheck is not installed: generated scripts were not checked",
    # DV4xx
    "DV401": "generated/example/profile/config.yaml was edited by hand since the last compile; not overwritten",
    "DV402": "cannot write generated/example: Permission denied",
    "DV403": "rules is a list; dvhpc writes a mapping",
    "DV501": "runtime 'max(1, 2)' cannot be read as a duration; not imported",
    "DV502": "comment says 30min, value means 1d6h (Snakemake reads runtime: 1800 as minutes); kept 1d6h",
    "DV503": "account 'lab42' was repeated in every rule; lifted into slurm.account",
}

_GROUPS = (
    ("DV0", "Reading files"),
    ("DV1", "Schema"),
    ("DV2", "Units and references"),
    ("DV3", "Lint"),
    ("DV4", "Compile and write"),
)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _row(code: str, entry, example: str | None) -> str:
    severity, meaning = entry
    shown = _cell(_code(example)) if example else ""
    return f"| {code} | {getattr(severity, 'value', severity)} | {_cell(meaning)} | {shown} |"


def diagnostics_markdown(codes: dict | None = None, examples: dict[str, str] | None = None) -> str:
    """The table of every diagnostic code (docs/diagnostics.md)."""
    if codes is None:
        from dvhpc.report.diagnostics import CODES as codes  # noqa: N811
    examples = EXAMPLES if examples is None else examples
    out = [
        f"<!-- Generated from dvhpc.report.diagnostics.CODES by `{DIAGNOSTICS_REGENERATE}`; do not edit. -->",
        "",
        "# Diagnostics",
        "",
        "Every problem dvhpc reports has a stable code; codes are never renumbered, only added. "
        "Each diagnostic is printed as `file:line:column: severity[CODE]: message`, followed by the "
        "source line, a caret under the span and an optional `help:` hint "
        "(`--format json` and `--format github` carry the same fields).",
        "",
    ]
    groups = [(prefix, title, sorted(c for c in codes if c.startswith(prefix))) for prefix, title in _GROUPS]
    grouped = {c for _, _, members in groups for c in members}
    groups.append(("", "Other", sorted(c for c in codes if c not in grouped)))
    for prefix, title, members in groups:
        if not members:
            continue
        out += [f"## {title}" + (f" ({prefix}xx)" if prefix else ""), "",
                "| Code | Severity | Meaning | Example message |", "|---|---|---|---|"]
        out += [_row(code, codes[code], examples.get(code)) for code in members]
        out.append("")
    return "\n".join(out).rstrip("\n") + "\n"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    what = argv[0] if argv else ""
    if what == "spec":
        sys.stdout.write(spec_markdown())
        return 0
    if what == "diagnostics":
        sys.stdout.write(diagnostics_markdown())
        return 0
    sys.stderr.write("usage: python -m dvhpc.tools.docs {spec|diagnostics}\n")
    return 2


if __name__ == "__main__":
    sys.exit(main())
