"""The profile forms of the key registry (dvhpc.model.keys.Form): every constant is written in its
key's form and no expression starts with a quote (Snakemake 9.1.5 keeps such a value verbatim).
That the forms read the same on every Snakemake of the matrix is tests/test_versions_matrix.py."""

from __future__ import annotations

from pathlib import Path

from ruamel.yaml import YAML

from dvhpc.build import compile_specs
from dvhpc.model import keys
from dvhpc.model.keys import FORM_BY_RESOURCE, Form
from dvhpc.tools.importer import Importer

ROOT = Path(__file__).resolve().parent.parent


def test_form_writes():
    assert Form.TIMESPAN.write(800) == "800m"
    assert Form.STRING.write("lab") == "str('lab')"
    assert Form.STRING.write("it's") == 'str("it\'s")'
    assert Form.COUNT.write(8192) == 8192
    assert keys.TIME.form is Form.TIMESPAN and keys.ACCOUNT.form is Form.STRING and keys.MEM.form is Form.COUNT
    assert set(keys.REPLACED_FORMS) == {Form.TIMESPAN, Form.STRING}


def _resources(profile: dict):
    yield from (profile.get("default-resources") or {}).items()
    for rule in (profile.get("set-resources") or {}).values():
        yield from rule.items()


def test_every_profile_value_is_in_its_keys_form(tmp_path):
    specs = tmp_path / "sites"
    specs.mkdir()
    for spec in (ROOT / "sites").glob("*.yaml"):
        (specs / spec.name).write_text(spec.read_text())
    for name in ("example", "dynvision-greene"):
        (specs / f"{name}-generic.yaml").write_text(
            f"dvhpc: 1\nextends: {name}.yaml\nsite: {name}-generic\nsnakemake: {{executor: cluster-generic}}\n")
    compile_specs([str(p) for p in sorted(specs.glob("*.yaml"))], tmp_path / "out")
    seen = set()
    for path in sorted((tmp_path / "out").glob("*/profile/*.yaml")):
        for name, value in _resources(YAML(typ="safe").load(path.read_text())):
            form = FORM_BY_RESOURCE.get(name, Form.COUNT)
            if isinstance(value, str):
                assert value[:1] not in ("'", '"'), (path, name, value)
            if isinstance(value, int):
                assert form is Form.COUNT, (path, name, value)
            elif form is Form.STRING:
                assert value.startswith(("str(", "str.join(")), (path, name, value)
            elif form is Form.TIMESPAN and "attempt" not in value:
                assert value.endswith("m") and value[:-1].isdigit(), (path, name, value)
            seen.add((name, form))
    assert {Form.STRING, Form.TIMESPAN, Form.COUNT} <= {form for _, form in seen}


def test_import_reads_the_string_form():
    assert Importer.literal("str('cpu')") == "cpu"
    assert Importer.literal("'cpu'") == "cpu"
    assert Importer.literal("str(x)") == "str(x)"
