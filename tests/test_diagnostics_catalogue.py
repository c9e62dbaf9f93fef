"""The diagnostics catalogue (`dvhpc.report.diagnostics.CODES`) is complete, documented and exercised."""

from __future__ import annotations

import re

from conftest import HEAD_RE, REPO, VALIDATE_FIXTURES
from dvhpc.report.diagnostics import CODES, Severity
from dvhpc.tools.docs import EXAMPLES

PACKAGE = REPO / "compiler" / "dvhpc"
DIAGNOSTICS_MD = REPO / "docs" / "diagnostics.md"

# Codes produced by later stages than `validate`, so they have no fixture in tests/fixtures/validate.
# Each needs its own test where that stage is tested. A new code must get a fixture or an entry here.
_LINT = "`dvhpc lint` (checks.py / lint.py), after validation; tested with the lint tests"
LATER_STAGES = {
    "DV301": _LINT, "DV302": _LINT, "DV303": _LINT, "DV304": _LINT, "DV305": _LINT, "DV306": _LINT,
    "DV307": _LINT, "DV310": _LINT, "DV320": _LINT, "DV321": _LINT, "DV330": _LINT, "DV331": _LINT,
    "DV332": _LINT, "DV333": _LINT, "DV340": _LINT, "DV341": _LINT, "DV342": _LINT,
    "DV350": _LINT + " (--workflow)", "DV351": _LINT + " (--workflow)", "DV352": _LINT + " (--workflow)",
    "DV353": _LINT + " (--workflow)", "DV360": _LINT + " (shellcheck)", "DV361": _LINT + " (shellcheck)",
    "DV354": _LINT + " (--workflow, static reader)",
    "DV401": "compile: a generated file was edited by hand (writer.py); covered by the compile tests",
    "DV402": "compile: output folder cannot be written / two specs share a site name (build.py)",
    "DV403": "compile --check / diff: a generated folder that is broken or unreadable; covered by the compile and diff tests",
    "DV501": "import: a profile value could not be mapped (importer.py); covered by tests/test_import.py",
    "DV502": "import: a decision to review; covered by tests/test_import.py",
    "DV503": "import: what was changed and why; covered by tests/test_import.py",
}

# What `dvhpc validate` can produce; each must have at least one fixture.
VALIDATE_CODES = [
    "DV001", "DV002", "DV003", "DV004", "DV005", "DV006", "DV010", "DV011",
    "DV100", "DV101", "DV102", "DV103", "DV104", "DV105",
    "DV201", "DV202", "DV203", "DV204", "DV210", "DV211", "DV212", "DV213",
    "DV220", "DV221", "DV222", "DV230", "DV231", "DV232",
    "DV007", "DV008", "DV234", "DV235", "DV343",
]


def _codes_in_source() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        for match in re.finditer(r"""["'](DV\d{3})["']""", text):
            line = text.count("\n", 0, match.start()) + 1
            found.setdefault(match.group(1), []).append(f"{path.relative_to(REPO)}:{line}")
    return found


def _fixture_heads() -> dict[str, list[str]]:
    """code -> messages of the fixture diagnostics with that code."""
    heads: dict[str, list[str]] = {}
    for expected in sorted(VALIDATE_FIXTURES.glob("*.expected")):
        for line in expected.read_text(encoding="utf-8").splitlines():
            match = HEAD_RE.match(line)
            assert match, f"{expected.name}: not a diagnostic line: {line!r}"
            heads.setdefault(match["code"], []).append(match["message"])
    return heads


def test_catalogue_entries_are_well_formed():
    for code, (severity, meaning) in CODES.items():
        assert re.fullmatch(r"DV\d{3}", code), code
        assert isinstance(severity, Severity)
        assert meaning and meaning == meaning.strip()


def test_every_code_used_in_the_compiler_is_in_the_catalogue():
    unknown = {code: where for code, where in _codes_in_source().items() if code not in CODES}
    assert not unknown, "codes used but not in dvhpc.report.diagnostics.CODES: " + ", ".join(
        f"{code} ({', '.join(where)})" for code, where in sorted(unknown.items()))


def test_every_code_is_documented():
    text = DIAGNOSTICS_MD.read_text(encoding="utf-8")
    used = set(_codes_in_source()) | set(CODES)
    missing = sorted(code for code in used if f"| {code} |" not in text)
    assert not missing, f"not in docs/diagnostics.md: {missing}; regenerate: python -m dvhpc.tools.docs diagnostics > docs/diagnostics.md"


def test_every_code_has_an_example_message():
    assert sorted(set(CODES) - set(EXAMPLES)) == [], "add an example message to dvhpc.tools.docs.EXAMPLES"
    assert sorted(set(EXAMPLES) - set(CODES)) == [], "EXAMPLES has codes that are not in CODES"


def test_every_code_has_a_fixture_or_is_a_later_stage():
    covered = set(_fixture_heads())
    missing = sorted(set(CODES) - covered - set(LATER_STAGES))
    assert not missing, (f"no fixture in tests/fixtures/validate for {missing}: add NAME.yaml + NAME.expected, "
                         "or list the code in LATER_STAGES with the reason")


def test_later_stage_allow_list_is_honest():
    assert set(LATER_STAGES) <= set(CODES)
    assert all(code.startswith(("DV3", "DV4", "DV5")) for code in LATER_STAGES), "validate's codes need fixtures"
    assert not set(LATER_STAGES) & set(_fixture_heads()), "a code with a fixture need not be allow-listed"


def test_every_validate_code_has_a_fixture():
    covered = set(_fixture_heads())
    assert sorted(set(VALIDATE_CODES) - covered) == []
    assert set(VALIDATE_CODES) <= set(CODES)


def test_fixture_codes_are_in_the_catalogue():
    assert sorted(set(_fixture_heads()) - set(CODES)) == []


def test_documented_examples_are_real_messages():
    """The example in docs/diagnostics.md is what dvhpc actually prints (for codes with a fixture)."""
    heads = _fixture_heads()
    wrong = {code: EXAMPLES[code] for code in heads if EXAMPLES.get(code) not in heads[code]}
    assert not wrong, f"examples not found in the fixtures' expected output: {wrong}"
