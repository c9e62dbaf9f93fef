"""Stage 1, load: read one spec file (YAML or TOML) into plain data plus a position for every
key and value, so later stages can point at the exact place of a problem.

A path is a tuple of keys and list indexes, e.g. ("resources", "rules", "train_model", "mem").
Untrusted input never raises: every problem becomes a diagnostic and the result is None.
"""

from __future__ import annotations

import re
from pathlib import Path

from dvhpc.frontend.document import MAX_DEPTH, Document, Key, PathT, Span, split_lines
from dvhpc.frontend.files import MAX_FILE_BYTES, decode, digest, read_bytes, read_file
from dvhpc.frontend.toml_load import load_toml
from dvhpc.frontend.unsafe_text import MAX_DIGITS
from dvhpc.frontend.yaml_load import load_yaml
from dvhpc.report.diagnostics import Location, Report

# The loader's API; names kept here for the modules that import them from `source`.
__all__ = ["MAX_DEPTH", "MAX_DIGITS", "MAX_FILE_BYTES", "SPEC_KEY", "Document", "Key", "PathT",
           "Span", "is_spec", "load", "load_spec", "load_toml", "load_yaml", "parse", "read_file"]

SPEC_KEY = "dvhpc"  # every spec and layer holds it at its top level (`dvhpc: 1`)


def is_spec(data: object) -> bool:
    """Whether loaded data is a dvhpc spec: a mapping with the `dvhpc` key."""
    return isinstance(data, dict) and SPEC_KEY in data


# A line that starts with the `dvhpc` key (also in a list or a flow mapping): how a spec that does
# not load, or is not a mapping, still shows it is one.
_SPEC_KEY_LINE = re.compile(rb"""^[ \t]*(?:-[ \t]+)*\{?[ \t]*(?:dvhpc|"dvhpc"|'dvhpc')[ \t]*[:=]""", re.M)


def load_spec(
    path: Path, display: str, report: Report, *, origin: Location | None = None, reader=read_file
) -> Document | None:
    """`load` for a file that must be a dvhpc spec (named on the command line or in `extends`).

    A spec names the `dvhpc` key: at its top level, or (when it does not load or is not a
    mapping) at the start of a line. Any other file gets one DV007 and nothing else: its content
    (keys, values, lines) never reaches a diagnostic, so `extends: /etc/shadow` prints no secret."""
    raw = read_bytes(path, display, report, origin=origin, reader=reader)
    if raw is None:
        return None
    tentative = Report()
    doc = parse(raw, path, display, tentative)
    if (doc is not None and is_spec(doc.data)) or _SPEC_KEY_LINE.search(raw):
        report.extend(tentative)
        return doc
    report.add("DV007", f"'{display}' is not a dvhpc spec (its content is not shown)",
               origin or Location(display, 1, 1),
               hint=f"a spec's top level is a mapping that starts with `{SPEC_KEY}: 1`",
               show_source=origin is not None)
    return None


def load(
    path: Path, display: str, report: Report, *, origin: Location | None = None, reader=read_file
) -> Document | None:
    """Read and parse a YAML or TOML file (by its suffix); None after a diagnostic."""
    raw = read_bytes(path, display, report, origin=origin, reader=reader)
    return None if raw is None else parse(raw, path, display, report)


def parse(raw: bytes, path: Path, display: str, report: Report) -> Document | None:
    text = decode(raw, display, report)
    if text is None:
        return None
    doc = load_toml(text, display, report) if path.suffix.lower() == ".toml" else load_yaml(text, display, report)
    if doc is not None:
        doc.sha256 = digest(raw)
    # the source map: snippets quote this text, never the file read again (it may have changed,
    # or be another revision's); a file that turns out not to be a spec is never registered
    report.register(display, doc.lines if doc is not None else split_lines(text))
    return doc

