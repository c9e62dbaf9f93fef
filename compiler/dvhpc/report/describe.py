"""The rules in words for the terminal: `dvhpc lint --list-codes` and `dvhpc lint --explain CODE`."""

from __future__ import annotations

import textwrap

from dvhpc.report.codes import BY_NAME, RULES
from dvhpc.report.rule import EXAMPLE_FILE, Example, Rule
from dvhpc.report.textsafe import printable


def list_rules() -> str:
    """One line a rule: code, severity, name, summary."""
    width = max(len(rule.name) for rule in RULES.values())
    return "".join(f"{rule.code}  {rule.severity.value:<7}  {rule.name:<{width}}  {rule.summary}\n"
                   for rule in RULES.values())


def find(code_or_name: str) -> Rule | None:
    """A rule by its code (DV301, dv301) or its name (time-exceeds-partition)."""
    return RULES.get(code_or_name.strip().upper()) or BY_NAME.get(code_or_name.strip().lower())


def _indented(text: str) -> list[str]:
    # split at \n only: an example may hold U+0085 or U+2028 on purpose (DV008)
    return ["    " + printable(line) for line in text.rstrip("\n").split("\n")]


def _example(label: str, example: Example) -> list[str]:
    lines = [f"{label} ({EXAMPLE_FILE}):", *_indented(example.text)]
    if example.workflow:
        lines += ["  linted with --workflow Snakefile:", *_indented(example.workflow)]
    if example.cluster:
        lines += ["  linted with --cluster cluster.json:", *_indented(example.cluster)]
    return lines


def explain_rule(code_or_name: str) -> str | None:
    rule = find(code_or_name)
    if rule is None:
        return None
    silence = "yes" if rule.silenceable else f"no ({rule.why_not_silenceable})"
    lines = [
        f"{rule.code} {rule.name}: {rule.summary}",
        "",
        f"severity:    {rule.severity.value}",
        f"stage:       {rule.stage.value}",
        f"silenceable: {silence}",
        "",
        *textwrap.wrap(rule.explanation, width=96),
        "",
        "example message:",
        *_indented(rule.message),
    ]
    for label, example in (("failing example", rule.failing), ("passing example", rule.passing)):
        if example is not None:
            lines += ["", *_example(label, example)]
    if rule.tested_by:
        lines += ["", f"tested by {rule.tested_by}"]
    return "\n".join(lines) + "\n"
