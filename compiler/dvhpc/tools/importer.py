"""`dvhpc import` (the implementation is the `dvhpc.tools.importing` package; this name stays for callers)."""

from __future__ import annotations

from dvhpc.tools.importing import Imported, find_profile, import_profile
from dvhpc.tools.importing.convert import PLUGIN_NAMES as ALIASES
from dvhpc.tools.importing.template import FLAG_KEYS

# an sbatch option of a submit template (without dashes) -> the spec key name it sets
TEMPLATE_FLAGS = {flag: key.name for flag, key in FLAG_KEYS.items()}
TEMPLATE_FLAGS.update({flag.lstrip("-"): key.name for key in {k for k in FLAG_KEYS.values()}
                       for flag in (key.sbatch_short,) if flag})

__all__ = ["ALIASES", "TEMPLATE_FLAGS", "Imported", "find_profile", "import_profile"]
