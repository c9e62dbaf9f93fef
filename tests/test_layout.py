"""The package layout shows the pipeline, and data flows one way: no module imports a later stage.

Stages, in order (a module may import its own stage and earlier ones):
report < model < cluster < frontend < resolve < rules < emit < output < pipeline/build < tools < lint/cli.
Imports inside functions count too: a late import is still a dependency.
"""

from __future__ import annotations

import ast

from conftest import REPO

PACKAGE = REPO / "compiler" / "dvhpc"

STAGES = [
    {"dvhpc", "dvhpc.report"},
    {"dvhpc.model"},
    {"dvhpc.cluster"},  # what a cluster reports (SLURM output parsers, live runner): model-level facts
    {"dvhpc.frontend"},
    {"dvhpc.resolve"},
    {"dvhpc.rules"},
    {"dvhpc.emit"},
    {"dvhpc.output"},
    {"dvhpc.pipeline", "dvhpc.build"},
    {"dvhpc.tools"},
    {"dvhpc.lint", "dvhpc.cli", "dvhpc._entry", "dvhpc.__main__"},
]


def _module_name(path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _find_stage(module: str) -> int | None:
    """The stage of a module: its own name or the closest package listed in STAGES; None for none."""
    parts = module.split(".")
    for end in range(len(parts), 0, -1):
        prefix = ".".join(parts[:end])
        for index, names in enumerate(STAGES):
            if prefix in names:
                return index
    return None


def _stage(module: str) -> int:
    stage = _find_stage(module)
    assert stage is not None, f"{module} is in no stage: add it to STAGES in tests/test_layout.py"
    return stage


def _imports(path, module: str) -> list[tuple[str, int]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names if alias.name.startswith("dvhpc")]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            if base == "dvhpc":  # `from dvhpc import x`: x is a module or a name of dvhpc/__init__
                found += [(f"dvhpc.{alias.name}" if (PACKAGE / alias.name).exists()
                           or (PACKAGE / f"{alias.name}.py").exists() else "dvhpc", node.lineno)
                          for alias in node.names]
            elif base.startswith("dvhpc"):
                found.append((base, node.lineno))
    return found


def test_every_module_is_in_a_stage():
    """Each module has a stage, and each stage holds a module (STAGES names nothing that is gone)."""
    modules = [_module_name(path) for path in sorted(PACKAGE.rglob("*.py"))]
    assert [m for m in modules if _find_stage(m) is None] == [], "add them to STAGES in tests/test_layout.py"
    assert {_find_stage(m) for m in modules} == set(range(len(STAGES)))


def test_no_module_imports_a_later_stage():
    backwards = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = _module_name(path)
        own = _stage(module)
        for target, line in _imports(path, module):
            if _stage(target) > own:
                backwards.append(f"{path.relative_to(REPO)}:{line}: {module} (stage {own}) imports "
                                 f"{target} (stage {_stage(target)})")
    assert not backwards, "imports against the pipeline's direction:\n" + "\n".join(backwards)


def test_the_checker_sees_a_backward_import():
    """The test above can fail: a stage-1 module importing the writer is reported."""
    probe = PACKAGE / "model" / "_layout_probe.py"
    probe.write_text("from dvhpc.output.writer import plan\n", encoding="utf-8")
    try:
        [(target, _line)] = _imports(probe, _module_name(probe))
        assert _stage(target) > _stage(_module_name(probe))
    finally:
        probe.unlink()
