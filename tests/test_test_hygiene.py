"""The test suite itself (issue 13, item 8), read as code: every test asserts something, and a test that
needs snakemake, shellcheck or a SLURM cluster carries the marker that skips it, with the reason, where the
tool is missing (tests/conftest.py) and lets `-m "not snakemake"` leave it out.

Both checks read the source with `ast`; nothing is imported or run.
"""

from __future__ import annotations

import ast
from pathlib import Path

from conftest import REPO, tool_missing

TESTS = REPO / "tests"
TOOL_MARKERS = ("snakemake", "shellcheck", "slurm")
# A fixture that is a running cluster (tests/slurm/cluster.py): the tests that ask for it need SLURM.
SLURM_FIXTURES = {"local_slurm"}

# Tests let off the two checks below while someone fixes them ("tests/x.py test_name"): none now. A name
# left here after its test is fixed fails the check, so the sets cannot go stale.
PENDING_SILENT: set[str] = set()
PENDING_UNMARKED: set[str] = set()


def _test_files() -> list[Path]:
    return sorted(p for p in TESTS.rglob("test_*.py") if "fixtures" not in p.parts)


def _parse(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _functions(tree: ast.AST):
    return [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]


def _called_names(node: ast.AST) -> set[str]:
    """The names a function calls: `f(...)` and `x.f(...)` both give "f"."""
    names = set()
    for call in ast.walk(node):
        if isinstance(call, ast.Call):
            if isinstance(call.func, ast.Name):
                names.add(call.func.id)
            elif isinstance(call.func, ast.Attribute):
                names.add(call.func.attr)
    return names


def _pytest_call(call: ast.Call, names: tuple[str, ...]) -> bool:
    func = call.func
    return (isinstance(func, ast.Attribute) and func.attr in names
            and isinstance(func.value, ast.Name) and func.value.id == "pytest")


def _checks_directly(func: ast.AST) -> bool:
    for node in ast.walk(func):
        if isinstance(node, ast.Assert):
            return True
        if isinstance(node, ast.Call) and _pytest_call(node, ("raises", "warns", "fail")):
            return True
    return False


def _asserting_helpers() -> set[str]:
    """Every function in tests/ that asserts (or fails), directly or through another such function."""
    bodies: dict[str, list[ast.AST]] = {}
    for path in sorted(TESTS.rglob("*.py")):
        if "fixtures" in path.parts:
            continue
        for func in _functions(_parse(path)):
            bodies.setdefault(func.name, []).append(func)
    asserting = {name for name, funcs in bodies.items() if any(_checks_directly(f) for f in funcs)}
    calls = {name: set().union(*(_called_names(f) for f in funcs)) for name, funcs in bodies.items()}
    while True:
        more = {name for name, called in calls.items() if name not in asserting and called & asserting}
        if not more:
            return asserting
        asserting |= more


def test_every_test_asserts_something():
    helpers = _asserting_helpers()
    silent, constant, still_pending = [], [], set()
    for path in _test_files():
        for func in _functions(_parse(path)):
            if not func.name.startswith("test_"):
                continue
            where = f"{path.relative_to(REPO)}:{func.lineno} {func.name}"
            if not (_checks_directly(func) or _called_names(func) & helpers):
                if f"{path.relative_to(REPO)} {func.name}" in PENDING_SILENT:
                    still_pending.add(f"{path.relative_to(REPO)} {func.name}")
                else:
                    silent.append(where)
            constant += [f"{where} (line {node.lineno})" for node in ast.walk(func)
                         if isinstance(node, ast.Assert) and isinstance(node.test, ast.Constant)]
    assert not silent, "tests without an assertion (assert, pytest.raises/warns/fail or an asserting helper):\n" \
        + "\n".join(silent)
    assert not constant, "tests asserting a constant (they check nothing):\n" + "\n".join(constant)
    assert still_pending == PENDING_SILENT, f"fixed: drop {sorted(PENDING_SILENT - still_pending)} from PENDING_SILENT"


def test_the_hygiene_scan_sees_a_silent_test_and_an_asserting_helper():
    """The scan above on a made-up module: a test that only calls code is silent; one that calls a
    helper which asserts is not."""
    tree = ast.parse("def check(x):\n    assert x\n\n"
                     "def test_silent():\n    print(1)\n\n"
                     "def test_through_helper():\n    check(2)\n\n"
                     "def test_raises():\n    with pytest.raises(ValueError):\n        int('x')\n")
    funcs = {f.name: f for f in _functions(tree)}
    helpers = {name for name, f in funcs.items() if _checks_directly(f)}
    found = {name for name, f in funcs.items()
             if name.startswith("test_") and (_checks_directly(f) or _called_names(f) & helpers)}
    assert found == {"test_through_helper", "test_raises"}


# ------------------------------------------------------------------------------------ tool markers


def _mark_names(node: ast.AST, aliases: dict[str, set[str]]) -> set[str]:
    """Markers named by a decorator or a `pytestmark` value: pytest.mark.X, pytest.mark.X(...), a list of
    them, or a module-level alias of one."""
    if isinstance(node, (ast.List, ast.Tuple)):
        return set().union(*(_mark_names(e, aliases) for e in node.elts)) if node.elts else set()
    if isinstance(node, ast.Call):
        return _mark_names(node.func, aliases)
    if isinstance(node, ast.Name):
        return aliases.get(node.id, set())
    if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute) and node.value.attr == "mark"
            and isinstance(node.value.value, ast.Name) and node.value.value.id == "pytest"):
        return {node.attr}
    return set()


def _tool_of_which(node: ast.AST) -> str | None:
    """"snakemake" for `shutil.which("snakemake", ...)` (and so on for each tool) anywhere in `node`."""
    for call in ast.walk(node):
        if (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and call.func.attr == "which"
                and call.args and isinstance(call.args[0], ast.Constant) and call.args[0].value in TOOL_MARKERS):
            return call.args[0].value
    return None


class _Module:
    """What one test module marks and what each of its functions uses."""

    def __init__(self, path: Path):
        self.tree = _parse(path)
        self.aliases: dict[str, set[str]] = {}
        self.module_marks: set[str] = set()
        self.tool_names: dict[str, str] = {}  # module constant -> tool, e.g. SNAKEMAKE = shutil.which(...)
        for node in self.tree.body:
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                name = node.targets[0].id
                marks = _mark_names(node.value, self.aliases)
                if name == "pytestmark":
                    self.module_marks |= marks
                elif marks:
                    self.aliases[name] = marks
                if (tool := _tool_of_which(node.value)) is not None:
                    self.tool_names[name] = tool
        self.functions = {f.name: f for f in self.tree.body if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))}

    def direct_uses(self, func: ast.AST) -> set[str]:
        used = set()
        for node in ast.walk(func):
            if isinstance(node, ast.Name) and node.id in self.tool_names:
                used.add(self.tool_names[node.id])
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                modules = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
                if any(m == "snakemake" or m.startswith("snakemake.") for m in modules):
                    used.add("snakemake")
            elif isinstance(node, ast.arg) and node.arg in SLURM_FIXTURES:
                used.add("slurm")
        if (tool := _tool_of_which(func)) is not None:
            used.add(tool)
        return used

    def uses(self, func: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
        """Tools used by `func`, the module's functions it calls and the module's fixtures it asks for."""
        seen, todo, used = set(), [func], set()
        while todo:
            current = todo.pop()
            if id(current) in seen:
                continue
            seen.add(id(current))
            used |= self.direct_uses(current)
            wanted = _called_names(current) | {a.arg for a in current.args.args}
            todo += [self.functions[name] for name in wanted if name in self.functions]
        return used

    def marks(self, func: ast.AST, classes: list[ast.ClassDef]) -> set[str]:
        found = set(self.module_marks)
        for owner in [*classes, func]:
            for decorator in owner.decorator_list:
                found |= _mark_names(decorator, self.aliases)
        return found


def _tests_with_classes(tree: ast.Module):
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test_"):
            yield node, []
        elif isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
            for item in node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) and item.name.startswith("test_"):
                    yield item, [node]


def unmarked_tool_tests(path: Path) -> list[tuple[str, str]]:
    """(test, what it lacks) for each test of `path` that uses a tool without carrying its marker."""
    module = _Module(path)
    missing = []
    for func, classes in _tests_with_classes(module.tree):
        lacking = sorted(module.uses(func) - module.marks(func, classes))
        if lacking:
            missing.append((f"{path.relative_to(REPO)} {func.name}",
                            f"{path.relative_to(REPO)}:{func.lineno} {func.name} needs "
                            + ", ".join(f"@pytest.mark.{m}" for m in lacking)))
    return missing


def test_tests_that_need_a_tool_carry_its_marker():
    found = [item for path in _test_files() for item in unmarked_tool_tests(path)]
    missing = [line for test, line in found if test not in PENDING_UNMARKED]
    still_pending = {test for test, _line in found if test in PENDING_UNMARKED}
    assert still_pending == PENDING_UNMARKED, \
        f"fixed: drop {sorted(PENDING_UNMARKED - still_pending)} from PENDING_UNMARKED"
    assert not missing, "tests that run a tool without its marker (conftest skips marked tests where the " \
        "tool is missing):\n" + "\n".join(missing)


def test_the_marker_scan_follows_helpers_and_fixtures(tmp_path):
    """A made-up module: the tool is reached through a helper, a fixture and the SLURM fixture."""
    source = tmp_path / "test_made_up.py"
    source.write_text(
        "import shutil, subprocess, pytest\n"
        "SNAKEMAKE = shutil.which('snakemake')\n"
        "def run(*args):\n    return subprocess.run([SNAKEMAKE, *args])\n"
        "@pytest.fixture\ndef linted():\n    return shutil.which('shellcheck')\n"
        "def test_helper():\n    assert run('-n').returncode == 0\n"
        "@pytest.mark.snakemake\ndef test_marked():\n    assert run('-n').returncode == 0\n"
        "def test_fixture(linted):\n    assert linted\n"
        "def test_cluster(local_slurm):\n    assert local_slurm\n")
    module = _Module(source)
    found = {func.name: sorted(module.uses(func) - module.marks(func, classes))
             for func, classes in _tests_with_classes(module.tree)}
    assert found == {"test_helper": ["snakemake"], "test_marked": [], "test_fixture": ["shellcheck"],
                     "test_cluster": ["slurm"]}


def test_a_marked_test_skips_with_the_reason_where_its_tool_is_missing(monkeypatch):
    import conftest

    monkeypatch.setattr(conftest.shutil, "which", lambda *_args, **_kwargs: None)
    conftest.tool_missing.cache_clear()
    try:
        assert "shellcheck is not installed" in (tool_missing("shellcheck") or "")
        assert "snakemake is not installed" in (tool_missing("snakemake") or "")
        assert tool_missing("slurm") is None  # the local_slurm fixture says why it cannot start a cluster
    finally:
        conftest.tool_missing.cache_clear()
