"""Snakemake's long option names, for validating profile keys without running Snakemake.

A profile key ``k`` becomes ``--k=value`` on Snakemake's argparse command line, and argparse
accepts any *unambiguous prefix* of a long option silently (``latency: 7`` sets
``--latency-wait``). So a key has to be checked the way argparse matches it (Python 3.11
``ArgumentParser._parse_optional``): exact option string first; otherwise every long option
string (aliases count separately) that starts with the key; one match is an abbreviation,
several are an "ambiguous option" error, none is "unrecognized arguments".

Values are checked the way Snakemake reads a profile (``check_value``): ``snakemake/profiles.py``
turns a list into separate argv words (``--rerun-triggers a b``), so an element that begins with
``-`` would be read as an option of its own; a scalar becomes ``--key=value``. Then argparse
applies the option's nargs, type and choices, and Snakemake uses the value: some options run it
(refused), some splice it unquoted into a shell line (a character class), the rest are data that
reach job command lines quoted with ``repr`` (no quotes or shell syntax, so that quoting holds).

The table ``data/snakemake_options.json`` is generated from the pinned Snakemake with both
executor plugins installed (``tools/gen_snakemake_options.py``), with a reviewed class per
option. This module only reads JSON; it never imports snakemake.
"""

from __future__ import annotations

import difflib
import json
import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

# Must equal the "snakemake" field of the table (tests/test_snakemake_options.py checks it).
PINNED_SNAKEMAKE = "9.27.1"

Status = Literal["exact", "abbreviation", "ambiguous", "unknown"]


@dataclass(frozen=True)
class OptionInfo:
    name: str  # long option without "--"
    takes_value: bool  # False for flags (store_true, count, ...)
    plugin: str | None  # external plugin that defines it ("slurm", "cluster-generic", ...), None: Snakemake
    option: str = ""  # the first long name of its argparse action (aliases share it)
    value_class: str = "data"  # reviewed: data, command, mode, shell-word, shell-words
    action: str = "store"  # store, flag, append, help, version
    nargs: int | str | None = None  # argparse nargs; None: exactly one value
    type: str = "str"  # str, int, float, none (flags), custom (a Snakemake parse function)
    choices: tuple[str, ...] | None = None

    @property
    def takes_list(self) -> bool:
        return self.nargs in ("+", "*") or (isinstance(self.nargs, int) and self.nargs > 1) or self.action == "append"


@dataclass(frozen=True)
class OptionCheck:
    """How Snakemake's argparse would treat ``--<key>``.

    - ``exact``: a real option name (``option`` is it).
    - ``abbreviation``: a prefix of exactly one option; argparse would silently use
      ``option`` instead. Write the full name.
    - ``ambiguous``: a prefix of several options (``candidates``); argparse errors out.
    - ``unknown``: no match; ``suggestion`` is the closest option name, if any (for
      ``latency_wait`` it is ``latency-wait``: Snakemake does not accept underscores).
    """

    key: str
    status: Status
    option: str | None = None
    candidates: tuple[str, ...] = ()
    suggestion: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "exact"

    @property
    def info(self) -> OptionInfo | None:
        return options().get(self.option) if self.option else None

    def message(self) -> str:
        k = self.key
        if self.status == "exact":
            return f"'{k}' is a Snakemake {PINNED_SNAKEMAKE} option"
        if self.status == "abbreviation":
            return (f"'{k}' is not an option name but an abbreviation of '{self.option}': "
                    f"Snakemake would silently read it as --{self.option}; write '{self.option}'")
        if self.status == "ambiguous":
            shown = ", ".join(self.candidates[:6]) + (", ..." if len(self.candidates) > 6 else "")
            return f"'{k}' is not an option name; it is a prefix of {len(self.candidates)} options ({shown})"
        hint = f"; did you mean '{self.suggestion}'?" if self.suggestion else ""
        return f"'{k}' is not a Snakemake {PINNED_SNAKEMAKE} option{hint}"


@lru_cache(maxsize=1)
def load() -> Mapping[str, Any]:
    """The generated table: {"snakemake": version, "plugins": {...}, "options": {...}} (read once)."""
    text = (Path(__file__).parent.parent / "data" / "snakemake_options.json").read_text(encoding="utf-8")
    table: dict[str, Any] = json.loads(text)
    return table


@lru_cache(maxsize=1)
def options() -> Mapping[str, OptionInfo]:
    table = load()["options"]
    return MappingProxyType({
        name: OptionInfo(name, bool(entry["takes_value"]), entry.get("plugin"), option=entry["option"],
                         value_class=entry["class"], action=entry["action"], nargs=entry["nargs"],
                         type=entry["type"],
                         choices=tuple(entry["choices"]) if entry["choices"] is not None else None)
        for name, entry in sorted(table.items())
    })


@lru_cache(maxsize=4096)
def lookup(name: str) -> OptionCheck:
    """Check a profile key (or ``--option``) the way Snakemake's argparse would match it."""
    opts = options()
    key = name[2:] if name.startswith("--") else name
    if key in opts:
        return OptionCheck(name, "exact", option=key)
    if key and "=" not in key:
        # argparse splits "--k=v" at "=" and compares the part before it; a key with "=" is odd
        # enough to report as unknown.
        matches = tuple(o for o in opts if o.startswith(key))
        if len(matches) == 1:
            return OptionCheck(name, "abbreviation", option=matches[0])
        if len(matches) > 1:
            return OptionCheck(name, "ambiguous", candidates=matches)
    return OptionCheck(name, "unknown", suggestion=_suggest(key))


def _suggest(key: str) -> str | None:
    opts = options()
    dashed = key.replace("_", "-").lower()
    if dashed != key:
        if dashed in opts:
            return dashed
        matches = [o for o in opts if o.startswith(dashed)]
        if len(matches) == 1:
            return matches[0]
    close = difflib.get_close_matches(dashed, list(opts), n=1, cutoff=0.7)
    return close[0] if close else None


# Snakemake replaces a scalar value by `<profile dir>/value` when that path exists
# (snakemake/profiles.py), so a value naming what dvhpc generates there (or one folder up, in the
# site's folder) would silently change meaning. Further up, what exists depends on the project.
PROFILE_FILES = frozenset({"config.v9+.yaml", "profile.v9+.yaml", "config.v10+.yaml", "profile.v10+.yaml", "status.sh"})
SITE_FILES = frozenset({"profile", "bootstrap.sh", "run.sh", "jobs.sh", "wrap.sh", "resources.yaml",
                        "site_paths.py", "MANIFEST.json"})


def _names_generated_path(text: str) -> bool:
    parts = posixpath.normpath(text).split("/")
    if parts[0] in (".", "..") and len(parts) == 1:
        return True
    return parts[0] in PROFILE_FILES or (parts[0] == ".." and parts[1] in SITE_FILES)

# Data values reach the job's command line as repr(value) (snakemake_interface_executor_plugins
# format_cli_value), or raw when they already look quoted: a quote would end that quoting.
_NOT_DATA = re.compile(r"""[;&|`<>\\\n'"]|\$\(""")
# A value spliced unquoted into a shell line (reviewed class shell-word): one word of these.
_SHELL_WORD = re.compile(r"[A-Za-z0-9_./:,@%+{}][A-Za-z0-9_./:,@%+{}~-]*")
# apptainer-args (shell-words) precede the image and the job's command on the engine's command
# line: every word must be an option, its value attached with "=", or a word could become the
# image or the command to run.
_ENGINE_OPTION = r"--?[A-Za-z0-9][A-Za-z0-9-]*(?:=[A-Za-z0-9_./:=,@%+~{}$-]+)?"
_SHELL_WORDS = re.compile(rf"{_ENGINE_OPTION}(?: +{_ENGINE_OPTION})*")
_CONVERT = {"int": int, "float": float}


@dataclass(frozen=True)
class ValueProblem:
    """A value Snakemake would refuse, misread, run, or hand to a shell unquoted.

    ``index`` is the list element it is about (None: the value as a whole); ``on_key`` places
    it at the option's key (the option itself is refused)."""

    code: str  # DV231 (the option runs its value) or DV343
    message: str
    hint: str
    index: int | None = None
    on_key: bool = False


def _shown(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value)


def _refused_option(name: str, info: OptionInfo, label: str, value: object) -> list[ValueProblem] | None:
    """The problem of an option a profile may not set at all (whatever its value), or None."""
    if info.value_class == "command":
        return [ValueProblem("DV231", f"snakemake option '{name}' runs its value as a command or code; a spec "
                             "cannot set it", f"pass it at run time: run.sh -- --{name} ...", on_key=True)]
    if info.value_class == "mode":
        if value is False or value is None or value == []:
            return []  # switched off: Snakemake runs the workflow as usual
        return [ValueProblem("DV343", f"{label}: --{name} makes Snakemake do that instead of running the "
                             "workflow, on every run of the profile (run.sh included)",
                             f"remove it; for a one-off, pass it at run time: run.sh --foreground -- --{name}",
                             on_key=True)]
    if info.action in ("help", "version"):
        return [ValueProblem("DV343", f"{label}: --{name} makes Snakemake print its {info.action} and exit "
                             "instead of running the workflow", "remove it", on_key=True)]
    return None


def check_value(name: str, value: object) -> list[ValueProblem]:
    """Problems of ``value`` for the real option ``name`` (``lookup(name).status == "exact"``)."""
    info = options()[name]
    label = f"snakemake.options.{name}"
    refused = _refused_option(name, info, label, value)
    if refused is not None:
        return refused
    if info.action == "flag":
        if isinstance(value, bool):
            return []
        return [ValueProblem("DV343", f"{label} is a flag: it takes true or false, not {_shown(value)}",
                             f"write {name}: true")]
    if isinstance(value, list):
        if not info.takes_list:
            return [ValueProblem("DV343", f"{label} takes one value, not a list: Snakemake refuses a list here",
                                 "write a single value")]
        if isinstance(info.nargs, int) and len(value) != info.nargs:
            return [ValueProblem("DV343", f"{label} takes exactly {info.nargs} values, not {len(value)}",
                                 f"write a list of {info.nargs}")]
        if info.nargs == "+" and not value:
            return [ValueProblem("DV343", f"{label} takes at least one value, not an empty list",
                                 "remove the option or give it a value")]
        items: list[tuple[int | None, object]] = list(enumerate(value))
    else:
        if isinstance(info.nargs, int) and info.nargs > 1:
            return [ValueProblem("DV343", f"{label} takes {info.nargs} values: write them as a list",
                                 f"write a list of {info.nargs}")]
        items = [(None, value)]
    problems = []
    for index, item in items:
        problem = _item_problem(info, label if index is None else f"{label}[{index}]", item, index is not None)
        if problem:
            problems.append(ValueProblem("DV343", problem[0], problem[1], index))
    return problems


def _item_problem(info: OptionInfo, label: str, item: object, in_list: bool) -> tuple[str, str] | None:
    """(message, hint) for one value, or None. Mirrors Snakemake: a profile value is str(value)."""
    if isinstance(item, bool):
        return (f"{label} takes a value, not {_shown(item)} (it is not a flag)", "write the value itself")
    if not isinstance(item, (str, int, float)):
        return (f"{label} must be a string or a number, not {type(item).__name__}", "write a plain value")
    text = str(item)
    if text == "":
        return (f"{label} is empty: Snakemake would skip it or read it as the profile's folder",
                "remove the option or give it a value")
    if isinstance(item, str):
        found = _text_problem(info, label, item, in_list)
        if found:
            return found
    convert = _CONVERT.get(info.type)
    if convert is not None:
        try:
            convert(text)  # exactly what argparse does with the profile's string
        except ValueError:
            kind = "an integer" if info.type == "int" else "a number"
            return (f"{label} takes {kind}, not {_shown(item)}: Snakemake would refuse it", f"write {kind}")
    if info.choices is not None and text not in info.choices:
        return (f"{label}: {_shown(item)} is not one of Snakemake's choices ({', '.join(info.choices)})",
                f"write one of: {', '.join(info.choices)}")
    return None


def _text_problem(info: OptionInfo, label: str, text: str, in_list: bool) -> tuple[str, str] | None:
    if info.value_class == "shell-words":
        if not _SHELL_WORDS.fullmatch(text):
            return (f"{label}: {text!r} is spliced unquoted into each job's shell command: only options "
                    "of the container engine are allowed, each word beginning with '-', values attached "
                    "with '=' and made of letters, digits and _ . / : = , @ % + ~ { } $ -",
                    "write e.g. '--nv --bind=/data:/data'")
        return None
    if text.startswith("-"):
        where = "as a separate word of Snakemake's command line" if in_list else "in the job's command line"
        return (f"{label}: {text!r} begins with '-': Snakemake would read it as an option ({where}), "
                "not as a value", "values cannot begin with '-'")
    if info.value_class == "shell-word":
        if not _SHELL_WORD.fullmatch(text):
            return (f"{label}: {text!r} is spliced unquoted into a shell command line: only one word of "
                    "letters, digits and _ . / : , @ % + { } ~ - is allowed", "write a plain word")
        return None
    if _NOT_DATA.search(text):
        return (f"{label}: {text!r} holds quotes or shell syntax; Snakemake passes option values into job "
                "command lines, quoted in a way such characters break", "use plain values (${VAR} references are fine)")
    if not in_list and _names_generated_path(text):
        return (f"{label}: {text!r} names a file dvhpc generates beside the profile: Snakemake would replace "
                f"it by profile/{text}", "use an absolute path, or one that does not begin with '.' or '..'")
    return None
