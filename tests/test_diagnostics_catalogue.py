"""The diagnostics registry (`dvhpc.report.codes.RULES`) is complete, documented and exercised.

What each rule declares is tested in tests/test_rules_registry.py (its examples run through
dvhpc); here: the validate fixtures, the docs and the code strings of the package agree with it."""

from __future__ import annotations

import re

from conftest import FIXTURES, HEAD_RE, REPO, VALIDATE_FIXTURES
from dvhpc.report.codes import RULES
from dvhpc.report.rule import Stage
from dvhpc.tools.docs import diagnostics_markdown

PACKAGE = REPO / "compiler" / "dvhpc"
DIAGNOSTICS_MD = REPO / "docs" / "diagnostics.md"

# The stages `dvhpc validate` runs: each of their rules has a fixture in tests/fixtures/validate.
VALIDATE_STAGES = (Stage.READ, Stage.SCHEMA, Stage.RESOLVE)


def _fixture_heads(folder=VALIDATE_FIXTURES) -> dict[str, list[str]]:
    """code -> messages of the fixture diagnostics with that code."""
    heads: dict[str, list[str]] = {}
    for expected in sorted(folder.glob("*.expected")):
        for line in expected.read_text(encoding="utf-8").splitlines():
            match = HEAD_RE.match(line)
            assert match or line.startswith("  = "), f"{expected.name}: not a diagnostic line: {line!r}"
            if match:
                heads.setdefault(match["code"], []).append(match["message"])
    return heads


def _all_fixture_heads() -> dict[str, list[str]]:
    heads = _fixture_heads()
    for code, messages in _fixture_heads(FIXTURES / "lint").items():
        heads.setdefault(code, []).extend(messages)
    return heads


def test_every_code_string_in_the_package_is_a_declared_rule():
    unknown = []
    for path in sorted(PACKAGE.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        for match in re.finditer(r"""["'](DV\d{3})["']""", text):
            if match.group(1) not in RULES:
                line = text.count("\n", 0, match.start()) + 1
                unknown.append(f"{match.group(1)} ({path.relative_to(REPO)}:{line})")
    assert not unknown, "codes used but not declared in dvhpc.report.codes: " + ", ".join(unknown)


def test_docs_are_generated_from_the_registry():
    text = DIAGNOSTICS_MD.read_text(encoding="utf-8")
    assert text == diagnostics_markdown(), "regenerate: python -m dvhpc.tools.docs diagnostics > docs/diagnostics.md"
    for code, rule in RULES.items():
        assert f"| [{code}](#{code.lower()}) | `{rule.name}` |" in text
        assert rule.explanation in text and rule.message in text


def test_every_validate_stage_rule_has_a_fixture():
    """(or, for the Snakemake option checks that lint fixtures show, one in tests/fixtures/lint)"""
    covered = set(_all_fixture_heads())
    missing = sorted(code for code, rule in RULES.items() if rule.stage in VALIDATE_STAGES and code not in covered)
    assert not missing, f"no fixture in tests/fixtures/validate for {missing}: add NAME.yaml + NAME.expected"


def test_fixture_codes_are_declared_and_of_validate_stages():
    heads = _fixture_heads()
    assert sorted(set(heads) - set(RULES)) == []
    assert all(RULES[code].stage in VALIDATE_STAGES for code in heads), \
        [code for code in heads if RULES[code].stage not in VALIDATE_STAGES]


def test_rule_messages_are_real_messages():
    """The message a rule shows (docs, --explain) is what dvhpc prints: its failing example's
    (tests/test_rules_registry.py), else a fixture's."""
    heads = _all_fixture_heads()
    wrong = {code: RULES[code].message for code in heads
             if RULES[code].failing is None and RULES[code].message not in heads[code]}
    assert not wrong, f"rule messages not found in the fixtures' expected output: {wrong}"
