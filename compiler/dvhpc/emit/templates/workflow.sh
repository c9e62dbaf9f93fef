# workflow.sh: run.sh's own log folder, and what it runs before Snakemake (the version, the unlock).

# _dvhpc_find_run_logdir WHO: sets logdir to snakemake.run_logdir (relative to the working folder),
# made and absolute. With the slurm executor it must not lie inside snakemake.logdir, whose old *.log
# files the plugin deletes (compile refuses what it can see; this checks the real folders).
_dvhpc_find_run_logdir() {
  if ! _dvhpc_expand "$1" snakemake.logdir "$_dvhpc_logdir"; then
    exit 1
  fi
  local _dvhpc_jobs=$_dvhpc_value
  if ! _dvhpc_expand "$1" snakemake.run_logdir "$_dvhpc_run_logdir"; then
    exit 1
  fi
  logdir=$_dvhpc_value
  if ! mkdir -p -- "$logdir" || ! logdir="$(cd -- "$logdir" && pwd -P)"; then
    printf '%s %s\n' "$1: cannot create the log folder" "$logdir" >&2
    exit 1
  fi
  if [[ $_dvhpc_executor != slurm ]]; then
    return 0
  fi
  if [[ -d $_dvhpc_jobs ]]; then
    _dvhpc_jobs="$(cd -- "$_dvhpc_jobs" && pwd -P)"
  elif [[ $_dvhpc_jobs != /* ]]; then
    _dvhpc_jobs="$PWD/$_dvhpc_jobs"
  fi
  _dvhpc_jobs=${_dvhpc_jobs%/}
  if [[ $logdir == "$_dvhpc_jobs" || $logdir == "$_dvhpc_jobs"/* ]]; then
    printf '%s\n' "$1: the run log folder $logdir (snakemake.run_logdir) is inside $_dvhpc_jobs (snakemake.logdir), where the slurm plugin deletes old *.log files; set snakemake.run_logdir to another folder" >&2
    exit 1
  fi
}

# _dvhpc_before_run WHO LOG: prints Snakemake's version, then (snakemake.unlock_first) removes a
# stale lock with `snakemake --unlock --cores=1` and the run's profile and Snakefile, as
# DynVision's _snakecharm.sh did; both on the terminal and in LOG. Exits when either fails.
_dvhpc_before_run() {
  local _dvhpc_version
  if ! _dvhpc_version="$(snakemake --version 2>&1)"; then
    printf '%s\n%s\n' "$1: snakemake --version failed:" "$_dvhpc_version" | tee -a -- "$2" >&2
    exit 1
  fi
  printf '%s\n' "$1: running workflow with snakemake version $_dvhpc_version" | tee -a -- "$2"
  if (( ! _dvhpc_unlock_first )); then
    return 0
  fi
  local _dvhpc_unlock
  _dvhpc_unlock=(snakemake --unlock --cores=1 --profile "$here/profile")
  if [[ -n $_dvhpc_snakefile_path ]]; then
    _dvhpc_unlock+=(--snakefile "$_dvhpc_snakefile_path")
  fi
  {
    printf '#'
    printf ' %q' "${_dvhpc_unlock[@]}"
    printf '\n'
  } >>"$2"
  "${_dvhpc_unlock[@]}" </dev/null 2>&1 | tee -a -- "$2"
  local _dvhpc_status=${PIPESTATUS[0]}
  if (( _dvhpc_status != 0 )); then
    printf '%s\n' "$1: snakemake --unlock failed (exit $_dvhpc_status); the workflow was not started" | tee -a -- "$2" >&2
    exit 1
  fi
}
