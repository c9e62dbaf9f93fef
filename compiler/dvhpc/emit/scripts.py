"""Shell scripts of a site: bootstrap.sh, run.sh, jobs.sh, wrap.sh (with a container) and the
cluster-generic status script, each a data block followed by template files verbatim.

A generated script is the shebang and the generated-by header, then the spec's values as a data
block of shell assignments, then the template files of `dvhpc/emit/templates/` unchanged. The
templates are fixed code that reads the data at run time (a step the spec does not ask for is
skipped there); no spec value is ever substituted into them. In the data block every value is one
word quoted by `quoting.sh`: a list is an array, a value that may be not set is an array of none
or one, a switch is 0 or 1. Run-time text (`${VAR}`, `$VAR`, a leading `~`) stays unexpanded in
the data; the template's `_dvhpc_expand` (templates/runtime_text.sh) expands it where it is used,
after naming each variable that is not set. Names written bare (`export NAME=`, `${!name}`) and
module names (Lmod re-reads them) are checked against `quoting.VALUE_CLASSES` here and again by
the templates. Because only the data differs between specs, `dvhpc lint` shellchecks each template
shape once (`checks`): the data block of a real spec is quoted by construction.

The scripts are bash (4.2 or later, as on older clusters): no `${var@Q}`, no namerefs.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from dvhpc import emit
from dvhpc.emit import GeneratedFile
from dvhpc.model import versions
from dvhpc.model.quoting import in_class, runtime_vars, sh
from dvhpc.model.site import RuntimeText, Site

TEMPLATES = Path(__file__).parent / "templates"

# Executor plugin name -> (python module, pip package).
PLUGINS = {
    "slurm": ("snakemake_executor_plugin_slurm", "snakemake-executor-plugin-slurm"),
    "cluster-generic": ("snakemake_executor_plugin_cluster_generic", "snakemake-executor-plugin-cluster-generic"),
}

# The kinds of data a template reads: one word, a list (an array; also a value that may be not
# set), a switch (0 or 1).
WORD, LIST, SWITCH = "word", "list", "switch"
_DATA_NAME = re.compile(r"_dvhpc_[a-z0-9_]+\Z")


@dataclass(frozen=True, eq=False)
class Template:
    """One generated script: the template files it is made of, and the data they read from a site."""

    output: str  # path in the site's output folder
    parts: tuple[str, ...]  # files in templates/, in order
    data: Callable[[Site], dict[str, object]]
    fields: dict[str, str]  # data variable -> WORD, LIST or SWITCH

    def code(self) -> str:
        return "\n".join(_read(part) for part in self.parts)

    def render(self, site: Site, data: dict[str, object]) -> str:
        return _SHEBANG + emit.header(site) + data_block(self.fields, data) + "\n" + self.code()

    def stub(self) -> str:
        """The script with stub data: what shellcheck checks, the same for every spec."""
        return _stub(self)


_SHEBANG = "#!/usr/bin/env bash\n"
_DATA_INTRO = (
    "\n# The spec's values, as data: each one quoted shell word. Run-time text is kept as written\n"
    "# (its ${VAR} and leading ~ expand where the code below uses it: single quotes on purpose).\n"
    "# shellcheck disable=SC2016,SC2088\n{\n"
)
_DATA_END = "}\n"
_STUB_HEADER = "# (template check: the spec's values below are stubs)\n#\n"


@functools.cache
def _read(part: str) -> str:
    return (TEMPLATES / part).read_text(encoding="utf-8")


@functools.cache
def _stub(template: Template) -> str:
    return _SHEBANG + _STUB_HEADER + data_block(template.fields, _stub_data(template)) + "\n" + template.code()


def _stub_data(template: Template) -> dict[str, object]:
    return {name: {WORD: "", LIST: [], SWITCH: False}[kind] for name, kind in template.fields.items()}


def data_block(fields: dict[str, str], data: dict[str, object]) -> str:
    """Shell assignments of `data`, one per declared field, every value quoted by `quoting.sh`."""
    if set(fields) != set(data):
        raise ValueError(f"dvhpc internal error: template data {sorted(data)} is not {sorted(fields)}")
    lines = [_DATA_INTRO]
    for name, kind in fields.items():
        if not _DATA_NAME.match(name):
            raise ValueError(f"dvhpc internal error: {name!r} is not a template data name")
        value = data[name]
        if kind == LIST:
            assert isinstance(value, (list, tuple)), name
            lines.append(f"  {name}=(" + " ".join(sh(item) for item in value) + ")\n")
        elif kind == SWITCH:
            assert isinstance(value, bool), name
            lines.append(f"  {name}={int(value)}\n")
        else:
            assert isinstance(value, str), name
            lines.append(f"  {name}={sh(value)}\n")
    return "".join(lines) + _DATA_END


def _templates(site: Site) -> list[Template]:
    """The scripts this site gets: wrap.sh only with a container, status.sh only for cluster-generic."""
    chosen = [BOOTSTRAP, JOBS, RUN]
    if site.environment.container is not None:
        chosen.append(WRAP)
    if _executor(site) == "cluster-generic":
        chosen.append(STATUS)
    return chosen


def files(site: Site) -> dict[str, GeneratedFile]:
    """bootstrap.sh, jobs.sh, run.sh and wrap.sh (the profile's status.sh comes with the profile)."""
    return {t.output: GeneratedFile(t.render(site, t.data(site)), executable=True)
            for t in _templates(site) if t is not STATUS}


def status_script(site: Site) -> GeneratedFile:
    """profile/status.sh: the job status command of the cluster-generic executor."""
    return GeneratedFile(STATUS.render(site, STATUS.data(site)), executable=True)


@dataclass(frozen=True)
class ScriptCheck:
    """What shellcheck checks for one generated script: its template with stub data, and how far
    the lines of the template sit further down in the real file (a value may span lines)."""

    text: str
    line_shift: int


def shapes() -> dict[str, str]:
    """Every template shape (the script with stub data) by path in the output folder: the texts `dvhpc lint`
    shellchecks. No spec changes them, so lint checks them while it checks the specs."""
    return {template.output: template.stub() for template in ALL}


def outputs(site: Site) -> list[str]:
    """The scripts this site gets (paths in its output folder), without building their data."""
    return [template.output for template in _templates(site)]


def line_shift(site: Site, output: str) -> int:
    """How far the template lines of `output` sit further down in the site's real file than in its shape."""
    return _line_shift(site, next(t for t in _templates(site) if t.output == output))


def _line_shift(site: Site, template: Template) -> int:
    # a data block has a line per field in both, plus the line breaks inside values (none in a stub)
    data = template.data(site)  # also checks the values' classes, as compile does
    header_lines = emit.header(site).count("\n") - _STUB_HEADER.count("\n")
    breaks = 0
    for value in data.values():
        if isinstance(value, str):
            breaks += value.count("\n")
        elif isinstance(value, (list, tuple)):
            breaks += sum(str(item).count("\n") for item in value)
    return header_lines + breaks


def checks(site: Site) -> dict[str, ScriptCheck]:
    """Every script of the site as shellcheck needs to see it: its template shape and line shift."""
    return {t.output: ScriptCheck(t.stub(), _line_shift(site, t)) for t in _templates(site)}


# ---------------------------------------------------------------------------------------- the data


def _executor(site: Site) -> str:
    executor = site.snakemake.executor
    return str(getattr(executor, "value", executor))


def _present(key: str, text: RuntimeText | None) -> str:
    """A run-time text the model must have; None here is a resolver bug, never silently dropped."""
    if text is None:
        raise ValueError(f"dvhpc internal error: the resolver gave no value for {key}")
    return text.text


def _optional(text: RuntimeText | None) -> list[str]:
    return [] if text is None else [text.text]


def _variable_order(variables: dict[str, RuntimeText]) -> list[str]:
    """Export order: a variable that refers to another spec variable comes after it (else by name)."""
    order: list[str] = []
    pending = sorted(variables)
    while pending:
        for name in pending:
            needs = {v for v in runtime_vars(variables[name].text) if v in variables and v != name}
            if needs <= set(order):
                break
        else:  # a cycle: keep name order, the run-time check reports what is unset
            name = pending[0]
        order.append(name)
        pending.remove(name)
    return order


def _bootstrap_data(site: Site) -> dict[str, object]:
    env = site.environment
    pip_spec = "snakemake" + (env.require_snakemake.replace(" ", "") if env.require_snakemake else "")
    if env.require_snakemake and env.require_snakemake.strip()[0].isdigit():
        pip_spec = "snakemake==" + env.require_snakemake.strip()
    plugins = sorted(set(env.require_plugins) | {_executor(site)})
    order = _variable_order(env.variables)
    return {
        "_dvhpc_env_site": site.name,
        "_dvhpc_env_module_purge": bool(env.module_purge),
        "_dvhpc_env_module_use": [_present(f"environment.modules.use[{i}]", t) for i, t in enumerate(env.module_use)],
        # Lmod re-reads a module name as shell code it writes
        "_dvhpc_env_module_load": [in_class("module", n, "environment.modules.load") for n in env.module_load],
        "_dvhpc_env_conda": _optional(env.conda),
        "_dvhpc_env_venv": _optional(env.venv),
        "_dvhpc_env_variable_names": [in_class("envvar", n, "environment.variables") for n in order],
        "_dvhpc_env_variable_values": [env.variables[n].text for n in order],
        "_dvhpc_env_require_python": [env.require_python] if env.require_python else [],
        # the declared range, else the versions dvhpc verifies (the profile's forms hold there)
        "_dvhpc_env_require_snakemake": [env.require_snakemake or versions.DEFAULT_RANGE],
        "_dvhpc_env_pip_snakemake": pip_spec,
        "_dvhpc_env_plugins": plugins,
        "_dvhpc_env_plugin_modules": [PLUGINS[p][0] for p in plugins],
        "_dvhpc_env_plugin_packages": [PLUGINS[p][1] for p in plugins],
        "_dvhpc_env_plugin_ranges": [versions.PLUGIN_RANGES[p] for p in plugins],
        "_dvhpc_env_slurm_commands": ["sbatch", "squeue"] + (["sacct"] if site.accounting else []),
    }


def _run_data(site: Site) -> dict[str, object]:
    return {
        "_dvhpc_site": site.name,
        "_dvhpc_executor": _executor(site),
        "_dvhpc_workdir": _optional(site.environment.workdir),
        "_dvhpc_logdir": _present("snakemake.logdir", site.snakemake.logdir),
        "_dvhpc_snakefile": _optional(site.snakemake.snakefile),
        "_dvhpc_run_logdir": _present("snakemake.run_logdir", site.snakemake.run_logdir),
        "_dvhpc_unlock_first": bool(site.snakemake.unlock_first),
    }


def _partition_lines(site: Site) -> list[str]:
    if not site.partitions:
        return []
    rows = [("partition", "max_time", "cpus", "mem", "nodes", "gpus")]
    for p in site.partitions.values():
        rows.append((
            p.name + (" (default)" if p.default else ""),
            str(p.max_time) if p.max_time else "-",
            str(p.cpus) if p.cpus is not None else "-",
            str(p.mem) if p.mem else "-",
            str(p.nodes) if p.nodes is not None else "-",
            ",".join(f"{k}:{v}" for k, v in p.gpus.items()) or "-",
        ))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]


def _jobs_data(site: Site) -> dict[str, object]:
    return {
        "_dvhpc_site": site.name,
        "_dvhpc_accounting": bool(site.accounting),
        "_dvhpc_workdir": _optional(site.environment.workdir),
        "_dvhpc_snakefile": _optional(site.snakemake.snakefile),
        "_dvhpc_logdir": _present("snakemake.logdir", site.snakemake.logdir),
        "_dvhpc_partition_lines": _partition_lines(site),
    }


def _wrap_data(site: Site) -> dict[str, object]:
    c = site.environment.container
    assert c is not None
    return {
        "_dvhpc_engine": c.engine,
        "_dvhpc_image": _present("environment.container.image", c.image),
        "_dvhpc_overlays": [_present(f"environment.container.overlays[{i}]", t) for i, t in enumerate(c.overlays)],
        "_dvhpc_binds": [_present(f"environment.container.binds[{i}]", t) for i, t in enumerate(c.binds)],
        "_dvhpc_gpu": bool(c.gpu),
        "_dvhpc_container_conda": _optional(c.conda),
        # each name goes through ${!name}, which would evaluate an index such as a[$(cmd)]
        "_dvhpc_pass_env": [in_class("envvar_pattern", n, "environment.container.pass_env") for n in c.pass_env],
        "_dvhpc_conda_root": _optional(c.conda_root),
        "_dvhpc_unset": [in_class("envvar", n, "environment.container.unset") for n in c.unset],
        "_dvhpc_default_names": [in_class("envvar", n, "environment.container.defaults") for n in c.defaults],
        "_dvhpc_default_values": [c.defaults[n].text for n in c.defaults],
    }


def _status_data(site: Site) -> dict[str, object]:
    return {"_dvhpc_accounting": bool(site.accounting)}



# ---------------------------------------------------------------------------------------- the templates

BOOTSTRAP = Template("bootstrap.sh", ("runtime_text.sh", "versions.sh", "bootstrap.sh"), _bootstrap_data, {
    "_dvhpc_env_site": WORD,
    "_dvhpc_env_module_purge": SWITCH,
    "_dvhpc_env_module_use": LIST,  # run-time text
    "_dvhpc_env_module_load": LIST,
    "_dvhpc_env_conda": LIST,  # none or one run-time text
    "_dvhpc_env_venv": LIST,  # none or one run-time text
    "_dvhpc_env_variable_names": LIST,  # in export order
    "_dvhpc_env_variable_values": LIST,  # run-time text, one per name
    "_dvhpc_env_require_python": LIST,  # none or one version specifier
    "_dvhpc_env_require_snakemake": LIST,  # none or one version specifier
    "_dvhpc_env_pip_snakemake": WORD,  # what to pip install
    "_dvhpc_env_plugins": LIST,
    "_dvhpc_env_plugin_modules": LIST,  # one per plugin
    "_dvhpc_env_plugin_packages": LIST,  # one per plugin
    "_dvhpc_env_plugin_ranges": LIST,  # one per plugin: the versions dvhpc verified
    "_dvhpc_env_slurm_commands": LIST,
})
RUN = Template("run.sh", ("runtime_text.sh", "workdir.sh", "workflow.sh", "stale.sh", "run.sh"), _run_data, {
    "_dvhpc_site": WORD,
    "_dvhpc_executor": WORD,
    "_dvhpc_workdir": LIST,  # none or one run-time text
    "_dvhpc_logdir": WORD,  # run-time text
    "_dvhpc_snakefile": LIST,  # none or one run-time text
    "_dvhpc_run_logdir": WORD,  # run-time text
    "_dvhpc_unlock_first": SWITCH,
})
JOBS = Template("jobs.sh", ("runtime_text.sh", "workdir.sh", "jobs.sh"), _jobs_data, {
    "_dvhpc_site": WORD,
    "_dvhpc_accounting": SWITCH,
    "_dvhpc_workdir": LIST,
    "_dvhpc_snakefile": LIST,  # none or one run-time text
    "_dvhpc_logdir": WORD,
    "_dvhpc_partition_lines": LIST,  # the spec's partitions as a table, one line each
})
WRAP = Template("wrap.sh", ("runtime_text.sh", "wrap.sh"), _wrap_data, {
    "_dvhpc_engine": WORD,
    "_dvhpc_image": WORD,  # run-time text
    "_dvhpc_overlays": LIST,  # run-time text
    "_dvhpc_binds": LIST,  # run-time text
    "_dvhpc_gpu": SWITCH,
    "_dvhpc_container_conda": LIST,  # none or one run-time text
    "_dvhpc_pass_env": LIST,  # names and NAME* patterns
    "_dvhpc_conda_root": LIST,  # none or one run-time text
    "_dvhpc_unset": LIST,
    "_dvhpc_default_names": LIST,
    "_dvhpc_default_values": LIST,  # run-time text, one per name
})
STATUS = Template("profile/status.sh", ("status.sh",), _status_data, {"_dvhpc_accounting": SWITCH})
ALL = (BOOTSTRAP, RUN, JOBS, WRAP, STATUS)
