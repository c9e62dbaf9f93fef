"""Snakemake's long option names, for validating profile keys without running Snakemake.

A profile key ``k`` becomes ``--k=value`` on Snakemake's argparse command line, and argparse
accepts any *unambiguous prefix* of a long option silently (``latency: 7`` sets
``--latency-wait``). So a key has to be checked the way argparse matches it (Python 3.11
``ArgumentParser._parse_optional``): exact option string first; otherwise every long option
string (aliases count separately) that starts with the key; one match is an abbreviation,
several are an "ambiguous option" error, none is "unrecognized arguments".

The table ``data/snakemake_options.json`` is generated from the pinned Snakemake with both
executor plugins installed (``tools/gen_snakemake_options.py``). This module only reads JSON;
it never imports snakemake.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Literal, Mapping

# Must equal the "snakemake" field of the table (tests/test_snakemake_options.py checks it).
PINNED_SNAKEMAKE = "9.27.1"

Status = Literal["exact", "abbreviation", "ambiguous", "unknown"]


@dataclass(frozen=True)
class OptionInfo:
    name: str  # long option without "--"
    takes_value: bool  # False for flags (store_true, count, ...)
    plugin: str | None  # external plugin that defines it ("slurm", "cluster-generic", ...), None: Snakemake


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
def load() -> Mapping:
    """The generated table: {"snakemake": version, "plugins": {...}, "options": {...}} (read once)."""
    text = (Path(__file__).parent / "data" / "snakemake_options.json").read_text(encoding="utf-8")
    return json.loads(text)


@lru_cache(maxsize=1)
def options() -> Mapping[str, OptionInfo]:
    table = load()["options"]
    return MappingProxyType({
        name: OptionInfo(name, bool(entry["takes_value"]), entry.get("plugin"))
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
