"""`dvhpc diff`: compare what two sites mean, not how they are written.

A side is a spec file (optionally `REV:path`, read from git), or a generated site folder. Both
are turned into a `View`: the generated files (compiled in memory for a spec) plus, for specs,
the typed model. Changes are grouped by area: profile settings, each rule's resources,
partitions, environment, paths, datasets, detection, settings.
"""

from __future__ import annotations

import math
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

from dvhpc.model.site import Site
from dvhpc.output.readback import (
    MANIFEST_JSON,
    MAX_GENERATED_BYTES,
    PROFILE_YAML,
    PROFILE_YAMLS,
    RESOURCES_YAML,
    BrokenOutput,
    read_folder,
    read_generated_yaml,
)
from dvhpc.report.diagnostics import Diagnostic, Report
from dvhpc.report.textsafe import printable
from dvhpc.tools.diff.changes import AREAS, RULE_FIELDS, UNIT, Change, FieldChange, compare
from dvhpc.tools.diff.render import as_json, change_line, render_markdown, render_text, unified

# the names the CLI and the tests use: the reader (dvhpc.output.readback), the change model
# (changes) and the renderers (render) are parts of `dvhpc diff`
__all__ = ["AREAS", "MANIFEST_JSON", "MAX_GENERATED_BYTES", "PROFILE_YAML", "PROFILE_YAMLS", "RESOURCES_YAML",
           "RULE_FIELDS", "UNIT",
           "Change", "DiffError", "FieldChange", "View", "as_json", "change_line", "compare", "diff_sides", "drift",
           "emitted_data", "folder_view", "read_generated_yaml", "render_markdown", "render_text", "unified",
           "view_of"]


class DiffError(Exception):
    """A side that cannot be read (bad revision, no git, invalid spec, a broken generated folder):
    reported, exit 2. `diagnostic` is set when the problem has a place in a file (DV403)."""

    def __init__(self, message: str, diagnostic: Diagnostic | None = None):
        super().__init__(message)
        self.diagnostic = diagnostic


class View:
    """One side of a diff: its YAML files as data, the generated files as text (made only when
    asked for) and, for a spec, the typed model."""

    def __init__(self, label: str, data: dict[str, dict], *, site: Site | None = None,
                 files: dict[str, str] | None = None, make_files: Callable[[], dict[str, str]] | None = None,
                 make_text_files: Callable[[], dict[str, str]] | None = None):
        self.label, self.data, self.site = label, data, site
        self._files: dict[str, str] | None = files
        self._make_files = make_files
        self._text_files: dict[str, str] | None = None
        self._make_text_files = make_text_files

    @property
    def files(self) -> dict[str, str]:
        """Every generated file but the manifest (`--unified`)."""
        if self._files is None:
            self._files = self._make_files() if self._make_files else {}
        return self._files

    @property
    def text_files(self) -> dict[str, str]:
        """The files compared as text: all but the YAML files read as data."""
        if self._text_files is None:
            self._text_files = self._make_text_files() if self._make_text_files else \
                {name: text for name, text in self.files.items() if name not in (RESOURCES_YAML, *PROFILE_YAMLS)}
        return self._text_files

    def yaml(self, name: str) -> dict:
        return self.data.get(name) or {}


# ------------------------------------------------------------------------------------ reading

def git_reader(rev: str):
    """A SpecLoader reader that takes files from git at `rev` (paths relative to the cwd)."""
    def read(path: Path) -> bytes:
        relative = os.path.normpath(str(path))
        if os.path.isabs(relative):
            relative = os.path.relpath(relative)
        try:
            proc = subprocess.run(["git", "show", f"{rev}:./{relative}"], capture_output=True, timeout=60)
        except FileNotFoundError:
            raise OSError(2, "git is not installed") from None
        if proc.returncode != 0:
            message = proc.stderr.decode("utf-8", "replace").strip().splitlines()
            raise OSError(2, message[-1].removeprefix("fatal: ") if message else f"not in git at {rev}")
        return proc.stdout
    return read


def view_of(side: str, report: Report) -> View:
    from dvhpc.build import generate, site_for_output
    from dvhpc.frontend.layers import SpecLoader
    from dvhpc.pipeline import check

    if os.path.isdir(side):
        return folder_view(Path(side))
    rev, _, path = side.partition(":") if _is_rev_spec(side) else ("", "", side)
    # a git side's files are named REV:path in its diagnostics: their snippets are that revision's text
    loader = SpecLoader(git_reader(rev), label=f"{rev}:") if rev else SpecLoader()
    if rev:
        _require_git_revision(rev)
    checked = check(path, loader)
    report.extend(checked.report)
    if not checked.ok:
        raise DiffError(f"{printable(side)}: the spec has errors")
    if checked.abstract:
        raise DiffError(f"{printable(side)}: an abstract layer compiles to nothing")
    out_root = Path("generated")
    site = site_for_output(checked, out_root)

    def files() -> dict[str, str]:
        return {name: f.content for name, f in generate(checked, out_root).items() if name != MANIFEST_JSON}

    return View(side, emitted_data(site), site=checked.site, make_files=files, make_text_files=lambda: text_files(site))


def text_files(site: Site) -> dict[str, str]:
    """The generated files that diff compares as text: every one but the YAML files it reads as
    data (rendering a 20,000-rule resources.yaml only to skip it took seconds) and the manifest."""
    from dvhpc.emit import emit_scripts, site_paths

    return {name: f.content for name, f in {**emit_scripts(site), **site_paths.files(site)}.items()}


def emitted_data(site: Site) -> dict[str, dict]:
    """The data of a site's generated YAML files as they read back from the text: compared
    without writing and parsing hundreds of thousands of lines."""
    from dvhpc.emit.profile import profile_data
    from dvhpc.emit.resources import resources_data

    return {PROFILE_YAML: _as_read_back(profile_data(site)), RESOURCES_YAML: _as_read_back(resources_data(site))}


def _as_read_back(value):
    """`value` as yamlout writes it and read_generated_yaml reads it: str keys, lists, plain scalars."""
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return value
    if kind is dict:
        return {k if type(k) is str else _key_text(k): _as_read_back(v) for k, v in value.items()}
    if kind is list or kind is tuple:
        return [_as_read_back(v) for v in value]
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, int):  # bool and int subclasses: written as the plain number or word
        return bool(value) if isinstance(value, bool) else int(value)
    return str(value)


def _key_text(key) -> str:
    from dvhpc.emit.yamlout import scalar

    return scalar(key) if key is None or isinstance(key, (bool, int, float)) else str(key)


# ------------------------------------------------------------------------------------ a generated folder

def folder_view(folder: Path) -> View:
    """A generated folder as a diff side; a broken one is a DiffError with its DV403 diagnostic."""
    try:
        data, files = read_folder(folder)
    except BrokenOutput as exc:
        raise DiffError(str(exc), exc.diagnostic) from None
    return View(str(folder), data, files=files)


def _is_rev_spec(side: str) -> bool:
    head, sep, _ = side.partition(":")
    if not sep or not head or os.path.exists(side):
        return False
    if "/" not in head.rstrip("~^0123456789"):
        return True
    try:  # `release/v1:sites/x.yaml`: a revision only if git knows it
        return subprocess.run(["git", "rev-parse", "--verify", "--quiet", f"{head}^{{commit}}"],
                              capture_output=True, timeout=60).returncode == 0
    except FileNotFoundError:
        return False


def _require_git_revision(rev: str) -> None:
    try:
        proc = subprocess.run(["git", "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"], capture_output=True,
                              timeout=60)
    except FileNotFoundError:
        raise DiffError("git is not installed, so a REV:path side cannot be read") from None
    if proc.returncode != 0:
        raise DiffError(f"'{rev}' is not a git revision here (or this is not a git repository)")


def diff_sides(old: str, new: str, report: Report) -> tuple[View, View, list[Change]]:
    old_view, new_view = view_of(old, report), view_of(new, report)
    return old_view, new_view, compare(old_view, new_view)


def drift(site_dir: Path, files: dict, site: Site) -> list[str]:
    """For `compile --check`: what the stale folder means differently from the new output.
    A broken folder raises DiffError with a DV403 diagnostic."""
    if not os.path.lexists(site_dir / MANIFEST_JSON) and not os.path.lexists(site_dir / RESOURCES_YAML):
        return []  # never compiled
    old = folder_view(site_dir)
    new = View("new", emitted_data(site), site=site,
               files={name: f.content for name, f in files.items() if name != MANIFEST_JSON})
    return [printable(f"{c.area}: {change_line(c)}") for c in compare(old, new)]
