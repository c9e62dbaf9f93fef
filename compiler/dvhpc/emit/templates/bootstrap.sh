#
# bootstrap.sh: the software environment of the site named by _dvhpc_env_site above.
#
#   source bootstrap.sh   set up the current shell (modules, conda/venv, variables) and check it;
#                         returns non-zero if something is missing, never exits your shell
#   bash bootstrap.sh     only run the set-up in a child shell and report (exit status 0 = all fine)
#
# Checks: python and snakemake versions, the executor plugins, and the SLURM commands.
# Set DVHPC_SKIP_CHECKS=1 to skip the checks (the set-up still runs), e.g. on a machine
# without SLURM. Exports DVHPC_SITE. Messages go to stderr, prefixed "dvhpc bootstrap:".
# Bash only (uses BASH_SOURCE). Every step below runs only when the spec's data asks for it.

_dvhpc_say() {
  printf 'dvhpc bootstrap: %s\n' "$*" >&2
}

# _dvhpc_fail MESSAGE...: report a problem and count it (in _dvhpc_setup's _dvhpc_failed).
_dvhpc_fail() {
  _dvhpc_say "$@"
  _dvhpc_failed=$((_dvhpc_failed + 1))
}

# _dvhpc_vercmp A B: prints -1, 0 or 1 comparing dotted versions (missing parts count as 0).
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

# _dvhpc_prefix_eq VERSION WANT: true when VERSION starts with WANT's parts (3.11.4 matches 3.11).
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

# _dvhpc_version_ok VERSION SPEC: true when VERSION satisfies every comma-separated clause of SPEC
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

# _dvhpc_first_version TEXT: prints the first dotted number in TEXT (e.g. of `snakemake --version`).
_dvhpc_first_version() {
  local _dvhpc_re='([0-9]+(\.[0-9]+)*)'
  if [[ $1 =~ $_dvhpc_re ]]; then echo "${BASH_REMATCH[1]}"; else return 1; fi
}

# Environment modules (environment.modules).
_dvhpc_modules() {
  local _dvhpc_i _dvhpc_name
  if (( ! _dvhpc_env_module_purge && ${#_dvhpc_env_module_use[@]} == 0 && ${#_dvhpc_env_module_load[@]} == 0 )); then
    return 0
  fi
  if ! command -v module >/dev/null 2>&1; then
    _dvhpc_fail "the 'module' command is not available; environment.modules needs it. Initialise your cluster module system first (e.g. source /etc/profile.d/modules.sh or /usr/share/lmod/lmod/init/bash), or remove environment.modules from the spec"
    return 0
  fi
  if (( _dvhpc_env_module_purge )) && ! module purge; then
    _dvhpc_fail '"module purge" failed'
  fi
  for _dvhpc_i in "${!_dvhpc_env_module_use[@]}"; do
    if ! _dvhpc_expand "$_dvhpc_who" "environment.modules.use[$_dvhpc_i]" "${_dvhpc_env_module_use[_dvhpc_i]}"; then
      _dvhpc_failed=$((_dvhpc_failed + 1))
    elif ! module use "$_dvhpc_value"; then
      _dvhpc_fail "\"module use\" failed for environment.modules.use[$_dvhpc_i]: $_dvhpc_value"
    fi
  done
  for _dvhpc_name in "${_dvhpc_env_module_load[@]}"; do
    if ! module load "$_dvhpc_name"; then
      _dvhpc_fail "\"module load $_dvhpc_name\" failed; check the name with: module spider $_dvhpc_name"
    fi
  done
}

# Conda environment (environment.conda), activated through conda's shell hook; or a Python
# virtual environment (environment.venv).
_dvhpc_python_env() {
  local _dvhpc_hook
  if (( ${#_dvhpc_env_conda[@]} )); then
    if ! command -v conda >/dev/null 2>&1; then
      _dvhpc_fail 'conda is not available; environment.conda needs it. Load it first (e.g. add its module to environment.modules.load) or install Miniforge'
    elif ! _dvhpc_expand "$_dvhpc_who" environment.conda "${_dvhpc_env_conda[0]}"; then
      _dvhpc_failed=$((_dvhpc_failed + 1))
    elif ! _dvhpc_hook="$(conda shell.bash hook 2>/dev/null)" || [[ -z $_dvhpc_hook ]]; then
      _dvhpc_fail '"conda shell.bash hook" failed; is conda installed correctly?'
    elif ! eval "$_dvhpc_hook"; then
      _dvhpc_fail 'the conda shell hook failed to load'
    elif ! conda activate "$_dvhpc_value"; then
      _dvhpc_fail "cannot activate the conda environment $_dvhpc_value (environment.conda); create it or check the name with: conda env list"
    fi
  elif (( ${#_dvhpc_env_venv[@]} )); then
    if ! _dvhpc_expand "$_dvhpc_who" environment.venv "${_dvhpc_env_venv[0]}"; then
      _dvhpc_failed=$((_dvhpc_failed + 1))
    elif [[ ! -f $_dvhpc_value/bin/activate ]]; then
      _dvhpc_fail "no virtual environment at $_dvhpc_value (environment.venv); create it with: python3 -m venv $_dvhpc_value"
    else
      # The venv's own activate script: not known when the script is checked.
      # shellcheck source=/dev/null
      if ! source -- "$_dvhpc_value/bin/activate"; then
        _dvhpc_fail "activating the virtual environment $_dvhpc_value failed"
      fi
    fi
  fi
}

# Environment variables (environment.variables), in the spec data's order (a variable that
# refers to another comes after it).
_dvhpc_variables() {
  local _dvhpc_i _dvhpc_name _dvhpc_re='^[A-Za-z_][A-Za-z0-9_]*$'
  for _dvhpc_i in "${!_dvhpc_env_variable_names[@]}"; do
    _dvhpc_name=${_dvhpc_env_variable_names[_dvhpc_i]}
    if [[ ! $_dvhpc_name =~ $_dvhpc_re ]]; then  # the compiler checked it; export reads more than names
      _dvhpc_fail "environment.variables: '$_dvhpc_name' is not a variable name"
    elif ! _dvhpc_expand "$_dvhpc_who" "environment.variables.$_dvhpc_name" "${_dvhpc_env_variable_values[_dvhpc_i]}"; then
      _dvhpc_failed=$((_dvhpc_failed + 1))
    else
      export "$_dvhpc_name=$_dvhpc_value"
    fi
  done
}

# Checks: everything run.sh needs, each failure with its fix.
_dvhpc_checks() {
  local _dvhpc_py='' _dvhpc_pyver _dvhpc_smkver _dvhpc_i _dvhpc_command _dvhpc_hint
  if command -v python3 >/dev/null 2>&1; then
    _dvhpc_py=python3
  elif command -v python >/dev/null 2>&1; then
    _dvhpc_py=python
  else
    _dvhpc_fail 'python is not on PATH; activate the environment that has Snakemake (environment.conda or environment.venv in the spec)'
  fi
  if [[ -n $_dvhpc_py ]] && (( ${#_dvhpc_env_require_python[@]} )); then
    if ! _dvhpc_pyver="$("$_dvhpc_py" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])' 2>/dev/null)" || [[ -z $_dvhpc_pyver ]]; then
      _dvhpc_fail "cannot run $_dvhpc_py to read its version"
    elif ! _dvhpc_version_ok "$_dvhpc_pyver" "${_dvhpc_env_require_python[0]}"; then
      _dvhpc_fail "python $_dvhpc_pyver does not satisfy ${_dvhpc_env_require_python[0]} (environment.require.python); activate an environment with a suitable python"
    fi
  fi
  if ! command -v snakemake >/dev/null 2>&1; then
    _dvhpc_fail "snakemake is not on PATH; install it into the environment: pip install '$_dvhpc_env_pip_snakemake'"
  elif (( ${#_dvhpc_env_require_snakemake[@]} )); then
    if ! _dvhpc_smkver="$(_dvhpc_first_version "$(snakemake --version 2>/dev/null)")"; then
      _dvhpc_fail 'cannot read the version of snakemake ("snakemake --version" failed)'
    elif ! _dvhpc_version_ok "$_dvhpc_smkver" "${_dvhpc_env_require_snakemake[0]}"; then
      _dvhpc_fail "snakemake $_dvhpc_smkver does not satisfy ${_dvhpc_env_require_snakemake[0]} (environment.require.snakemake); install a matching version: pip install '$_dvhpc_env_pip_snakemake'"
    fi
  fi
  if [[ -n $_dvhpc_py ]]; then
    _dvhpc_check_plugin_versions "$_dvhpc_py"
  fi
  for _dvhpc_i in "${!_dvhpc_env_plugins[@]}"; do
    if [[ -n $_dvhpc_py ]] && ! "$_dvhpc_py" -c "import ${_dvhpc_env_plugin_modules[_dvhpc_i]}" >/dev/null 2>&1; then
      _dvhpc_fail "the Snakemake executor plugin ${_dvhpc_env_plugins[_dvhpc_i]} is not installed (python module ${_dvhpc_env_plugin_modules[_dvhpc_i]} not found); install it: pip install ${_dvhpc_env_plugin_packages[_dvhpc_i]}"
    fi
  done
  for _dvhpc_command in "${_dvhpc_env_slurm_commands[@]}"; do
    if ! command -v "$_dvhpc_command" >/dev/null 2>&1; then
      _dvhpc_hint='run this on a login node of the cluster (or load the SLURM module)'
      if [[ $_dvhpc_command == sacct ]]; then
        _dvhpc_hint+='; if the cluster has no accounting database, set slurm.accounting: false in the spec'
      fi
      _dvhpc_fail "$_dvhpc_command is not on PATH; $_dvhpc_hint"
    fi
  done
}

_dvhpc_setup() {
  local _dvhpc_failed=0 _dvhpc_value _dvhpc_who
  _dvhpc_who='dvhpc bootstrap'
  export DVHPC_SITE="$_dvhpc_env_site"
  _dvhpc_modules
  _dvhpc_python_env
  _dvhpc_variables
  if [[ "${DVHPC_SKIP_CHECKS:-}" == 1 ]]; then
    _dvhpc_say 'DVHPC_SKIP_CHECKS=1: skipping the checks'
  else
    _dvhpc_checks
  fi
  if (( _dvhpc_failed > 0 )); then
    _dvhpc_say "$_dvhpc_failed problem(s) found; fix them, or set DVHPC_SKIP_CHECKS=1 to skip the checks"
    return 1
  fi
  return 0
}

# module and conda scripts are often not written for `set -u`: lift it while they run.
_dvhpc_bootstrap() {
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
}

# Removes the helper functions and the spec's data from the caller's shell (run.sh, which sets
# _dvhpc_keep_expand, keeps _dvhpc_expand); keeps the status of the previous command.
_dvhpc_cleanup() {
  local _dvhpc_status=$?
  if [[ -z ${_dvhpc_keep_expand:-} ]]; then
    unset -f _dvhpc_expand
  fi
  unset -f _dvhpc_say _dvhpc_fail _dvhpc_vercmp _dvhpc_prefix_eq _dvhpc_version_ok \
    _dvhpc_first_version _dvhpc_check_plugin_versions _dvhpc_modules _dvhpc_python_env _dvhpc_variables _dvhpc_checks _dvhpc_setup \
    _dvhpc_bootstrap _dvhpc_cleanup
  unset _dvhpc_env_site _dvhpc_env_module_purge _dvhpc_env_module_use _dvhpc_env_module_load \
    _dvhpc_env_conda _dvhpc_env_venv _dvhpc_env_variable_names _dvhpc_env_variable_values _dvhpc_env_require_python \
    _dvhpc_env_require_snakemake _dvhpc_env_pip_snakemake _dvhpc_env_plugins _dvhpc_env_plugin_modules _dvhpc_env_plugin_packages \
    _dvhpc_env_plugin_ranges _dvhpc_env_slurm_commands
  return "$_dvhpc_status"
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  _dvhpc_bootstrap
  exit
fi
_dvhpc_bootstrap
_dvhpc_cleanup
return
