# workdir.sh: the workflow's folder and the log folder, shared by run.sh and jobs.sh.

# _dvhpc_enter_workdir WHO: change into the folder Snakemake runs in: environment.workdir when the
# spec sets one, else the folder of snakemake.snakefile (Snakemake resolves a relative slurm-logdir
# against it), else stay; exits on failure. Sets _dvhpc_snakefile_path to the Snakefile's absolute
# path (relative paths: to where the script was started), or to nothing without snakemake.snakefile.
_dvhpc_enter_workdir() {
  _dvhpc_snakefile_path=''
  if (( ${#_dvhpc_snakefile[@]} )); then
    if ! _dvhpc_expand "$1" snakemake.snakefile "${_dvhpc_snakefile[0]}"; then
      exit 1
    fi
    local _dvhpc_folder=.
    if [[ $_dvhpc_value == */* ]]; then
      _dvhpc_folder=${_dvhpc_value%/*}
    fi
    if [[ ! -f $_dvhpc_value ]] || ! _dvhpc_folder="$(cd -- "${_dvhpc_folder:-/}" && pwd)"; then
      printf '%s %s %s\n' "$1: no Snakefile at" "$_dvhpc_value" "(snakemake.snakefile)" >&2
      exit 1
    fi
    _dvhpc_snakefile_path="${_dvhpc_folder%/}/${_dvhpc_value##*/}"
  fi
  if (( ${#_dvhpc_workdir[@]} == 0 )); then
    if [[ -n $_dvhpc_snakefile_path ]] && ! cd -- "${_dvhpc_snakefile_path%/*}/"; then
      printf '%s %s\n' "$1: cannot change into the Snakefile's folder" "${_dvhpc_snakefile_path%/*}/" >&2
      exit 1
    fi
    return 0
  fi
  if ! _dvhpc_expand "$1" environment.workdir "${_dvhpc_workdir[0]}"; then
    exit 1
  fi
  if ! cd -- "$_dvhpc_value"; then
    printf '%s %s\n' "$1: cannot change into environment.workdir" "$_dvhpc_value" >&2
    exit 1
  fi
}

# _dvhpc_find_logdir WHO: sets logdir to snakemake.logdir (relative to the working folder); exits
# when a variable it needs is not set.
_dvhpc_find_logdir() {
  if ! _dvhpc_expand "$1" snakemake.logdir "$_dvhpc_logdir"; then
    exit 1
  fi
  logdir=$_dvhpc_value
}
