"""site_paths.py for a site: named paths, datasets and settings for a Snakefile or any script.

The generated module is the template files `templates/site_paths_head.py` (docstring) and
`templates/site_paths_runtime.py` (the code, standard library only) with a data block between
them: one assignment per name, the spec's values as Python literals (`quoting.py`, i.e. repr).
Nothing from a spec is ever executed or substituted into code; run-time text (`${VAR}`, `$VAR`,
`~`, `{name}`) is expanded by the runtime at call time.
"""

from __future__ import annotations

import functools
from pathlib import Path

from dvhpc import emit
from dvhpc.emit import GeneratedFile
from dvhpc.model.quoting import py
from dvhpc.model.site import RuntimeText, Site

TEMPLATES = Path(__file__).parent / "templates"
PARTS = ("site_paths_head.py", "site_paths_runtime.py")
# What the runtime reads from the data block, in the order the block assigns them.
DATA_NAMES = ("SITE", "_DETECT_ENV", "_DETECT_HOSTNAMES", "_PATHS", "_DATASETS_ROOT", "_MOUNTED", "_SETTINGS",
              "_CONTAINER")
_DATA_INTRO = "# The spec, as data (run-time text is expanded by the code below, at call time).\n"


@functools.cache
def _read(part: str) -> str:
    return (TEMPLATES / part).read_text(encoding="utf-8")


def files(site: Site) -> dict[str, GeneratedFile]:
    return {"site_paths.py": GeneratedFile(render(site))}


def _text(key: str, text: RuntimeText | None) -> str:
    if text is None:  # a resolver bug, never silently dropped
        raise ValueError(f"dvhpc internal error: the resolver gave no value for {key}")
    return text.text


def render(site: Site) -> str:
    return emit.header(site) + _read(PARTS[0]) + "\n" + data_block(site_data(site)) + "\n" + _read(PARTS[1])


def site_data(site: Site) -> dict[str, str]:
    """The spec as the runtime reads it: each name's value as a Python literal (`quoting.py`)."""
    paths = {name: (_text(f"paths.{name}", e.cluster), _text(f"paths.{name}", e.local))
             for name, e in sorted(site.paths.items())}
    mounted = {name: (_text(f"datasets.mounted.{name}", m.path), dict(sorted(m.subsets.items())))
               for name, m in sorted(site.datasets.items())}
    settings = {name: (s.cluster, s.local) for name, s in sorted(site.settings.items())}
    return {
        "SITE": py(site.name),
        "_DETECT_ENV": py(dict(sorted(site.detect.env.items()))),
        "_DETECT_HOSTNAMES": py(list(site.detect.hostnames)),
        "_PATHS": _table(paths),
        "_DATASETS_ROOT": py(site.datasets_root.text if site.datasets_root else None),
        "_MOUNTED": _table(mounted),
        "_SETTINGS": _table(settings),
        "_CONTAINER": py(site.environment.container is not None),
    }


def data_block(literals: dict[str, str]) -> str:
    """One assignment per data name, in DATA_NAMES order; the values are literals made by `quoting.py`."""
    if list(literals) != list(DATA_NAMES):
        raise ValueError(f"dvhpc internal error: site_paths data {list(literals)} is not {list(DATA_NAMES)}")
    return _DATA_INTRO + "".join(f"{name} = {value}\n" for name, value in literals.items())


def stub() -> str:
    """A site_paths.py with empty data (what the tests pyflake as a file)."""
    empty = {"SITE": py(""), "_DETECT_ENV": "{}", "_DETECT_HOSTNAMES": "[]", "_PATHS": "{}",
             "_DATASETS_ROOT": "None", "_MOUNTED": "{}", "_SETTINGS": "{}", "_CONTAINER": "False"}
    return "# (template check: stub data)\n" + _read(PARTS[0]) + "\n" + data_block(empty) + "\n" + _read(PARTS[1])


def _table(entries: dict) -> str:
    """A dict literal with one entry per line (stable order), values as Python literals."""
    if not entries:
        return "{}"
    return "{\n" + "".join(f"    {py(k)}: {py(list(v))},\n" for k, v in entries.items()) + "}"
