"""Paths, datasets and settings of one site (SITE), resolved at call time.

    import site_paths
    from site_paths import paths, path, data_base_dir, setting, on_cluster, in_job

    paths.data / "raw"              # the 'data' path for where this runs (cluster or local), a Path
    path("models")                  # the same, by name
    data_base_dir("imagenet", "test")
    setting("batch_size")

Every path is a pathlib.Path. `${VAR}`, `$VAR`, a leading `~` (the current user's home) and
`{other_name}` are expanded at each call, for the current environment; a variable that is not
set (or empty) raises SitePathError naming it.

Two questions, answered separately:
- on_cluster(): is this machine part of the site's cluster (login nodes included)? It decides
  between the cluster and local values. From the spec's `detect`; DVHPC_ON_CLUSTER=1 or 0 overrides.
- in_job(): does this run inside a scheduler's batch job (SLURM_JOB_ID, PBS_JOBID, LSB_JOBID, ...)?
  job_wrapper() wraps only there. DVHPC_IN_JOB=1 or 0 overrides.

Standard library only. Run `python site_paths.py` for a summary.
"""

from __future__ import annotations
