# site_paths runtime: the code of every generated site_paths.py, after the data block the compiler
# writes (SITE, _DETECT_ENV, _DETECT_HOSTNAMES, _PATHS, _DATASETS_ROOT, _MOUNTED, _SETTINGS,
# _CONTAINER: Python literals). Standard library only.

import fnmatch
import functools
import os
import re
import socket
import sys
from pathlib import Path

__all__ = [
    "SITE",
    "SitePathError",
    "data_base_dir",
    "in_job",
    "job_wrapper",
    "on_cluster",
    "path",
    "paths",
    "setting",
]

_TOKEN = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)|\{([A-Za-z_][A-Za-z0-9_]*)\}")
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")
# Set (non-empty) inside a batch job of these schedulers: SLURM, PBS/Torque, LSF, Flux; SGE/UGE's
# JOB_ID is too generic a name alone and counts only together with SGE_TASK_ID.
_JOB_VARIABLES = ("SLURM_JOB_ID", "SLURM_JOBID", "PBS_JOBID", "LSB_JOBID", "FLUX_JOB_ID")
_JOB_VARIABLES_TOGETHER = ("JOB_ID", "SGE_TASK_ID")


class SitePathError(LookupError):
    """A path, dataset or setting that cannot be resolved here (unknown name, unset variable)."""


# ------------------------------------------------------------------------------ where am I?


@functools.lru_cache(maxsize=None)
def _fqdn() -> str:
    try:
        return socket.getfqdn()
    except OSError:
        return ""


def _host_matches() -> bool:
    if not _DETECT_HOSTNAMES:
        return False
    try:
        name = socket.gethostname()
    except OSError:
        name = ""
    names = [n.lower() for n in (name, name.split(".")[0]) if n]
    patterns = [p.lower() for p in _DETECT_HOSTNAMES]
    if any(fnmatch.fnmatchcase(n, p) for n in names for p in patterns):
        return True
    fqdn = _fqdn().lower()  # may ask DNS: only when the plain names did not match
    return bool(fqdn) and any(fnmatch.fnmatchcase(fqdn, p) for p in patterns)


def _override(name):
    """True/False when the environment variable `name` forces the answer, None when it is unset or empty."""
    value = os.environ.get(name, "").strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    if value:
        raise SitePathError("%s must be 1 or 0, not %r" % (name, os.environ[name]))
    return None


def on_cluster() -> bool:
    """True on a machine of this site's cluster, login nodes included: any `detect` entry matches
    (env first, then host names).

    DVHPC_ON_CLUSTER=1 (or true/yes) forces True, DVHPC_ON_CLUSTER=0 (or false/no) forces False.
    """
    forced = _override("DVHPC_ON_CLUSTER")
    if forced is not None:
        return forced
    for name, pattern in _DETECT_ENV.items():
        value = os.environ.get(name)
        if value is not None and (pattern == "*" or fnmatch.fnmatchcase(value, pattern)):
            return True
    return _host_matches()


def in_job() -> bool:
    """True inside a batch job of a scheduler (SLURM_JOB_ID, PBS_JOBID, LSB_JOBID, ... set and not empty),
    on any machine; False on a login node or a laptop. Independent of `detect` and on_cluster().

    DVHPC_IN_JOB=1 (or true/yes) forces True, DVHPC_IN_JOB=0 (or false/no) forces False.
    """
    forced = _override("DVHPC_IN_JOB")
    if forced is not None:
        return forced
    if any(os.environ.get(name) for name in _JOB_VARIABLES):
        return True
    return all(os.environ.get(name) for name in _JOB_VARIABLES_TOGETHER)


def _where(cluster):
    return on_cluster() if cluster is None else bool(cluster)


# ------------------------------------------------------------------------------ expansion


def _expand(text, what, cluster, seen):
    """Expand a leading ~, ${VAR}/$VAR and {name} in one pass; values that come in are not re-read."""
    if text == "~" or text.startswith("~/"):
        home = os.path.expanduser("~")
        if home == "~" or not home:
            raise SitePathError("%s: cannot expand '~' (no home folder: HOME is not set)" % what)
        text = home + text[1:]

    def replace(match):
        var = match.group(1) or match.group(2)
        if var:
            value = os.environ.get(var)
            if not value:
                raise SitePathError("%s: environment variable $%s is not set (or empty); it is needed by %r"
                                    % (what, var, text))
            return value
        return _resolve(match.group(3), cluster, seen + (what,))

    return _TOKEN.sub(replace, text)


def _resolve(name, cluster, seen=()):
    if name not in _PATHS:
        known = ", ".join(sorted(_PATHS)) or "none"
        raise SitePathError("unknown path %r (known paths: %s)" % (name, known))
    what = "path %r (%s)" % (name, "cluster" if cluster else "local")
    if what in seen:
        raise SitePathError("paths refer to each other in a cycle: %s" % " -> ".join(seen + (what,)))
    return _expand(_PATHS[name][0 if cluster else 1], what, cluster, seen)


def path(name: str, cluster: bool | None = None) -> Path:
    """The named path for the current environment (or `cluster=True/False`), as a pathlib.Path."""
    return Path(_resolve(name, _where(cluster)))


class _Paths:
    """`paths.NAME` is `path("NAME")` (a pathlib.Path), resolved at each access: `paths.data / "raw"`."""

    __slots__ = ()

    def __getattr__(self, name):
        if name.startswith("__") or name not in _PATHS:
            raise AttributeError("site %r has no path %r (known paths: %s)"
                                 % (SITE, name, ", ".join(sorted(_PATHS)) or "none"))
        return path(name)

    def __dir__(self):
        return sorted(_PATHS)

    def __iter__(self):
        return iter(sorted(_PATHS))

    def __contains__(self, name):
        return name in _PATHS

    def __repr__(self):
        return "<paths of site %r: %s>" % (SITE, ", ".join(sorted(_PATHS)))


paths = _Paths()


# ------------------------------------------------------------------------------ datasets, settings


def _join(base, part):
    return base.rstrip("/") + "/" + part if base.rstrip("/") else "/" + part


def data_base_dir(name: str, subset: str | None = None, cluster: bool | None = None) -> Path:
    """Where dataset `name` (optionally its `subset`) lives, as a pathlib.Path.

    On the cluster a mounted dataset is `<mount>/<subset alias or subset>`; otherwise
    `<datasets.root>/<name>[/<subset>]`.
    """
    if not isinstance(name, str) or not name:
        raise SitePathError("data_base_dir needs a dataset name, not %r" % (name,))
    if subset is not None and (not isinstance(subset, str) or not subset):
        raise SitePathError("data_base_dir: subset must be a non-empty string or None, not %r" % (subset,))
    here = _where(cluster)
    if here and name in _MOUNTED:
        mount, aliases = _MOUNTED[name]
        base = _expand(mount, "datasets.mounted.%s" % name, here, ())
        return Path(base if subset is None else _join(base, aliases.get(subset, subset)))
    if _DATASETS_ROOT is None:
        if name in _MOUNTED:
            raise SitePathError("dataset %r is mounted on the cluster only, and the spec of site %r has no "
                                "datasets.root for other places" % (name, SITE))
        raise SitePathError("dataset %r is not mounted and the spec of site %r has no datasets.root" % (name, SITE))
    base = _join(_expand(_DATASETS_ROOT, "datasets.root", here, ()), name)
    return Path(base if subset is None else _join(base, subset))


def setting(name: str, cluster: bool | None = None):
    """The value of setting `name` for the current environment (or `cluster=True/False`)."""
    if name not in _SETTINGS:
        known = ", ".join(sorted(_SETTINGS)) or "none"
        raise SitePathError("unknown setting %r (known settings: %s)" % (name, known))
    return _SETTINGS[name][0 if _where(cluster) else 1]


def job_wrapper() -> str:
    """The absolute path of wrap.sh when the site runs jobs in a container and this is a job on the
    site's cluster (on_cluster() and in_job()), else "": rules that run on the login node (localrules,
    the main Snakemake process) are not wrapped.

    A string for a command line (not a Path): quote it (shlex.quote) when you build a shell command from it.
    """
    if not _CONTAINER or not on_cluster() or not in_job():
        return ""
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), "wrap.sh")


# ------------------------------------------------------------------------------ summary


def _summary(out=sys.stdout):
    here = on_cluster()
    out.write("site: %s\n" % SITE)
    out.write("on_cluster: %s\n" % here)
    out.write("in_job: %s\n" % in_job())
    out.write("paths:\n")
    for name in sorted(_PATHS):
        try:
            value = path(name)
        except SitePathError as exc:
            value = "error: %s" % exc
        out.write("  %s: %s\n" % (name, value))
    out.write("datasets:\n")
    try:
        root = _expand(_DATASETS_ROOT, "datasets.root", here, ()) if _DATASETS_ROOT is not None else "(none)"
    except SitePathError as exc:
        root = "error: %s" % exc
    out.write("  root: %s\n" % root)
    for name in sorted(_MOUNTED):
        try:
            value = data_base_dir(name)
        except SitePathError as exc:
            value = "error: %s" % exc
        out.write("  %s: %s\n" % (name, value))
    out.write("settings:\n")
    for name in sorted(_SETTINGS):
        out.write("  %s: %r\n" % (name, setting(name)))
    out.write("job_wrapper: %s\n" % (job_wrapper() or "(none)"))


if __name__ == "__main__":
    try:
        _summary()
    except SitePathError as exc:
        sys.stderr.write("site_paths: %s\n" % exc)
        sys.exit(1)
