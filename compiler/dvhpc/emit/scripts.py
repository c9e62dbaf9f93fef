"""Shell scripts for a site: bootstrap.sh, run.sh, jobs.sh and (with a container) wrap.sh.

Every spec value reaches the scripts through `quoting.sh` (literal) or `quoting.sh_runtime`
(run-time text: `${VAR}`, `$VAR` and a leading `~` stay live, everything else is inert). Values
that need environment variables are guarded: the script checks each variable is set (and not
empty) and names the spec key that needs it, instead of silently using an empty string. Names
written bare (`export NAME=`, `${!name}`) and module names (Lmod re-reads them) are checked against
`quoting.VALUE_CLASSES`, the classes the schema enforces. A value that a program would read as an
option (leading `-`) follows `--` where the program takes it (cd, mkdir, source, tail); the
resolver refuses it (DV234) where it does not (module, conda activate, apptainer exec).

The scripts are bash (4.2 or later, as on older clusters): no `set -u` over empty arrays, no
`${var@Q}`, no namerefs.
"""

from __future__ import annotations

import re

from dvhpc import emit
from dvhpc.emit import GeneratedFile
from dvhpc.model.site import RuntimeText, Site
from dvhpc.model.quoting import in_class, runtime_vars, sh, sh_runtime

# Executor plugin name -> (python module, pip package).
PLUGINS = {
    "slurm": ("snakemake_executor_plugin_slurm", "snakemake-executor-plugin-slurm"),
    "cluster-generic": ("snakemake_executor_plugin_cluster_generic", "snakemake-executor-plugin-cluster-generic"),
}


def files(site: Site) -> dict[str, GeneratedFile]:
    result = {
        "bootstrap.sh": GeneratedFile(bootstrap(site), executable=True),
        "jobs.sh": GeneratedFile(jobs(site), executable=True),
        "run.sh": GeneratedFile(run(site), executable=True),
    }
    if site.environment.container is not None:
        result["wrap.sh"] = GeneratedFile(wrap(site), executable=True)
    return result


# ---------------------------------------------------------------------------------------- helpers


def _start(site: Site) -> str:
    return "#!/usr/bin/env bash\n" + emit.header(site)


def _vars_helper(name: str, who: str) -> str:
    """A shell function `NAME KEY VAR...`: true when every VAR is set and not empty."""
    return f"""\
# {name} KEY VAR...: true when every VAR is set and not empty; otherwise says which spec KEY needs it.
{name}() {{
  local _dvhpc_key=$1 _dvhpc_var _dvhpc_ok=0
  shift
  for _dvhpc_var in "$@"; do
    if [[ -z "${{!_dvhpc_var:-}}" ]]; then
      printf '%s\\n' "{who}: $_dvhpc_key needs \\${{$_dvhpc_var}}, which is not set (or empty); set it first (e.g. in ~/.bashrc)" >&2
      _dvhpc_ok=1
    fi
  done
  return "$_dvhpc_ok"
}}
"""


def _with_helpers(script: str, helpers: dict[str, str]) -> str:
    """Put the helper functions the script uses (directly or through another helper) at @@HELPERS@@.

    Unused functions are left out: shellcheck reports them as unreachable code.
    """
    needed: set[str] = set()
    text = script
    while True:
        # the substring test first: a regex per helper over the whole script was most of emitting it
        new = {name for name in helpers
               if name not in needed and name in text and re.search(rf"\b{re.escape(name)}\b", text)}
        if not new:
            break
        needed |= new
        text += "".join(helpers[name] for name in new)
    block = "".join(helpers[name] + "\n" for name in helpers if name in needed)
    return script.replace("@@HELPERS@@\n", block).replace("@@UNSET@@", " ".join(
        name for name in helpers if name in needed))


def _guard(helper: str, key: str, text: RuntimeText) -> str | None:
    """The shell condition that checks the variables `text` needs, or None if it needs none."""
    names = runtime_vars(text.text)
    if not names:
        return None
    return " ".join([helper, sh(key)] + [sh(n) for n in names])


def _present(key: str, text: RuntimeText | None) -> RuntimeText:
    """A run-time text the model must have; None here is a resolver bug, never silently dropped."""
    if text is None:
        raise ValueError(f"dvhpc internal error: the resolver gave no value for {key}")
    return text


def _indent(text: str, spaces: int) -> str:
    pad = " " * spaces
    return "".join(pad + line if line.strip() else line for line in text.splitlines(keepends=True))


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


# ---------------------------------------------------------------------------------------- bootstrap

_VERSION_HELPERS = {
    "_dvhpc_vercmp": r"""# _dvhpc_vercmp A B: prints -1, 0 or 1 comparing dotted versions (missing parts count as 0).
_dvhpc_vercmp() {
  local -a _dvhpc_a _dvhpc_b
  local _dvhpc_i _dvhpc_n _dvhpc_x _dvhpc_y
  IFS=. read -r -a _dvhpc_a <<<"$1"
  IFS=. read -r -a _dvhpc_b <<<"$2"
  _dvhpc_n=${#_dvhpc_a[@]}
  if (( ${#_dvhpc_b[@]} > _dvhpc_n )); then _dvhpc_n=${#_dvhpc_b[@]}; fi
  for (( _dvhpc_i = 0; _dvhpc_i < _dvhpc_n; _dvhpc_i++ )); do
    _dvhpc_x=$(( 10#${_dvhpc_a[_dvhpc_i]:-0} ))
    _dvhpc_y=$(( 10#${_dvhpc_b[_dvhpc_i]:-0} ))
    if (( _dvhpc_x < _dvhpc_y )); then echo -1; return 0; fi
    if (( _dvhpc_x > _dvhpc_y )); then echo 1; return 0; fi
  done
  echo 0
}
""",
    "_dvhpc_prefix_eq": r"""# _dvhpc_prefix_eq VERSION WANT: true when VERSION starts with WANT's parts (3.11.4 matches 3.11).
_dvhpc_prefix_eq() {
  local -a _dvhpc_v _dvhpc_w
  local _dvhpc_i
  IFS=. read -r -a _dvhpc_v <<<"$1"
  IFS=. read -r -a _dvhpc_w <<<"$2"
  for (( _dvhpc_i = 0; _dvhpc_i < ${#_dvhpc_w[@]}; _dvhpc_i++ )); do
    if (( 10#${_dvhpc_v[_dvhpc_i]:-0} != 10#${_dvhpc_w[_dvhpc_i]} )); then return 1; fi
  done
  return 0
}
""",
    "_dvhpc_version_ok": r"""# _dvhpc_version_ok VERSION SPEC: true when VERSION satisfies every comma-separated clause of SPEC
# (>=, <=, >, <, == and != compare by prefix, ~=X.Y means >=X.Y and ==X; a bare X.Y means ==X.Y).
_dvhpc_version_ok() {
  local _dvhpc_clause _dvhpc_op _dvhpc_want _dvhpc_c
  local _dvhpc_re='^(==|!=|>=|<=|~=|>|<)?([0-9]+(\.[0-9]+)*)$'
  local -a _dvhpc_clauses
  IFS=, read -r -a _dvhpc_clauses <<<"$2"
  for _dvhpc_clause in "${_dvhpc_clauses[@]}"; do
    _dvhpc_clause=${_dvhpc_clause//[[:space:]]/}
    if ! [[ $_dvhpc_clause =~ $_dvhpc_re ]]; then return 2; fi
    _dvhpc_op=${BASH_REMATCH[1]:-==}
    _dvhpc_want=${BASH_REMATCH[2]}
    _dvhpc_c=$(_dvhpc_vercmp "$1" "$_dvhpc_want")
    case $_dvhpc_op in
      '>=') if (( _dvhpc_c < 0 )); then return 1; fi ;;
      '<=') if (( _dvhpc_c > 0 )); then return 1; fi ;;
      '>') if (( _dvhpc_c <= 0 )); then return 1; fi ;;
      '<') if (( _dvhpc_c >= 0 )); then return 1; fi ;;
      '==') if ! _dvhpc_prefix_eq "$1" "$_dvhpc_want"; then return 1; fi ;;
      '!=') if _dvhpc_prefix_eq "$1" "$_dvhpc_want"; then return 1; fi ;;
      '~=') if (( _dvhpc_c < 0 )) || ! _dvhpc_prefix_eq "$1" "${_dvhpc_want%.*}"; then return 1; fi ;;
    esac
  done
  return 0
}
""",
    "_dvhpc_first_version": r"""# _dvhpc_first_version TEXT: prints the first dotted number in TEXT (e.g. of `snakemake --version`).
_dvhpc_first_version() {
  local _dvhpc_re='([0-9]+(\.[0-9]+)*)'
  if [[ $1 =~ $_dvhpc_re ]]; then echo "${BASH_REMATCH[1]}"; else return 1; fi
}
""",
}

def _fail(message: str) -> str:
    """Shell lines: report a problem (message is already a shell word) and count it."""
    return f"_dvhpc_say {message}\n_dvhpc_failed=$((_dvhpc_failed + 1))\n"


def _bootstrap_modules(env) -> str:
    if not (env.module_purge or env.module_use or env.module_load):
        return ""
    body = ""
    if env.module_purge:
        body += "if ! module purge; then\n" + _indent(_fail(sh("\"module purge\" failed")), 2) + "fi\n"
    for index, text in enumerate(env.module_use):
        key = f"environment.modules.use[{index}]"
        text = _present(key, text)
        step = (f"if ! module use {sh_runtime(text.text)}; then\n"
                + _indent(_fail(sh(f"\"module use\" failed for {key}: ") + sh_runtime(text.text)), 2) + "fi\n")
        guard = _guard("_dvhpc_vars_set", key, text)
        body += (f"if {guard}; then\n" + _indent(step, 2) + "else\n  _dvhpc_failed=$((_dvhpc_failed + 1))\nfi\n"
                 if guard else step)
    for name in env.module_load:
        in_class("module", name, "environment.modules.load")  # Lmod re-reads it as shell code it writes
        body += (f"if ! module load {sh(name)}; then\n"
                 + _indent(_fail(sh(f"\"module load {name}\" failed; check the name with: module spider {name}")), 2)
                 + "fi\n")
    return (
        "# Environment modules (environment.modules).\n"
        "if ! command -v module >/dev/null 2>&1; then\n"
        + _indent(_fail(sh("the 'module' command is not available; environment.modules needs it. Initialise your "
                           "cluster module system first (e.g. source /etc/profile.d/modules.sh or "
                           "/usr/share/lmod/lmod/init/bash), or remove environment.modules from the spec")), 2)
        + "else\n" + _indent(body, 2) + "fi\n\n"
    )


def _bootstrap_python_env(env) -> str:
    if env.conda is not None:
        name = sh_runtime(env.conda.text)
        step = (
            "local _dvhpc_hook\n"
            "if ! _dvhpc_hook=\"$(conda shell.bash hook 2>/dev/null)\" || [[ -z $_dvhpc_hook ]]; then\n"
            + _indent(_fail(sh("\"conda shell.bash hook\" failed; is conda installed correctly?")), 2)
            + "elif ! eval \"$_dvhpc_hook\"; then\n"
            + _indent(_fail(sh("the conda shell hook failed to load")), 2)
            + f"elif ! conda activate {name}; then\n"
            + _indent(_fail(sh("cannot activate the conda environment ") + name
                            + sh(" (environment.conda); create it or check the name with: conda env list")), 2)
            + "fi\n"
        )
        guard = _guard("_dvhpc_vars_set", "environment.conda", env.conda)
        if guard:
            step = f"if {guard}; then\n" + _indent(step, 2) + "else\n  _dvhpc_failed=$((_dvhpc_failed + 1))\nfi\n"
        return (
            "# Conda environment (environment.conda), activated through conda's shell hook.\n"
            "if ! command -v conda >/dev/null 2>&1; then\n"
            + _indent(_fail(sh("conda is not available; environment.conda needs it. Load it first (e.g. add its "
                               "module to environment.modules.load) or install Miniforge")), 2)
            + "else\n" + _indent(step, 2) + "fi\n\n"
        )
    if env.venv is not None:
        path = sh_runtime(env.venv.text)
        step = (
            f"if [[ ! -f {path}/bin/activate ]]; then\n"
            + _indent(_fail(sh("no virtual environment at ") + path
                            + sh(" (environment.venv); create it with: python3 -m venv ") + path), 2)
            + "else\n"
            "  # The venv's own activate script: not known when the script is checked.\n"
            "  # shellcheck source=/dev/null\n"
            f"  if ! source -- {path}/bin/activate; then\n"
            + _indent(_fail(sh("activating the virtual environment ") + path + sh(" failed")), 4)
            + "  fi\n"
            "fi\n"
        )
        guard = _guard("_dvhpc_vars_set", "environment.venv", env.venv)
        if guard:
            step = f"if {guard}; then\n" + _indent(step, 2) + "else\n  _dvhpc_failed=$((_dvhpc_failed + 1))\nfi\n"
        return "# Python virtual environment (environment.venv).\n" + step + "\n"
    return ""


def _bootstrap_variables(env) -> str:
    if not env.variables:
        return ""
    out = "# Environment variables (environment.variables).\n"
    for name in _variable_order(env.variables):
        text = env.variables[name]
        export = f"export {in_class('envvar', name, 'environment.variables')}={sh_runtime(text.text)}\n"
        guard = _guard("_dvhpc_vars_set", f"environment.variables.{name}", text)
        out += (f"if {guard}; then\n  {export}else\n  _dvhpc_failed=$((_dvhpc_failed + 1))\nfi\n"
                if guard else export)
    return out + "\n"


def _bootstrap_checks(site: Site) -> str:
    env = site.environment
    out = (
        "local _dvhpc_py=''\n"
        "if command -v python3 >/dev/null 2>&1; then\n"
        "  _dvhpc_py=python3\n"
        "elif command -v python >/dev/null 2>&1; then\n"
        "  _dvhpc_py=python\n"
        "else\n"
        + _indent(_fail(sh("python is not on PATH; activate the environment that has Snakemake "
                           "(environment.conda or environment.venv in the spec)")), 2)
        + "fi\n"
    )
    if env.require_python:
        want = env.require_python
        out += (
            "if [[ -n $_dvhpc_py ]]; then\n"
            "  local _dvhpc_pyver\n"
            "  if ! _dvhpc_pyver=\"$(\"$_dvhpc_py\" -c 'import sys; print(\"%d.%d.%d\" % sys.version_info[:3])' 2>/dev/null)\" "
            "|| [[ -z $_dvhpc_pyver ]]; then\n"
            + _indent(_fail(sh("cannot run ") + '"$_dvhpc_py"' + sh(" to read its version")), 4)
            + f"  elif ! _dvhpc_version_ok \"$_dvhpc_pyver\" {sh(want)}; then\n"
            + _indent(_fail(sh("python ") + '"$_dvhpc_pyver"'
                            + sh(f" does not satisfy {want} (environment.require.python); "
                                 "activate an environment with a suitable python")), 4)
            + "  fi\n"
            "fi\n"
        )
    pip_spec = "snakemake" + (env.require_snakemake.replace(" ", "") if env.require_snakemake else "")
    if env.require_snakemake and env.require_snakemake.strip()[0].isdigit():
        pip_spec = "snakemake==" + env.require_snakemake.strip()
    out += (
        "if ! command -v snakemake >/dev/null 2>&1; then\n"
        + _indent(_fail(sh(f"snakemake is not on PATH; install it into the environment: pip install '{pip_spec}'")), 2)
    )
    if env.require_snakemake:
        want = env.require_snakemake
        out += (
            "else\n"
            "  local _dvhpc_smkver\n"
            "  if ! _dvhpc_smkver=\"$(_dvhpc_first_version \"$(snakemake --version 2>/dev/null)\")\"; then\n"
            + _indent(_fail(sh("cannot read the version of snakemake (\"snakemake --version\" failed)")), 4)
            + f"  elif ! _dvhpc_version_ok \"$_dvhpc_smkver\" {sh(want)}; then\n"
            + _indent(_fail(sh("snakemake ") + '"$_dvhpc_smkver"'
                            + sh(f" does not satisfy {want} (environment.require.snakemake); "
                                 f"upgrade it: pip install '{pip_spec}'")), 4)
            + "  fi\n"
        )
    out += "fi\n"
    plugins = sorted(set(env.require_plugins) | {site.snakemake.executor})
    for plugin in plugins:
        module, package = PLUGINS[plugin]
        out += (
            f"if [[ -n $_dvhpc_py ]] && ! \"$_dvhpc_py\" -c {sh('import ' + module)} >/dev/null 2>&1; then\n"
            + _indent(_fail(sh(f"the Snakemake executor plugin {plugin} is not installed (python module {module} "
                               f"not found); install it: pip install {package}")), 2)
            + "fi\n"
        )
    commands = ["sbatch", "squeue"] + (["sacct"] if site.accounting else [])
    for command in commands:
        hint = "run this on a login node of the cluster (or load the SLURM module)"
        if command == "sacct":
            hint += "; if the cluster has no accounting database, set slurm.accounting: false in the spec"
        out += (f"if ! command -v {command} >/dev/null 2>&1; then\n"
                + _indent(_fail(sh(f"{command} is not on PATH; {hint}")), 2) + "fi\n")
    return out


def bootstrap(site: Site) -> str:
    env = site.environment
    body = (
        f"export DVHPC_SITE={sh(site.name)}\n\n"
        + _bootstrap_modules(env)
        + _bootstrap_python_env(env)
        + _bootstrap_variables(env)
        + "# Checks: everything run.sh needs, each failure with its fix.\n"
        + "if [[ \"${DVHPC_SKIP_CHECKS:-}\" == 1 ]]; then\n"
        + "  _dvhpc_say 'DVHPC_SKIP_CHECKS=1: skipping the checks'\n"
        + "else\n"
        + _indent(_bootstrap_checks(site), 2)
        + "fi\n\n"
        + "if (( _dvhpc_failed > 0 )); then\n"
        + "  _dvhpc_say \"$_dvhpc_failed problem(s) found; fix them, or set DVHPC_SKIP_CHECKS=1 to skip the checks\"\n"
        + "  return 1\n"
        + "fi\n"
        + "return 0\n"
    )
    script = (
        _start(site)
        + f"""#
# bootstrap.sh: the software environment of site '{site.name}'.
#
#   source bootstrap.sh   set up the current shell (modules, conda/venv, variables) and check it;
#                         returns non-zero if something is missing, never exits your shell
#   bash bootstrap.sh     only run the set-up in a child shell and report (exit status 0 = all fine)
#
# Checks: python and snakemake versions, the executor plugins, and the SLURM commands.
# Set DVHPC_SKIP_CHECKS=1 to skip the checks (the set-up still runs), e.g. on a machine
# without SLURM. Exports DVHPC_SITE={site.name}. Messages go to stderr, prefixed "dvhpc bootstrap:".
# Bash only (uses BASH_SOURCE).

_dvhpc_say() {{
  printf 'dvhpc bootstrap: %s\\n' "$*" >&2
}}

@@HELPERS@@
_dvhpc_setup() {{
  local _dvhpc_failed=0
{_indent(body, 2)}}}

# module and conda scripts are often not written for `set -u`: lift it while they run.
_dvhpc_bootstrap() {{
  local _dvhpc_nounset=0 _dvhpc_status=0
  case $- in
    *u*)
      _dvhpc_nounset=1
      set +u
      ;;
  esac
  _dvhpc_setup || _dvhpc_status=$?
  if (( _dvhpc_nounset )); then
    set -u
  fi
  return "$_dvhpc_status"
}}

# Removes the helper functions from the caller's shell; keeps the status of the previous command.
_dvhpc_cleanup() {{
  local _dvhpc_status=$?
  unset -f _dvhpc_say @@UNSET@@ _dvhpc_setup _dvhpc_bootstrap _dvhpc_cleanup
  return "$_dvhpc_status"
}}

if [[ "${{BASH_SOURCE[0]}}" == "$0" ]]; then
  _dvhpc_bootstrap
  exit
fi
_dvhpc_bootstrap
_dvhpc_cleanup
return
"""
    )
    return _with_helpers(script, {'_dvhpc_vars_set': _vars_helper('_dvhpc_vars_set', "dvhpc bootstrap"), **_VERSION_HELPERS})


# ---------------------------------------------------------------------------------------- run.sh


def _cd_workdir(site: Site, who: str, helper: str) -> str:
    workdir = site.environment.workdir
    if workdir is None:
        return ""
    step = (f"if ! cd -- {sh_runtime(workdir.text)}; then\n"
            f"  printf '%s %s\\n' {sh(who + ': cannot change into environment.workdir')} {sh_runtime(workdir.text)} >&2\n"
            "  exit 1\nfi\n")
    guard = _guard(helper, "environment.workdir", workdir)
    if guard:
        step = f"if ! {guard}; then\n  exit 1\nfi\n" + step
    return "# The workflow's folder (environment.workdir).\n" + step + "\n"


def _logdir(site: Site, helper: str) -> str:
    logdir = site.snakemake.logdir
    out = ""
    guard = _guard(helper, "snakemake.logdir", logdir)
    if guard:
        out += f"if ! {guard}; then\n  exit 1\nfi\n"
    return out + f"logdir={sh_runtime(logdir.text)}\n"


def run(site: Site) -> str:
    # the slurm plugin names jobs <prefix>_<uuid>; cluster-generic's submit command reads DVHPC_RUN_ID
    jobname = ' --slurm-jobname-prefix "$DVHPC_RUN_ID"' if site.snakemake.executor == "slurm" else ""
    script = (
        _start(site)
        + f"""#
# run.sh: start Snakemake with the profile of site '{site.name}' (replaces snakecharm.sh).
#
#   run.sh [--foreground] [--] [snakemake arguments...]
#
# Sources bootstrap.sh (and stops if it reports a problem), changes into environment.workdir
# when the spec sets one, and runs `snakemake --profile <this folder>/profile ARGS...`.
# By default Snakemake runs in the background (nohup) and its output goes to
#   <logdir>/snakecharm_<arguments>_<UTC time>.log
# (logdir: snakemake.logdir of the spec, relative to the working folder); the PID and the log
# path are printed. --foreground runs attached, shows the output and writes the log too, and
# exits with Snakemake's exit status. Every argument reaches Snakemake unchanged.

here="$(cd "$(dirname "${{BASH_SOURCE[0]}}")" && pwd)"

_dvhpc_usage() {{
  cat <<'EOF'
usage: run.sh [--foreground] [--] [snakemake arguments...]

Start Snakemake with this site's profile ({site.name}).
  --foreground   run attached and exit with Snakemake's status (default: background, nohup)
  --             end of run.sh's options (e.g. run.sh -- --help shows Snakemake's help)
  -h, --help     show this help
Output is logged to <logdir>/snakecharm_<arguments>_<UTC time>.log.
EOF
}}

@@HELPERS@@
foreground=0
case "${{1:-}}" in
  -h | --help)
    _dvhpc_usage
    exit 0
    ;;
  --foreground)
    foreground=1
    shift
    ;;
esac
if [[ "${{1:-}}" == "--" ]]; then
  shift
fi

if [[ ! -d "$here/profile" ]]; then
  echo "dvhpc run: no Snakemake profile at $here/profile; run dvhpc compile again" >&2
  exit 1
fi

# bootstrap.sh sits next to this script; it is checked on its own.
# shellcheck source=/dev/null
if ! source "$here/bootstrap.sh"; then
  echo "dvhpc run: the environment is not ready (see the messages above); Snakemake was not started" >&2
  exit 1
fi
if ! command -v snakemake >/dev/null 2>&1; then
  echo "dvhpc run: snakemake is not on PATH after bootstrap.sh" >&2
  exit 127
fi

{_cd_workdir(site, "dvhpc run", "_dvhpc_run_vars_set")}# The log folder (snakemake.logdir), relative to the working folder.
{_logdir(site, "_dvhpc_run_vars_set")}if ! mkdir -p -- "$logdir" || ! logdir="$(cd -- "$logdir" && pwd)"; then
  echo "dvhpc run: cannot create the log folder $logdir" >&2
  exit 1
fi

stamp="$(date -u +%Y%m%dT%H%M%SZ)"
# The arguments as a file name part: / -> -, anything but [A-Za-z0-9._=-] -> _, at most 100 characters.
label="$(printf '%s' "$*" | tr '/' '-' | LC_ALL=C tr -c 'A-Za-z0-9._=-' '_')"
label="${{label:0:100}}"
if [[ -n "$label" ]]; then
  base="$logdir/snakecharm_${{label}}_$stamp"
else
  base="$logdir/snakecharm_$stamp"
fi
log="$base.log"
n=2
while [[ -e "$log" ]]; do
  log="${{base}}_$n.log"
  n=$((n + 1))
done

# One id per run, in every job's name, so `jobs.sh status` and people can tell runs apart.
if [[ -z "${{DVHPC_RUN_ID:-}}" ]]; then
  DVHPC_RUN_ID="$(printf '%s' {sh(site.name[:24])} | tr -c 'A-Za-z0-9_-' '_')-$stamp-$$"
fi
export DVHPC_RUN_ID
cmd=(snakemake --profile "$here/profile"{jobname} "$@")
{{
  printf '# dvhpc run.sh, site %s, run %s, %s, in %s:\\n#' {sh(site.name)} "$DVHPC_RUN_ID" "$stamp" "$PWD"
  printf ' %q' "${{cmd[@]}}"
  printf '\\n'
}} >"$log"

if (( foreground )); then
  echo "dvhpc run: run $DVHPC_RUN_ID, log: $log" >&2
  "${{cmd[@]}}" 2>&1 | tee -i -a -- "$log"
  exit "${{PIPESTATUS[0]}}"
fi

nohup "${{cmd[@]}}" >>"$log" 2>&1 </dev/null &
pid=$!
echo "dvhpc run: snakemake started in the background, PID $pid, run $DVHPC_RUN_ID"
echo "dvhpc run: log: $log"
printf 'dvhpc run: follow it with: tail -f %q\\n' "$log"
"""
    )
    return _with_helpers(script, {'_dvhpc_run_vars_set': _vars_helper('_dvhpc_run_vars_set', "dvhpc run")})


# ---------------------------------------------------------------------------------------- jobs.sh


def _partition_lines(site: Site) -> str:
    if not site.partitions:
        return ""
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
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    return (
        "  echo\n"
        f"  printf '%s\\n' {sh('# partitions in the spec of site ' + site.name + ':')}\n"
        + "".join(f"  printf '%s\\n' {sh(line)}\n" for line in lines)
    )


def jobs(site: Site) -> str:
    if site.accounting:
        usage = (
            "  _dvhpc_need sacct\n"
            "  sacct -j \"$id\" --format=JobID,JobName%30,State,ExitCode,Elapsed,Timelimit,AllocCPUS,ReqMem,MaxRSS,MaxVMSize\n"
            "  status=$?\n"
        )
    else:
        usage = (
            "  _dvhpc_need scontrol\n"
            "  echo 'dvhpc jobs: accounting is off on this cluster (slurm.accounting: false), so sacct has no data;' >&2\n"
            "  echo 'dvhpc jobs: showing scontrol show job (known only while the job is queued, running or just ended)' >&2\n"
            "  scontrol show job \"$id\"\n"
            "  status=$?\n"
        )
    script = (
        _start(site)
        + f"""#
# jobs.sh: look at the SLURM jobs of site '{site.name}'.
#
#   jobs.sh status           your queued and running jobs (squeue)
#   jobs.sh usage JOBID      what a job used (sacct, or scontrol without accounting; sstat while running)
#   jobs.sh tail RULE [N]    the last N lines (default 50) of the newest log of a rule
#   jobs.sh limits           partitions and their limits (sinfo), and what the spec says
#   jobs.sh help             this help

_dvhpc_usage() {{
  cat <<'EOF'
usage: jobs.sh COMMAND [ARGS]

  status           your queued and running jobs (squeue)
  usage JOBID      what a job used (sacct, or scontrol without accounting; sstat while it runs)
  tail RULE [N]    the last N lines (default 50) of the newest log file of RULE
  limits           partitions and their limits (sinfo), and the partitions in the spec
  help             this help
EOF
}}

_dvhpc_need() {{
  if ! command -v "$1" >/dev/null 2>&1; then
    echo "dvhpc jobs: $1 is not on PATH; run this on a login node of the cluster (or load the SLURM module)" >&2
    exit 127
  fi
}}

@@HELPERS@@
_dvhpc_status() {{
  _dvhpc_need squeue
  squeue -u "${{USER:-$(id -un)}}" -o '%.18i %.10P %.40j %.9T %.10M %.10l %.5D %.5C %.8m %.20b %R'
}}

_dvhpc_job_usage() {{
  local id=${{1:-}} status state
  if [[ ! "$id" =~ ^[0-9][0-9A-Za-z_.+]*$ ]]; then
    echo "dvhpc jobs: usage needs a job id, e.g. jobs.sh usage 123456" >&2
    exit 2
  fi
{usage}  if command -v squeue >/dev/null 2>&1 && command -v sstat >/dev/null 2>&1; then
    state="$(squeue -h -j "$id" -o %T 2>/dev/null)"
    if [[ "$state" == RUNNING ]]; then
      echo
      echo "# running now (sstat):"
      sstat -j "$id" --allsteps --format=JobID,NTasks,AveCPU,AveRSS,MaxRSS,MaxVMSize,MaxDiskRead,MaxDiskWrite
    fi
  fi
  return "$status"
}}

_dvhpc_tail() {{
  local rule=${{1:-}} lines=${{2:-50}} dir file newest=''
  if [[ ! "$rule" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]]; then
    echo "dvhpc jobs: tail needs a rule name, e.g. jobs.sh tail train_model 100" >&2
    exit 2
  fi
  if [[ ! "$lines" =~ ^[0-9]+$ ]]; then
    echo "dvhpc jobs: N must be a number of lines, not '$lines'" >&2
    exit 2
  fi
{_indent(_cd_workdir(site, "dvhpc jobs", "_dvhpc_jobs_vars_set") + _logdir(site, "_dvhpc_jobs_vars_set"), 2)}  if [[ -d "$logdir" ]]; then
    logdir="$(cd -- "$logdir" && pwd)"
  fi
  # slurm executor plugin: <logdir>/rule_<rule>/<wildcards>/<jobid>.log;
  # cluster-generic: <logdir>/<rule>/<jobid>.out and .err.
  for dir in "$logdir/rule_$rule" "$logdir/$rule"; do
    if [[ ! -d "$dir" ]]; then
      continue
    fi
    while IFS= read -r -d '' file; do
      if [[ -z "$newest" || "$file" -nt "$newest" ]]; then
        newest=$file
      fi
    done < <(find "$dir" -type f \\( -name '*.log' -o -name '*.out' -o -name '*.err' \\) -print0)
  done
  if [[ -z "$newest" ]]; then
    echo "dvhpc jobs: no log files of rule '$rule' under $logdir (looked in rule_$rule/ and $rule/)" >&2
    exit 1
  fi
  case "$newest" in
    *.out | *.err)
      for file in "${{newest%.*}}.out" "${{newest%.*}}.err"; do
        if [[ -f "$file" ]]; then
          echo "==> $file <=="
          tail -n "$lines" -- "$file"
        fi
      done
      ;;
    *)
      echo "==> $newest <=="
      tail -n "$lines" -- "$newest"
      ;;
  esac
}}

_dvhpc_limits() {{
  _dvhpc_need sinfo
  sinfo -o '%14P %.11l %.6c %.10m %.30G %.6D %.6a'
  local status=$?
{_partition_lines(site)}  return "$status"
}}

sub=${{1:-}}
if [[ $# -gt 0 ]]; then
  shift
fi
case "$sub" in
  status) _dvhpc_status ;;
  usage) _dvhpc_job_usage "$@" ;;
  tail) _dvhpc_tail "$@" ;;
  limits) _dvhpc_limits ;;
  help | -h | --help) _dvhpc_usage ;;
  *)
    if [[ -n "$sub" ]]; then
      echo "dvhpc jobs: unknown command '$sub'" >&2
    fi
    _dvhpc_usage >&2
    exit 2
    ;;
esac
"""
    )
    return _with_helpers(script, {'_dvhpc_jobs_vars_set': _vars_helper('_dvhpc_jobs_vars_set', "dvhpc jobs")})


# ---------------------------------------------------------------------------------------- wrap.sh

_INNER_CONDA = """\
dvhpc_env=$1
shift
if ! command -v conda >/dev/null 2>&1 && [ -x /opt/conda/bin/conda ]; then
  PATH=/opt/conda/bin:$PATH
fi
if ! command -v conda >/dev/null 2>&1; then
  echo "dvhpc wrap: conda is not available inside the container (environment.container.conda)" >&2
  exit 127
fi
if ! dvhpc_hook="$(conda shell.bash hook)" || ! eval "$dvhpc_hook"; then
  echo "dvhpc wrap: conda's shell hook failed inside the container" >&2
  exit 1
fi
if ! conda activate "$dvhpc_env"; then
  echo "dvhpc wrap: cannot activate the conda environment $dvhpc_env inside the container" >&2
  exit 1
fi
exec "$@"
"""


def wrap(site: Site) -> str:
    c = site.environment.container
    assert c is not None
    prefix = "APPTAINERENV_" if c.engine == "apptainer" else "SINGULARITYENV_"
    guards = []
    overlays = [_present(f"environment.container.overlays[{i}]", t) for i, t in enumerate(c.overlays)]
    binds = [_present(f"environment.container.binds[{i}]", t) for i, t in enumerate(c.binds)]
    texts = [("environment.container.image", _present("environment.container.image", c.image))]
    texts += [(f"environment.container.overlays[{i}]", t) for i, t in enumerate(overlays)]
    texts += [(f"environment.container.binds[{i}]", t) for i, t in enumerate(binds)]
    if c.conda is not None:
        texts.append(("environment.container.conda", c.conda))
    for key, text in texts:
        guard = _guard("_dvhpc_wrap_vars_set", key, text)
        if guard:
            guards.append(guard)
    check = ""
    if guards:
        check = "if ! " + " ||\n  ! ".join(guards) + "; then\n  exit 1\nfi\n"
    options = "options=(exec)\n"
    if c.gpu:
        options += "options+=(--nv)\n"
    options += "".join(f"options+=(--overlay {sh_runtime(t.text)})\n" for t in overlays)
    options += "".join(f"options+=(--bind {sh_runtime(t.text)})\n" for t in binds)
    pass_env = ""
    if c.pass_env:
        # each name goes through ${!name}, which would evaluate an index such as a[$(cmd)]
        names = " ".join(sh(in_class("envvar", n, "environment.container.pass_env")) for n in c.pass_env)
        pass_env = (
            f"# environment.container.pass_env: each variable that is set goes in as {prefix}NAME;\n"
            "# unlike --env NAME=value, this keeps values with commas (CUDA_VISIBLE_DEVICES=0,1) intact.\n"
            f"pass_env=({names})\n"
            "for name in \"${pass_env[@]}\"; do\n"
            "  if [[ -n \"${!name+x}\" ]]; then\n"
            f"    export \"{prefix}$name=${{!name}}\"\n"
            "  fi\n"
            "done\n\n"
        )
    if c.conda is not None:
        run_line = (
            "# Activate the conda environment inside the container, then run the command unchanged.\n"
            "IFS= read -r -d '' inner <<'EOF'\n" + _INNER_CONDA + "EOF\n"
            f"exec \"$engine\" \"${{options[@]}}\" \"$image\" bash -c \"$inner\" wrap {sh_runtime(c.conda.text)} \"$@\"\n"
        )
    else:
        run_line = "exec \"$engine\" \"${options[@]}\" \"$image\" \"$@\"\n"
    script = (
        _start(site)
        + f"""#
# wrap.sh: run a job command inside the container of site '{site.name}' (environment.container).
#
#   wrap.sh COMMAND [ARG...]
#
# Runs `{c.engine} exec [options] IMAGE COMMAND ARG...`: every argument reaches COMMAND unchanged,
# and wrap.sh exits with COMMAND's exit status.

if [[ $# -eq 0 ]]; then
  echo "usage: wrap.sh COMMAND [ARG...]" >&2
  echo "dvhpc wrap: no command given" >&2
  exit 2
fi

engine={sh(c.engine)}
if ! command -v "$engine" >/dev/null 2>&1; then
  echo "dvhpc wrap: $engine is not on PATH; load it first (e.g. module load $engine)" >&2
  exit 127
fi

@@HELPERS@@
{check}image={sh_runtime(c.image.text)}
{options}
{pass_env}{run_line}"""
    )
    return _with_helpers(script, {'_dvhpc_wrap_vars_set': _vars_helper('_dvhpc_wrap_vars_set', "dvhpc wrap")})
