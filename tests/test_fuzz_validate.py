"""Property tests: whatever the input, `dvhpc validate` exits 0 or 1 and never shows a traceback.

Runs in-process through `dvhpc.cli.main` (sys.argv patched, SystemExit caught): a subprocess per
example would be ~100x slower. Derandomized, so CI sees the same examples every run; a failure
prints the offending file content (see `_check`).
"""

from __future__ import annotations

import json
import re
import shutil

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import REPO, SITES, diagnostic_heads, run_in_process, run_subprocess

EXAMPLE_LINES = (SITES / "example.yaml").read_text(encoding="utf-8").splitlines(keepends=True)

FUZZ = settings(max_examples=200, deadline=None, derandomize=True, print_blob=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """A folder with the example's base layer, so `extends: [base.yaml]` resolves."""
    folder = tmp_path_factory.mktemp("fuzz")
    shutil.copy(SITES / "base.yaml", folder / "base.yaml")
    return folder


def _check(folder, content: bytes | str, name: str = "spec.yaml", fmt: str = "text") -> int:
    path = folder / name
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_bytes(content)
    code, out, err = run_in_process("validate", "--format", fmt, name, cwd=folder)
    shown = content if len(content) < 1500 else content[:1500]
    assert code in (0, 1), f"exit {code} for {name}:\n{shown!r}\nstdout:\n{out}\nstderr:\n{err}"
    assert "Traceback" not in err and "Traceback" not in out, f"{shown!r}\n{err}"
    if fmt == "text":
        if code == 1:
            assert diagnostic_heads(err), f"exit 1 without a diagnostic:\n{shown!r}\n{err}"
        else:
            assert out.startswith(f"{name}: ok ("), out
    elif fmt == "json":
        items = json.loads(out)
        assert isinstance(items, list)
        assert (code == 1) == any(item["severity"] == "error" for item in items)
        for item in items:
            assert item["line"] >= 1 and item["column"] >= 1 and re.fullmatch(r"DV\d{3}", item["code"])
    else:  # github
        for line in out.splitlines():
            assert line.startswith(("::error ", "::warning ", "::notice ")), line
    return code


# --------------------------------------------------------------------------- strategies

_WORDS = ["dvhpc", "site", "extends", "abstract", "description", "detect", "env", "hostnames", "slurm", "account",
          "accounting", "gpu_flag", "partitions", "cpu", "gpu", "default", "max_time", "cpus", "mem", "nodes",
          "gpus", "snakemake", "executor", "jobs", "latency_wait", "restart_times", "resources", "defaults", "sets",
          "rules", "use", "partition", "time", "retry", "slurm_extra", "environment", "conda", "venv", "container",
          "paths", "datasets", "mounted", "settings", "cluster", "local", "lint", "ignore", "<<", "partiton", "x"]

_UNITISH = ["16G", "16GB", "1.5T", "0G", "2h", "90s", "13h20m", "1-02:03", "30:00", "2x", "1.5x", "0.5x", "16",
            "90", "-1", "1e400", "9" * 40, "2 hours", "16Q", "1h2h", "gpu_train", "light", "cpu", "a100", "h100",
            "${HOME}", "${", "{data}", "{nope}", "$(id)", "~/x", "--mem=4G", "--exclusive", "unlimited", "base.yaml",
            "example.yaml", "spec.yaml", "missing.yaml", "/", "..", ""]

yaml_scalars = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(
        lambda f: {"nan": ".nan", "inf": ".inf", "-inf": "-.inf"}.get(str(f), str(f))),
    st.sampled_from(["true", "false", "yes", "no", "on", "off", "null", "~", "", "[]", "{}", "[1, 2]", "{a: 1}",
                     "0x1F", "0o17", "1_000", ".5", "1.0", "-0", "2025-01-01", "12:30:00", "!!str 1", "!!int 7",
                     "!!float 1", "!!bool yes", "!!null", "!tag x", "!!python/name:os.system", "!!binary aGk=",
                     "&anchor 1", "*anchor", "*nosuch", "|\n  block", ">\n  folded", "'quoted'", '"dq \\t \\0 \\x00"',
                     "'unterminated", '"unterminated', "- a", "? k", "a: b", "# comment", "@reserved", "`tick",
                     "%", "\t", "\x00", "\ufeff", "\u2028", "\x85", "\uffff"]),
    st.sampled_from(_UNITISH),
    st.text(max_size=20),
    st.text(alphabet="abcxyz019_-.:{}[],&*!|>'\"#%@` \t", max_size=12),
)


@st.composite
def yamlish(draw) -> str:
    """Random YAML-looking text: nested keys, flow collections, anchors, tags, odd scalars."""
    lines = []
    if draw(st.booleans()):
        lines.append(draw(st.sampled_from(["dvhpc: 1", "dvhpc: 2", "---", "%YAML 1.2\n---", "site: fuzz", "..."])))
    for _ in range(draw(st.integers(0, 25))):
        indent = " " * draw(st.sampled_from([0, 0, 2, 4, 6, 1, 3, 8]))
        key = draw(st.one_of(st.sampled_from(_WORDS), st.text(max_size=8)))
        kind = draw(st.integers(0, 6))
        if kind == 0:
            lines.append(f"{indent}{key}:")
        elif kind == 1:
            lines.append(f"{indent}- {draw(yaml_scalars)}")
        elif kind == 2:
            items = ", ".join(f"{draw(st.sampled_from(_WORDS))}: {draw(yaml_scalars)}"
                              for _ in range(draw(st.integers(0, 4))))
            lines.append(f"{indent}{key}: {{{items}}}")
        elif kind == 3:
            items = ", ".join(draw(yaml_scalars) for _ in range(draw(st.integers(0, 4))))
            lines.append(f"{indent}{key}: [{items}]")
        elif kind == 4:
            node = draw(st.sampled_from(['&a', '&b', '*a', '*b', '!x', '<<: *a']))
            lines.append(f"{indent}{key}: {node} {draw(yaml_scalars)}")
        else:
            lines.append(f"{indent}{key}: {draw(yaml_scalars)}")
    return "\n".join(lines) + draw(st.sampled_from(["\n", "", "\r\n", "\n\n"]))


_SAFE_TOKENS = ["1", "0", "-1", "42", "1.5", "1.0", "true", "false", "null", "~", "16G", "500MB", "2h", "90s",
                "1-02:03", "2x", "1.5x", "cpu", "gpu", "a100", "gpu_train", "light", "slurm", "gpus", "gres",
                "cluster-generic", "unlimited", "base.yaml", "/scratch/x", "${HOME}/x", "{data}/raw", "~/x",
                "--exclusive", "--mem=4G", "mylab", "'quoted text'", '"x y"', "[a, b]", "[1, 2]", "{a: 1}", "[]", "{}"]

_token = st.integers(0, 9).flatmap(lambda i: yaml_scalars if i == 0 else st.one_of(
    st.sampled_from(_SAFE_TOKENS + _WORDS), st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_-./", min_size=1,
                                                    max_size=10)))
_key = st.integers(0, 9).flatmap(lambda i: st.text(max_size=6) if i == 0 else st.sampled_from(_WORDS))

_tree = st.recursive(_token, lambda children: st.one_of(st.lists(children, max_size=4),
                                                        st.dictionaries(_key, children, max_size=5)), max_leaves=30)


def _yaml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z_][\w-]*|<<", key) else json.dumps(key)


def _render(node, indent: int = 0) -> list[str]:
    pad = " " * indent
    lines = []
    if isinstance(node, dict):
        for key, value in node.items():
            if isinstance(value, (dict, list)) and value:
                lines.append(f"{pad}{_yaml_key(key)}:")
                lines += _render(value, indent + 2)
            else:
                lines.append(f"{pad}{_yaml_key(key)}: {_flow(value)}")
    else:
        for value in node:
            if isinstance(value, (dict, list)) and value:
                inner = _render(value, indent + 2)
                lines.append(f"{pad}- {inner[0].lstrip()}")
                lines += inner[1:]
            else:
                lines.append(f"{pad}- {_flow(value)}")
    return lines


def _flow(value) -> str:
    if isinstance(value, dict):
        return "{}" if not value else "{" + ", ".join(f"{_yaml_key(k)}: {_flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_flow(v) for v in value) + "]"
    return value


@st.composite
def yaml_tree(draw) -> str:
    """Well-formed YAML (mostly): a random tree of known keys and scalar tokens, block or flow style."""
    tree = draw(st.dictionaries(_key, _tree, max_size=6))
    if draw(st.integers(0, 4)):
        tree = {"dvhpc": "1", "site": "fuzz", **tree}
    if draw(st.integers(0, 4)) == 0:
        return _flow(tree) + "\n"
    return "\n".join(_render(tree)) + "\n"


_PAIR = re.compile(r"(?P<key>[A-Za-z_][\w-]*):(?P<space>\s+)(?P<value>\"[^\"]*\"|[^,{}\[\]#\n]+?)(?=\s*(?:[,}\]#]|$))")


def _edit_pair(draw, op: str, line: str, lines: list[str]) -> str:
    """`line` with the key or value of one of its `key: value` pairs replaced (unchanged if it has none)."""
    pairs = list(_PAIR.finditer(line))
    if not pairs:
        return line
    match = draw(st.sampled_from(pairs))
    if op == "rename_key":
        new = draw(st.sampled_from(_WORDS))
        return line[:match.start("key")] + new + line[match.end("key"):]
    if op == "swap_values":
        others = list(_PAIR.finditer(draw(st.sampled_from(lines))))
        if not others:
            return line
        value = draw(st.sampled_from(others))["value"]
    else:
        value = draw(yaml_scalars)
    return line[:match.start("value")] + value + line[match.end("value"):]


@st.composite
def mutated_example(draw) -> str:
    """sites/example.yaml with 1-5 random edits."""
    lines = list(EXAMPLE_LINES)
    for _ in range(draw(st.integers(1, 5))):
        if not lines:
            lines = ["\n"]
        index = draw(st.integers(0, len(lines) - 1))
        op = draw(st.sampled_from(["delete", "duplicate", "swap_lines", "swap_values", "indent", "dedent",
                                   "replace_scalar", "replace_scalar", "replace_scalar", "insert_char",
                                   "truncate", "rename_key"]))
        line = lines[index]
        if op == "delete":
            del lines[index]
        elif op == "duplicate":
            lines.insert(index, line)
        elif op == "swap_lines":
            other = draw(st.integers(0, len(lines) - 1))
            lines[index], lines[other] = lines[other], lines[index]
        elif op in ("swap_values", "replace_scalar", "rename_key"):
            lines[index] = _edit_pair(draw, op, line, lines)
        elif op == "indent":
            lines[index] = " " * draw(st.integers(1, 4)) + line
        elif op == "dedent":
            lines[index] = line.lstrip(" ") if draw(st.booleans()) else line[1:]
        elif op == "insert_char":
            char = draw(st.sampled_from(["\t", "\x00", "\ufeff", "\r", "\x1b", "\u2028", "\x7f", ":", "{", "[", "&",
                                         "*", "!", "'", '"', "#", "\\", "é", "\U0001F600"]))
            pos = draw(st.integers(0, len(line)))
            lines[index] = line[:pos] + char + line[pos:]
        elif op == "truncate":
            text = "".join(lines)
            cut = draw(st.integers(0, len(text)))
            lines = text[:cut].splitlines(keepends=True)
    return "".join(lines)


# --------------------------------------------------------------------------- properties


@given(st.binary(max_size=3000), st.sampled_from(["spec.yaml", "spec.toml"]))
@FUZZ
def test_random_bytes(workdir, data, name):
    _check(workdir, data, name)


@given(st.binary(max_size=400))
@FUZZ
def test_random_bytes_after_a_valid_prefix(workdir, data):
    _check(workdir, b"dvhpc: 1\nsite: fuzz\n" + data)


@given(yamlish(), st.sampled_from(["text", "json", "github"]))
@FUZZ
def test_random_yamlish_text(workdir, text, fmt):
    _check(workdir, text, fmt=fmt)


@given(yaml_tree(), st.sampled_from(["text", "json", "github"]))
@FUZZ
def test_random_yaml_trees(workdir, text, fmt):
    _check(workdir, text, fmt=fmt)


@given(mutated_example(), st.sampled_from(["text", "text", "json", "github"]))
@FUZZ
def test_mutations_of_the_example(workdir, text, fmt):
    _check(workdir, text, fmt=fmt)


@given(st.dictionaries(st.sampled_from(_WORDS), st.one_of(st.text(max_size=10), st.integers(), st.floats(),
                                                          st.booleans(), st.lists(st.integers(), max_size=3)),
                       max_size=6))
@FUZZ
def test_random_toml_tables(workdir, table):
    def value(v):
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, float):
            return {"nan": "nan", "inf": "inf", "-inf": "-inf"}.get(str(v), repr(v))
        if isinstance(v, str):
            return json.dumps(v)
        if isinstance(v, list):
            return "[" + ", ".join(map(str, v)) + "]"
        return str(v)

    body = "\n".join(f'"{key}" = {value(v)}' for key, v in table.items())
    text = f'dvhpc = 1\nsite = "fuzz"\n[resources.rules.r]\n{body}\n'
    _check(workdir, text, "spec.toml")


def _example_data():
    from ruamel.yaml import YAML

    return YAML(typ="safe", pure=True).load((SITES / "example.yaml").read_text(encoding="utf-8"))


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, prefix + (key,))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, prefix + (index,))


EXAMPLE_DATA = _example_data()
EXAMPLE_PATHS = [p for p in _paths(EXAMPLE_DATA) if p]

typed_values = st.one_of(
    st.sampled_from([0, 1, -1, 2, 10**20, 1.0, 2.0, 0.0, -0.0, 1.5, 1e300, float("inf"), float("nan"), True, False,
                     None, "", " ", "x", "1", "1.0", "16G", "2h", "2x", "${X}", "{data}", [], {}, [1], ["x"],
                     {"a": 1}, {"use": "gpu_train"}, [None], {"": None}]),
    st.integers(), st.floats(), st.text(max_size=8), st.booleans(),
    st.lists(st.one_of(st.integers(), st.text(max_size=4)), max_size=3),
    st.dictionaries(st.text(max_size=6), st.one_of(st.integers(), st.text(max_size=4), st.none()), max_size=3),
)


@st.composite
def retyped_example(draw):
    """The example's data with 1-4 values (anywhere in the tree) replaced by values of another type."""
    import copy

    data = copy.deepcopy(EXAMPLE_DATA)
    for _ in range(draw(st.integers(1, 4))):
        path = draw(st.sampled_from(EXAMPLE_PATHS))
        parent = data
        try:
            for part in path[:-1]:
                parent = parent[part]
            parent[path[-1]] = draw(typed_values)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier replacement removed this path
    return data


@given(retyped_example(), st.sampled_from(["spec.yaml", "spec.toml"]))
@FUZZ
def test_example_with_values_of_every_type(workdir, data, name):
    """JSON is YAML, so dump as JSON for .yaml; TOML gets what TOML can express."""
    if name.endswith(".yaml"):
        text = json.dumps(data, indent=1, allow_nan=True).replace("NaN", ".nan").replace("-Infinity", "-.inf") \
            .replace("Infinity", ".inf")
    else:
        text = _to_toml(data)
        if text is None:
            return
    _check(workdir, text, name)


def _confusions():
    """Each integer of the example as a float with the same value and as a boolean; each boolean as 1."""
    for path in EXAMPLE_PATHS:
        value = EXAMPLE_DATA
        for part in path:
            value = value[part]
        if isinstance(value, bool):
            yield path, int(value)
        elif isinstance(value, int):
            yield path, float(value)
            yield path, True


CONFUSIONS = list(_confusions())


@pytest.mark.parametrize("path, value", CONFUSIONS, ids=[f"{'.'.join(map(str, p))}={v!r}" for p, v in CONFUSIONS])
def test_example_with_a_confusable_type(workdir, path, value):
    """Type confusion that JSON Schema lets through (1.0 is an "integer", True == 1) must not crash later stages."""
    import copy

    data = copy.deepcopy(EXAMPLE_DATA)
    parent = data
    for part in path[:-1]:
        parent = parent[part]
    parent[path[-1]] = value
    _check(workdir, json.dumps(data, indent=1), "confused.yaml")


def _toml_value(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return {"nan": "nan", "inf": "inf", "-inf": "-inf"}.get(str(value), repr(value))
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        items = [_toml_value(v) for v in value]
        return None if None in items else "[" + ", ".join(items) + "]"
    if isinstance(value, dict):
        items = [(json.dumps(str(k)), _toml_value(v)) for k, v in value.items()]
        return None if any(v is None for _, v in items) else "{" + ", ".join(f"{k} = {v}" for k, v in items) + "}"
    return None  # TOML has no null


def _to_toml(data):
    if not isinstance(data, dict):
        return None
    lines = []
    for key, value in data.items():
        rendered = _toml_value(value)
        if rendered is None:
            return None
        lines.append(f"{json.dumps(str(key))} = {rendered}")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- the real process


NASTY = (b"\xef\xbb\xbfdvhpc: 1\nsite: !!python/object/apply:os.system ['echo hi']\n"
         b"a: &a [*a]\nb: \"\\x00\"\n\tc: \xff\xfe\n" + b"[" * 5000)


def test_nasty_file_in_a_subprocess(tmp_path):
    (tmp_path / "nasty.yaml").write_bytes(NASTY)
    code, out, err = run_subprocess("validate", "nasty.yaml", cwd=tmp_path)
    assert code == 1, (out, err)
    assert "Traceback" not in err
    assert diagnostic_heads(err)


@pytest.mark.parametrize("content", [
    b"[" * 100000,  # deep nesting for the parser
    b"a:\n" + b"".join(b" " * i + b"b:\n" for i in range(1, 3000)),
    b"- " * 20000 + b"x\n",
    b"{" * 50000,
    b"x = " + b"[" * 100000,
])
def test_deep_nesting_is_refused_calmly(tmp_path, content):
    name = "deep.toml" if content.startswith(b"x =") else "deep.yaml"
    (tmp_path / name).write_bytes(content)
    code, out, err = run_in_process("validate", name, cwd=tmp_path)
    assert code == 1, err
    assert "Traceback" not in err
    assert diagnostic_heads(err)


def test_repo_example_is_unchanged_by_fuzzing():
    """The fuzzers write to their own temp folder only."""
    assert (REPO / "sites" / "example.yaml").read_text(encoding="utf-8").splitlines(keepends=True) == EXAMPLE_LINES
