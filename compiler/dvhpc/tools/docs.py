"""docs/diagnostics.md, generated from the diagnostics catalogue (`dvhpc.report.codes`), and the
entry point that prints either reference: `python -m dvhpc.tools.docs {spec|diagnostics}`.

Both references are pure functions of the schema / the rules, so the output is deterministic and a
test can tell when the checked-in files are stale. docs/spec.md is rendered by `dvhpc.tools.spec_docs`.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping

from dvhpc.report.codes import RULES
from dvhpc.report.rule import Rule
from dvhpc.tools.spec_docs import SPEC_REGENERATE, code_span, spec_markdown

__all__ = ["DIAGNOSTICS_REGENERATE", "SPEC_REGENERATE", "diagnostics_markdown", "main", "spec_markdown"]

DIAGNOSTICS_REGENERATE = "python -m dvhpc.tools.docs diagnostics > docs/diagnostics.md"

_GROUPS = (
    ("DV0", "Reading files"),
    ("DV1", "Schema"),
    ("DV2", "Units and references"),
    ("DV3", "Lint"),
    ("DV4", "Compile and write"),
    ("DV5", "Import"),
    ("DV6", "The spec against the cluster (lint --cluster)"),
)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _row(rule: Rule) -> str:
    silence = "yes" if rule.silenceable else "no"
    return (f"| [{rule.code}](#{rule.code.lower()}) | `{rule.name}` | {rule.severity.value} | {rule.stage.value} | "
            f"{silence} | {_cell(rule.summary)} |")


def _fenced(text: str, language: str = "yaml") -> list[str]:
    fence = "````" if "```" in text else "```"
    return [fence + language, text.rstrip("\n"), fence]


def _section(rule: Rule) -> list[str]:
    from dvhpc.report.rule import EXAMPLE_FILE
    from dvhpc.report.textsafe import printable

    silence = "yes" if rule.silenceable else f"no: {rule.why_not_silenceable}"
    out = [f"### {rule.code}", "", f"`{rule.name}`: {rule.summary}", "",
           f"Severity **{rule.severity.value}**, stage {rule.stage.value}, silenceable {silence}.", "",
           rule.explanation, "", f"Example message: {code_span(rule.message)}", ""]
    for label, example in (("Failing", rule.failing), ("Passing", rule.passing)):
        if example is None:
            continue
        out += [f"{label} example ({EXAMPLE_FILE}" + (", with `--workflow Snakefile`" if example.workflow else "")
                + (", with `--cluster cluster.json`" if example.cluster else "") + "):", ""]
        out += _fenced("\n".join(printable(line) for line in example.text.split("\n"))) + [""]
        if example.workflow:
            out += ["Snakefile:", "", *_fenced(example.workflow, "python"), ""]
        if example.cluster:
            out += ["cluster.json:", "", *_fenced(example.cluster, "json"), ""]
    if rule.tested_by:
        out += [f"Tested by {rule.tested_by}.", ""]
    return out


def diagnostics_markdown(rules: Mapping[str, Rule] | None = None) -> str:
    """Every diagnostic rule (docs/diagnostics.md): a table, then each rule's explanation and examples."""
    rules = RULES if rules is None else rules
    out = [
        f"<!-- Generated from dvhpc.report.codes.RULES by `{DIAGNOSTICS_REGENERATE}`; do not edit. -->",
        "",
        "# Diagnostics",
        "",
        "Every problem dvhpc reports has a stable code and name; codes are never renumbered, only added. "
        "Each diagnostic is printed as `file:line:column: severity[CODE]: message`, followed by the "
        "source line, a caret under the span and an optional `help:` hint "
        "(`--format json` also carries the rule's name and its fields; `--format github` and `sarif` the same "
        "findings). "
        "`dvhpc lint --explain CODE` prints one rule.",
        "",
        "A finding of a silenceable rule is silenced by `# dvhpc: ignore[CODE]` on its line or by "
        "`lint: {ignore: [CODE]}` in the file it is in, in `validate`, `lint` and `compile` alike. "
        "Errors that would let wrong output be written cannot be silenced; such a finding says so and still counts.",
        "",
    ]
    groups = [(prefix, title, sorted(c for c in rules if c.startswith(prefix))) for prefix, title in _GROUPS]
    grouped = {c for _, _, members in groups for c in members}
    groups.append(("", "Other", sorted(c for c in rules if c not in grouped)))
    for prefix, title, members in groups:
        if not members:
            continue
        out += [f"## {title}" + (f" ({prefix}xx)" if prefix else ""), "",
                "| Code | Name | Severity | Stage | Silenceable | Meaning |", "|---|---|---|---|---|---|"]
        out += [_row(rules[code]) for code in members]
        out.append("")
        for code in members:
            out += _section(rules[code])
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
