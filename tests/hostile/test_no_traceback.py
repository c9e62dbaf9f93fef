"""No traceback, ever: every hostile file through `validate`, `lint --no-shellcheck`,
`compile --out TMP` and `diff FILE sites/example.yaml`.

Accepted outcomes (hostile_lib.assert_calm): exit 0 or 1 -- diff also 2, documented as "a side
has errors" -- and never "Traceback" or "internal error" on stdout or stderr.

Cases: the committed corpus (corpus/, see its README), big files generated here (10 MB lines,
a 1 MB line under the size limit), and variants of sites/example.yaml generated here:
- every scalar type in every field: a covering design, document k sets leaf i to type
  (i + k) mod T, so T documents hold every (field, type) pair;
- edge values of every number and unit field one at a time: 0, negative, huge, fractions,
  zero/negative/huge memory, durations and factors, empty/long/unicode strings;
- a look-alike of every key (Cyrillic, fullwidth, zero-width, no-break space): always refused.
Plus a hypothesis test over all four commands. Runs in-process (tests/conftest.py's
`run_in_process`), spread over two forked workers.
"""

from __future__ import annotations

import json
import multiprocessing
import re
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from conftest import run_subprocess
from hostile_lib import CORPUS, COUNTS, SITES, count, four_commands, run_counted

EXAMPLE_TEXT = (SITES / "example.yaml").read_text(encoding="utf-8")
EXAMPLE = YAML(typ="safe").load(EXAMPLE_TEXT)
REFERENCE = str(SITES / "example.yaml")
WORKERS = 2

# ------------------------------------------------------------------------------ the runner


def _prepare(folder: Path) -> None:
    shutil.copytree(CORPUS, folder, dirs_exist_ok=True)
    shutil.copy(SITES / "base.yaml", folder / "base.yaml")


_WORKDIR: Path | None = None


def _worker_init(base: str) -> None:
    global _WORKDIR
    _WORKDIR = Path(tempfile.mkdtemp(prefix="worker-", dir=base))
    _prepare(_WORKDIR)
    COUNTS.clear()


def _run_case(case: tuple[str, str, bytes | None]) -> tuple[str, str | None, dict]:
    label, name, content = case
    assert _WORKDIR is not None
    if content is not None:
        (_WORKDIR / name).write_bytes(content)
    before = dict(COUNTS)
    try:
        four_commands(_WORKDIR, name, REFERENCE, label)
        problem = None
    except AssertionError as exc:
        problem = str(exc)
    finally:
        if content is not None:
            (_WORKDIR / name).unlink(missing_ok=True)
    return label, problem, {k: v - before.get(k, 0) for k, v in COUNTS.items()}


def run_cases(cases: list[tuple[str, str, bytes | None]], base: Path) -> list[str]:
    """Run the four commands on every case in two forked workers (folders below `base`);
    returns the problems found."""
    problems = []
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(WORKERS, initializer=_worker_init, initargs=(str(base),)) as pool:
        for _label, problem, counts in pool.imap_unordered(_run_case, cases, chunksize=4):
            count("fuzz cases")
            for kind, n in counts.items():
                count(kind, n)
            if problem:
                problems.append(problem)
    return problems


# ------------------------------------------------------------------------------ corpus and big files


def corpus_cases() -> list[tuple[str, str, bytes | None]]:
    return [(f"corpus/{p.name}", p.name, None) for p in sorted(CORPUS.iterdir()) if p.name != "README.md"]


def big_cases() -> list[tuple[str, str, bytes | None]]:
    ten = 10 * 1024 * 1024
    head = b"dvhpc: 1\nsite: big\n"
    return [
        ("10 MB line (YAML value)", "big-line.yaml", head + b'description: "' + b"x" * ten + b'"\n'),
        ("10 MB line (comment)", "big-comment.yaml", head + b"# " + b"y" * ten + b"\n"),
        ("10 MB line (TOML)", "big-line.toml", b'dvhpc = 1\nsite = "big"\ndescription = "' + b"z" * ten + b'"\n'),
        ("10 MB of lines", "big-lines.yaml",
         head + b"settings:\n" + b"".join(b"  s%d: %d\n" % (i, i) for i in range(700_000))),
        ("1 MB line under the limit", "long-line.yaml", head + b"paths: {p: '/" + b"w" * (1024 * 1024) + b"'}\n"),
    ]


def test_corpus_and_big_files(tmp_path):
    cases = corpus_cases() + big_cases()
    assert len(cases) > 100
    problems = run_cases(cases, tmp_path)
    assert not problems, f"{len(problems)} of {len(cases)} cases failed:\n\n" + "\n\n".join(problems)


def test_python_tags_never_run(tmp_path):
    """`!!python/object/apply:os.system` is refused as an unsupported tag, and never runs."""
    shutil.copy(CORPUS / "tags-python.yaml", tmp_path / "spec.yaml")
    code, out, err = run_counted("validate", "spec.yaml", cwd=tmp_path)
    assert code == 1 and "DV006" in err
    assert not list(tmp_path.rglob("MARKER")) and not Path("MARKER").exists()


@pytest.mark.parametrize("name,args", [
    ("surrogate-escape-key.yaml", ("validate", "--format", "json")),
    ("surrogate-escape-key.yaml", ("validate", "--format", "github")),
    ("surrogate-escape-key.yaml", ("lint", "--no-shellcheck", "--format", "sarif")),
    ("surrogate-escape-value.yaml", ("compile", "--out", "generated")),
    ("toml-surrogate.toml", ("validate", "--format", "github")),
])
def test_lone_surrogates_in_a_real_process(tmp_path, name, args):
    """`"\\ud800"` is a valid YAML escape that decodes to a lone surrogate, which UTF-8 cannot
    encode: in a real process (strict UTF-8 stdout, files written as UTF-8) it must still end
    in a diagnostic, not an internal error. In-process runs (StringIO) cannot see this."""
    shutil.copy(CORPUS / name, tmp_path / name)
    code, out, err = run_subprocess(*args, name, cwd=tmp_path)
    count("subprocess cases")
    assert code in (0, 1), f"dvhpc {' '.join(args)} {name}: exit {code}\n{out[-500:]}\n{err[-1500:]}"
    assert "Traceback" not in err and "internal error" not in err, err


# ------------------------------------------------------------------------------ example variants

DEPENDS = {"slurm": ("resources",), "resources": ("slurm",), "datasets": ("paths",), "snakemake": ("resources",)}

TYPES = {  # raw YAML for every scalar (and container) type a field could get
    "str": '"x"', "empty-str": '""', "int": "7", "zero": "0", "negative": "-1",
    "huge-int": "123456789012345678901234567890", "float": "1.5", "inf": ".inf", "nan": ".nan",
    "bool": "true", "null": "~", "timestamp": "2025-01-01", "binary": "!!binary aGk=",
    "list": "[1, a]", "empty-list": "[]", "map": "{a: 1}", "empty-map": "{}",
}

_MEMORY = re.compile(r"^\d+(\.\d+)?\s*[KMGT]i?B?$")
_DURATION = re.compile(r"^(\d+(\.\d+)?(d|h|min|m|s))+$")
_FACTOR = re.compile(r"^\d+(\.\d+)?x$")


def edge_values(value) -> list[str]:
    """Raw YAML edge values for one field, by the kind of its example value."""
    if isinstance(value, bool):
        return ["false" if value else "true"]
    if isinstance(value, int):
        return ["0", "-1", "123456789012345678901234567890", "1.5"]
    text = str(value)
    if _MEMORY.match(text):
        return ['"0G"', '"-1G"', '"99999999999999999999T"']
    if _DURATION.match(text):
        return ['"0min"', '"-1h"', '"99999999999999999999d"']
    if _FACTOR.match(text):
        return ['"0x"', '"-1x"', '"99999999999999999999x"']
    if text.startswith((">", "<", "=")):
        return ['">=99999999999999999999"', '">=3.11,<3.11"']
    return ['""', json.dumps("\u00fc\u0430\u4e2d" * 700), '"${DVHPC_UNSET_XYZ}/{nope}/~"']


def leaves(data, path=()):
    if isinstance(data, dict):
        for key, value in data.items():
            yield from leaves(value, path + (key,))
    elif isinstance(data, list):
        if data:
            yield from leaves(data[0], path + (0,))
    else:
        yield path, data


def keys(data, path=()):
    if isinstance(data, dict):
        for key, value in data.items():
            yield path + (key,)
            yield from keys(value, path + (key,))
    elif isinstance(data, list) and data:
        yield from keys(data[0], path + (0,))


_RAW = "@@RAW{}@@"


def dump(data, raws: dict[str, str]) -> bytes:
    """JSON (valid YAML) with placeholders replaced by raw YAML scalars."""
    text = json.dumps(data, ensure_ascii=False, indent=1)
    for marker, raw in raws.items():
        text = text.replace(json.dumps(marker), raw)
    return (text + "\n").encode("utf-8")


def _set(data, path, value):
    for part in path[:-1]:
        data = data[part]
    data[path[-1]] = value


def trimmed(top: str) -> dict:
    """The example reduced to one section and what it refers to (smaller: faster to parse)."""
    keep = {"dvhpc", "site", top, *DEPENDS.get(top, ())}
    if top in ("dvhpc", "site", "description", "extends"):
        keep |= {"description", "extends"}
    return json.loads(json.dumps({k: v for k, v in EXAMPLE.items() if k in keep}))


def covering_cases() -> list[tuple[str, str, bytes]]:
    """Every scalar type in every field, in len(TYPES) documents."""
    names = list(TYPES)
    fields = [path for path, _ in leaves(EXAMPLE)]
    cases = []
    for k in range(len(names)):
        data = json.loads(json.dumps(EXAMPLE))
        raws = {}
        for i, path in enumerate(fields):
            marker = _RAW.format(i)
            _set(data, path, marker)
            raws[marker] = TYPES[names[(i + k) % len(names)]]
        cases.append((f"covering design #{k} (field i gets type {k}+i)", f"cover-{k}.yaml", dump(data, raws)))
    return cases


def edge_cases() -> list[tuple[str, str, bytes]]:
    cases = []
    for path, value in leaves(EXAMPLE):
        for raw in edge_values(value):
            data = trimmed(path[0])
            _set(data, path, _RAW.format(0))
            label = f"{'.'.join(map(str, path))} = {raw[:40]}"
            cases.append((label, f"edge-{len(cases)}.yaml", dump(data, {_RAW.format(0): raw})))
    return cases


_CYRILLIC = {"a": "\u0430", "c": "\u0441", "e": "\u0435", "o": "\u043e", "p": "\u0440", "x": "\u0445",
             "y": "\u0443", "i": "\u0456", "s": "\u0455"}
LOOKALIKE_KINDS = ("cyrillic", "fullwidth", "zero-width", "nbsp")


def lookalike(key: str, kind: str) -> str:
    if kind == "cyrillic":
        for index, char in enumerate(key):
            if char in _CYRILLIC:
                return key[:index] + _CYRILLIC[char] + key[index + 1:]
        kind = "fullwidth"
    if kind == "fullwidth":
        return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in key)
    if kind == "zero-width":
        return key[:1] + "\u200b" + key[1:]
    return key + "\u00a0"


def lookalike_cases() -> list[tuple[str, str, bytes]]:
    cases = []
    for index, path in enumerate(keys(EXAMPLE)):
        if path[-1] == 0 or path == ("dvhpc",):
            continue
        kind = LOOKALIKE_KINDS[index % len(LOOKALIKE_KINDS)]
        data = trimmed(path[0])
        parent = data
        for part in path[:-1]:
            parent = parent[part]
        if not isinstance(parent, dict):
            continue
        new = lookalike(path[-1], kind)
        items = [(new if k == path[-1] else k, v) for k, v in parent.items()]
        parent.clear()
        parent.update(items)
        label = f"look-alike ({kind}) {'.'.join(map(str, path))} -> {new!r}"
        cases.append((label, f"look-{index}.yaml", dump(data, {})))
    return cases


def test_every_scalar_type_in_every_field(tmp_path):
    cases = covering_cases()
    problems = run_cases(cases, tmp_path)
    assert not problems, "\n\n".join(problems)


def test_edge_values_of_every_field_one_at_a_time(tmp_path):
    cases = edge_cases()
    assert len(cases) > 250
    problems = run_cases(cases, tmp_path)
    assert not problems, f"{len(problems)} of {len(cases)} failed:\n\n" + "\n\n".join(problems[:20])


def test_look_alike_keys_are_never_accepted(tmp_path):
    cases = lookalike_cases()
    assert len(cases) > 80
    problems = run_cases(cases, tmp_path)
    assert not problems, "\n\n".join(problems[:20])
    # and each one is refused (never silently treated as another key, or as a new name)
    shutil.copy(SITES / "base.yaml", tmp_path / "base.yaml")
    accepted = []
    for label, name, content in cases:
        (tmp_path / name).write_bytes(content)
        code, out, err = run_counted("validate", "--format", "json", name, cwd=tmp_path)
        if code != 1 or not any(d["code"].startswith("DV1") for d in json.loads(out)):
            accepted.append(label)
    assert not accepted, f"look-alike keys accepted: {accepted}"


# ------------------------------------------------------------------------------ hypothesis

_TOKENS = ["dvhpc: 1", "site: h", "slurm:", "partitions:", "resources:", "rules:", "defaults:", "sets:", "use:",
           "cpus:", "mem:", "time:", "gpus:", "partition:", "&a", "*a", "<<:", "- ", "[", "]", "{", "}", ",", ":",
           "'", '"', "#", "|", ">", "!!str", "!!python/name:os.system", "\t", "\ufeff", "\u0430", "\x00", "\r",
           "\u2028", "0", "-1", "1e400", "9" * 30, "80G", "-1G", "13h20m", "2x", "~", "null", "${HOME}", "{data}",
           "$(touch MARKER)", "`id`", "..", "/", "extends: base.yaml", "extends: spec.yaml", "---", "...", "%YAML 1.2"]

_LINES = EXAMPLE_TEXT.splitlines(keepends=True)


@st.composite
def hostile_text(draw):
    lines = list(_LINES)
    for _ in range(draw(st.integers(1, 4))):
        index = draw(st.integers(0, len(lines) - 1))
        action = draw(st.sampled_from(["replace", "insert", "splice", "truncate", "indent"]))
        junk = "".join(draw(st.lists(st.sampled_from(_TOKENS), min_size=1, max_size=6)))
        if action == "replace":
            lines[index] = junk + "\n"
        elif action == "insert":
            lines.insert(index, junk + "\n")
        elif action == "splice":
            line = lines[index]
            cut = draw(st.integers(0, len(line)))
            lines[index] = line[:cut] + junk + line[cut:]
        elif action == "truncate":
            lines = lines[:index]
        else:
            lines[index] = draw(st.sampled_from(["\t", "   ", " "])) + lines[index]
    return "".join(lines)


@st.composite
def hostile_toml(draw):
    table = draw(st.recursive(
        st.one_of(st.integers(-(10**30), 10**30), st.floats(), st.booleans(), st.text(max_size=20),
                  st.sampled_from(["80G", "-1G", "1h", "2x", "cpu", "${HOME}", "$(touch MARKER)"])),
        lambda inner: st.one_of(st.lists(inner, max_size=3),
                                st.dictionaries(st.sampled_from(["cpus", "mem", "time", "partition", "use", "x",
                                                                 "defaults", "rules", "cpu", "gpu"]),
                                                inner, max_size=3)),
        max_leaves=10))
    top = draw(st.sampled_from(["slurm", "resources", "snakemake", "settings", "paths", "environment"]))
    from hostile_lib import toml_value

    body = toml_value(table) if isinstance(table, (dict, list)) else toml_value(table)
    return f'dvhpc = 1\nsite = "h"\n{json.dumps(top)} = {body}\n'


FUZZ = settings(max_examples=45, deadline=None, derandomize=True, print_blob=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def hypo_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hypothesis")
    shutil.copy(SITES / "base.yaml", folder / "base.yaml")
    return folder


@FUZZ
@given(text=hostile_text())
def test_hypothesis_yaml_through_all_four_commands(hypo_dir, text):
    (hypo_dir / "spec.yaml").write_text(text, encoding="utf-8", errors="surrogatepass")
    four_commands(hypo_dir, "spec.yaml", REFERENCE, f"hypothesis YAML:\n{text[:3000]!r}")
    count("fuzz cases")
    count("hypothesis cases")


@FUZZ
@given(text=hostile_toml())
def test_hypothesis_toml_through_all_four_commands(hypo_dir, text):
    (hypo_dir / "spec.toml").write_text(text, encoding="utf-8", errors="surrogatepass")
    four_commands(hypo_dir, "spec.toml", REFERENCE, f"hypothesis TOML:\n{text[:3000]!r}")
    count("fuzz cases")
    count("hypothesis cases")
