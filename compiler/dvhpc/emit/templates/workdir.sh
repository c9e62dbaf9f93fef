# workdir.sh: the workflow's folder and the log folder, shared by run.sh and jobs.sh.

# _dvhpc_enter_workdir WHO: change into environment.workdir when the spec sets one; exits on failure.
_dvhpc_enter_workdir() {
  if (( ${#_dvhpc_workdir[@]} == 0 )); then
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
