"""docs/spec.md and docs/diagnostics.md are generated and must not go stale; the schema documents itself."""

from __future__ import annotations

import json
import re

import pytest

from conftest import REPO, run_in_process, run_subprocess
from dvhpc.tools.docs import DIAGNOSTICS_REGENERATE, SPEC_REGENERATE, diagnostics_markdown, spec_markdown

SCHEMA_FILE = REPO / "schema" / "site.schema.json"
SPEC_MD = REPO / "docs" / "spec.md"
DIAGNOSTICS_MD = REPO / "docs" / "diagnostics.md"


@pytest.fixture(scope="module")
def schema() -> dict:
    return json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))


def _stale(path, command: str) -> str:
    return (f"{path.relative_to(REPO)} is stale (or missing); regenerate it from the repository root with:\n"
            f"    {command}")


def test_spec_md_is_up_to_date():
    assert SPEC_MD.exists(), _stale(SPEC_MD, SPEC_REGENERATE)
    assert SPEC_MD.read_text(encoding="utf-8") == spec_markdown(), _stale(SPEC_MD, SPEC_REGENERATE)


def test_diagnostics_md_is_up_to_date():
    assert DIAGNOSTICS_MD.exists(), _stale(DIAGNOSTICS_MD, DIAGNOSTICS_REGENERATE)
    assert DIAGNOSTICS_MD.read_text(encoding="utf-8") == diagnostics_markdown(), \
        _stale(DIAGNOSTICS_MD, DIAGNOSTICS_REGENERATE)


def test_the_regenerate_commands_produce_the_files():
    code, out, err = run_in_process("schema", "--markdown")
    assert (code, err) == (0, "")
    assert out == spec_markdown()
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "dvhpc.tools.docs", "diagnostics"], capture_output=True, text=True,
                          cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == diagnostics_markdown()


def test_docs_module_usage_error():
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "dvhpc.tools.docs", "nonsense"], capture_output=True, text=True,
                          cwd=REPO)
    assert proc.returncode == 2 and "usage" in proc.stderr


def test_spec_markdown_is_deterministic():
    assert spec_markdown() == spec_markdown()
    assert diagnostics_markdown() == diagnostics_markdown()


def test_schema_command_prints_the_schema_file():
    code, out, err = run_subprocess("schema", cwd=REPO)
    assert (code, err) == (0, "")
    assert json.loads(out) == json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))


# --------------------------------------------------------------------------- the schema documents itself


def _walk(node, path="#"):
    """Every (path, subschema) in the schema, including $defs, items, oneOf and map values."""
    if isinstance(node, dict):
        yield path, node
        for key, value in node.items():
            if key in ("properties", "$defs", "patternProperties"):
                for name, child in value.items():
                    yield from _walk(child, f"{path}/{key}/{name}")
            elif key in ("additionalProperties", "items", "not", "if", "then", "else", "propertyNames", "contains"):
                yield from _walk(value, f"{path}/{key}")
            elif key in ("oneOf", "anyOf", "allOf", "prefixItems"):
                for index, child in enumerate(value):
                    yield from _walk(child, f"{path}/{key}/{index}")


def _is_value_schema(path: str) -> bool:
    """Schemas that describe a value (not the helper clauses of if/then/not)."""
    return not re.search(r"/(not|if|then|else)(/|$)", path)


def test_every_property_has_a_description(schema):
    missing = []
    for path, node in _walk(schema):
        for name, child in node.get("properties", {}).items():
            if _is_value_schema(path) and not (isinstance(child, dict) and str(child.get("description", "")).strip()):
                missing.append(f"{path}/properties/{name}")
    assert not missing, "properties without a description:\n" + "\n".join(missing)


def test_every_def_has_a_description(schema):
    missing = [name for name, sub in schema.get("$defs", {}).items() if not sub.get("description")]
    assert not missing, missing


def test_every_object_is_closed(schema):
    open_objects = []
    for path, node in _walk(schema):
        if not _is_value_schema(path):
            continue
        is_object = node.get("type") == "object" or "properties" in node
        extra = node.get("additionalProperties")
        if is_object and not (extra is False or isinstance(extra, dict)):
            open_objects.append(path)
    assert not open_objects, \
        "objects without additionalProperties false (or a schema for it):\n" + "\n".join(open_objects)


def test_every_description_is_in_spec_md(schema):
    text = spec_markdown()
    missing = [path for path, node in _walk(schema)
               if _is_value_schema(path) and node.get("description") and node["description"] not in text]
    assert not missing, "descriptions not rendered into spec.md:\n" + "\n".join(missing)


def test_every_top_level_key_and_section_key_has_a_heading(schema):
    text = spec_markdown()
    for name, sub in schema["properties"].items():
        assert f"## `{name}`" in text
        for child in sub.get("properties", {}):
            assert f"### `{name}.{child}`" in text


def test_example_keys_are_documented():
    """Every key path used in sites/example.yaml has a heading (map keys shown as `<name>`)."""
    from dvhpc.frontend.schema import schema as load_schema
    from dvhpc.pipeline import check

    root = load_schema()
    text = spec_markdown()
    checked = check(str(REPO / "sites" / "example.yaml"))
    assert checked.ok

    def resolve(sub):
        ref = sub.get("$ref", "")
        return root["$defs"][ref.split("/")[-1]] if ref.startswith("#/$defs/") else sub

    def visit(value, sub, dotted):
        sub = resolve(sub)
        if not isinstance(value, dict):
            return
        candidates = [sub] + [resolve(alt) for alt in sub.get("oneOf", []) if resolve(alt).get("type") == "object"]
        for key, child in value.items():
            for cand in candidates:
                if key in cand.get("properties", {}):
                    path = f"{dotted}.{key}" if dotted else key
                    heading_found = f"`{path}`" in text
                    # keys of deduplicated shapes (resources.sets / rules) are documented under resources.defaults
                    if not heading_found and ".<name>." in path + "." and path.startswith("resources."):
                        heading_found = f"`resources.defaults.{path.split('.', 3)[-1]}`" in text
                    assert heading_found, path
                    visit(child, cand["properties"][key], path)
                    break
                if isinstance(cand.get("additionalProperties"), dict):
                    visit(child, cand["additionalProperties"], f"{dotted}.<name>")
                    break

    visit(checked.layers.data, root, "")


def test_diagnostics_md_lists_every_code():
    from dvhpc.report.codes import RULES

    text = DIAGNOSTICS_MD.read_text(encoding="utf-8")
    for code, rule in RULES.items():
        row = next((line for line in text.splitlines() if line.startswith(f"| [{code}](#{code.lower()}) |")), None)
        assert row, f"{code} missing from docs/diagnostics.md"
        assert f"| `{rule.name}` | {rule.severity.value} | {rule.stage.value} |" in row
        assert rule.summary.replace("|", "\\|") in row
        assert f"\n### {code}\n" in text and rule.explanation in text
