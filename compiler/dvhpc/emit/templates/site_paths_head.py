"""Paths, datasets and settings of one site (SITE), resolved at call time.

    from site_paths import paths, path, data_base_dir, setting, on_cluster

    paths.data                      # the 'data' path for where this runs (cluster or local)
    path("models")                  # the same, by name
    data_base_dir("imagenet", "test")
    setting("batch_size")

Every path is returned as a string. `${VAR}`, `$VAR`, a leading `~` (the current user's home)
and `{other_name}` are expanded at each call, for the current environment; a variable that is
not set (or empty) raises SitePathError naming it. `on_cluster()` decides between the cluster
and local values: DVHPC_ON_CLUSTER=1 or 0 overrides the detection.

Standard library only. Run `python site_paths.py` for a summary.
"""

from __future__ import annotations
