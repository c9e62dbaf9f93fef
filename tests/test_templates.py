"""Generated code is template files plus spec data: the templates are shellchecked / pyflaked as
files, spec values enter only through the data block (quoted by `quoting.py`), and the run-time
expansion of the templates (`_dvhpc_expand`) reads `${VAR}` exactly as `quoting.sh_runtime` writes it.

bash and shellcheck are the oracles: what a data block means is what bash assigns when it reads it.
"""

from __future__ import annotations

import dataclasses
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from dvhpc.emit import scripts, site_paths
from dvhpc.model.quoting import runtime_vars, sh_runtime
from dvhpc.pipeline import check

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "compiler" / "dvhpc" / "emit" / "templates"
SHELLCHECK = shutil.which("shellcheck", path=str(Path(sys.executable).parent)) or shutil.which("shellcheck")
needs_shellcheck = pytest.mark.shellcheck  # skipped with the reason where shellcheck is missing (conftest.py)

# Text that runs a command if it reaches bash unquoted: every shell metacharacter, quotes of both
# kinds, a newline, the placeholders the old emitter substituted, and non-ASCII.
HOSTILE = [
    "", " ", "'", '"', "\\", "$(touch MARKER)", "`touch MARKER`", "a'b\"c", "x\ny", "; touch MARKER #",
    "${HOME}", "$HOME", "~", "~/x", "@@UNSET@@", "@@HELPERS@@", "*", "?", "[a]", "!x", "-n", "é\u2028ü", "\t",
]


def _bash(code: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-c", code], capture_output=True, text=True, timeout=30,
                          env={"PATH": os.environ["PATH"], "LC_ALL": "C.UTF-8", **env})


# ---------------------------------------------------------------------------------------- the template files


def test_every_template_file_is_used_and_shipped():
    used = {part for template in scripts.ALL for part in template.parts} | set(site_paths.PARTS)
    # ruff.toml: the names the site_paths runtime's data block defines, for ruff (not shipped)
    assert used == {p.name for p in TEMPLATES.iterdir() if p.is_file()} - {"ruff.toml"}
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    # package data: the wheel carries them (tests/test_install.py builds and uses one)
    assert '"emit/templates/*.sh", "emit/templates/*.py"' in pyproject


@needs_shellcheck
@pytest.mark.parametrize("template", scripts.ALL, ids=lambda t: t.output)
def test_each_template_shape_is_shellcheck_clean_as_a_file(template, tmp_path):
    """The script with stub data, as a file, at shellcheck's strictest severity (style)."""
    path = tmp_path / Path(template.output).name
    path.write_text(template.stub(), encoding="utf-8")
    proc = subprocess.run([SHELLCHECK, "--shell=bash", "--severity=style", str(path)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert subprocess.run(["bash", "-n", str(path)]).returncode == 0


@needs_shellcheck
@pytest.mark.parametrize("part", sorted(p.name for p in TEMPLATES.glob("*.sh")))
def test_each_template_file_alone_is_shellcheck_clean_but_for_its_data(part):
    """A template file on its own: clean but for variables set or read in another part (its data block,
    the template that includes a fragment)."""
    proc = subprocess.run([SHELLCHECK, "--shell=bash", "--severity=style", "--exclude=SC2154,SC2034",
                           str(TEMPLATES / part)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_site_paths_runtime_is_pyflakes_clean_as_a_file(tmp_path):
    pytest.importorskip("pyflakes")
    # alone: its only undefined names are the data block's
    env = {**os.environ, "PYFLAKES_BUILTINS": ",".join(site_paths.DATA_NAMES)}
    for part in site_paths.PARTS:
        proc = subprocess.run([sys.executable, "-m", "pyflakes", str(TEMPLATES / part)], capture_output=True,
                              text=True, env=env)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    # with stub data, as the module is generated
    stub = tmp_path / "site_paths.py"
    stub.write_text(site_paths.stub(), encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "pyflakes", str(stub)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


# ---------------------------------------------------------------------------------------- the data block


def test_data_block_values_are_exactly_what_bash_assigns():
    rng = random.Random(13)
    words = HOSTILE + ["".join(rng.choice("ab$'\"\\`{}~ \n*;&|()<>!#") for _ in range(12)) for _ in range(60)]
    fields = {"_dvhpc_word": scripts.WORD, "_dvhpc_list": scripts.LIST, "_dvhpc_on": scripts.SWITCH}
    for start in range(0, len(words), 7):
        chunk = words[start:start + 7]
        block = scripts.data_block(fields, {"_dvhpc_word": chunk[0], "_dvhpc_list": chunk, "_dvhpc_on": True})
        code = block + 'printf "%s\\0" "$_dvhpc_on" "$_dvhpc_word" "${#_dvhpc_list[@]}" "${_dvhpc_list[@]}"'
        proc = _bash(code)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.split("\0")[:-1] == ["1", chunk[0], str(len(chunk)), *chunk]


def test_data_block_refuses_undeclared_data_and_bad_names():
    with pytest.raises(ValueError):
        scripts.data_block({"_dvhpc_a": scripts.WORD}, {"_dvhpc_b": "x"})
    with pytest.raises(ValueError):
        scripts.data_block({"PATH": scripts.WORD}, {"PATH": "x"})


@pytest.mark.parametrize("spec", ["sites/example.yaml", "sites/dynvision-greene.yaml"])
def test_generated_scripts_are_header_data_and_templates_verbatim(spec):
    """No substitution: after the data block, every script is its template files, byte for byte."""
    site = check(str(ROOT / spec)).site
    generated = {**scripts.files(site), **({"profile/status.sh": scripts.status_script(site)})}
    for template in scripts.ALL:
        if template.output not in generated:
            continue
        content = generated[template.output].content
        assert content.endswith("}\n\n" + template.code())
        assert content.startswith("#!/usr/bin/env bash\n# Generated by dvhpc from ")


# ---------------------------------------------------------------------------------------- run-time text


def _expand_all(texts: list[str], **env: str) -> list[tuple[int, str]]:
    fragment = (TEMPLATES / "runtime_text.sh").read_text(encoding="utf-8")
    block = scripts.data_block({"_dvhpc_texts": scripts.LIST}, {"_dvhpc_texts": texts})
    loop = ('for t in "${_dvhpc_texts[@]}"; do _dvhpc_expand who key "$t"; '
            'printf "%s\\0%s\\0" "$?" "$_dvhpc_value"; done')
    code = block + fragment + loop
    proc = _bash(code, **env)
    parts = proc.stdout.split("\0")[:-1]
    return [(int(parts[i]), parts[i + 1]) for i in range(0, len(parts), 2)]


def test_runtime_expansion_is_what_sh_runtime_means():
    """For every text, bash's reading of the compile-time quoting equals the template's run-time expansion."""
    rng = random.Random(7)
    alphabet = ["$", "{", "}", "A", "B_1", "é", "~", "/", "'", '"', "\\", "`", "(", ")", " ", "\n", "x", "0"]
    texts = HOSTILE + ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 10))) for _ in range(400)]
    texts = [t for t in texts if "\0" not in t]
    env = {"HOME": "/home/u", "A": "va", "B_1": "vb 'q' $(x)", "x": "X!"}
    expected = []
    for text in texts:
        proc = _bash(f"printf '%s' {sh_runtime(text)}", **env)
        expected.append(proc.stdout)
    got = _expand_all(texts, **env)
    assert len(got) == len(texts)
    for text, want, (status, value) in zip(texts, expected, got, strict=True):
        missing = [name for name in runtime_vars(text) if not env.get(name)]
        assert status == (1 if missing else 0), text
        if not missing:
            assert value == want, text


def test_runtime_expansion_names_every_missing_variable_once():
    fragment = (TEMPLATES / "runtime_text.sh").read_text(encoding="utf-8")
    proc = _bash(fragment + '_dvhpc_expand "dvhpc x" a.key \'${NOPE}/$NOPE/$EMPTY/~\'; echo "rc=$? [$_dvhpc_value]"',
                 EMPTY="")
    assert proc.stdout == "rc=1 [///~]\n"
    assert proc.stderr.splitlines() == [
        "dvhpc x: a.key needs ${NOPE}, which is not set (or empty); set it first (e.g. in ~/.bashrc)",
        "dvhpc x: a.key needs ${EMPTY}, which is not set (or empty); set it first (e.g. in ~/.bashrc)",
    ]


def test_placeholder_text_in_a_value_stays_as_written(tmp_path):
    """The old emitter replaced @@UNSET@@ and @@HELPERS@@ in the finished script, user data included:
    MARKER_DIR "/data/@@UNSET@@/${HOME}" was exported as "/data/_dvhpc_vars_set/${HOME}"."""
    (tmp_path / "spec.yaml").write_text(
        'dvhpc: 1\nsite: s\nenvironment: {variables: {MARKER_DIR: "/data/@@UNSET@@/${HOME}", '
        'OTHER_DIR: "@@HELPERS@@"}}\n', encoding="utf-8")
    checked = check(str(tmp_path / "spec.yaml"))
    assert checked.ok, checked.report.items
    (tmp_path / "bootstrap.sh").write_text(scripts.files(checked.site)["bootstrap.sh"].content, encoding="utf-8")
    proc = _bash(f'source {tmp_path}/bootstrap.sh; printf "%s|%s" "$MARKER_DIR" "$OTHER_DIR"',
                 HOME="/home/u", DVHPC_SKIP_CHECKS="1")
    assert proc.stdout == "/data/@@UNSET@@//home/u|@@HELPERS@@", proc.stderr


# ---------------------------------------------------------------------------------------- lint's shapes


def test_lint_checks_one_shape_per_template_whatever_the_spec():
    shapes = set()
    for spec in ("sites/example.yaml", "sites/dynvision-greene.yaml"):
        site = check(str(ROOT / spec)).site
        found = scripts.checks(site)
        assert set(found) == set(scripts.files(site))
        shapes |= {(name, c.text) for name, c in found.items()}
        code = {t.output: t.code() for t in scripts.ALL}
        for name, c in found.items():
            assert c.line_shift == 0  # one line per value: the template starts on the same line
            real = scripts.files(site)[name].content
            assert real.endswith(code[name]) and c.text.endswith(code[name])
            assert real.count("\n") == c.text.count("\n") + c.line_shift
    assert len(shapes) == len({name for name, _ in shapes})  # both sites: the same text per script


def test_a_line_break_in_a_value_shifts_the_template_lines(monkeypatch):
    """DV360 lines point into the real file: a value over two lines moves the template down by one."""
    site = check(str(ROOT / "sites" / "example.yaml")).site
    jobs = dataclasses.replace(scripts.JOBS, data=lambda s: {**scripts.JOBS.data(s),
                                                             "_dvhpc_partition_lines": ["a\nb", "c"]})
    monkeypatch.setattr(scripts, "_templates", lambda _site: [jobs])
    shape = scripts.checks(site)["jobs.sh"]
    content = scripts.files(site)["jobs.sh"].content
    assert shape.line_shift == 1
    assert content.count("\n") == shape.text.count("\n") + 1 and content.endswith(scripts.JOBS.code())
