#!/usr/bin/env bash
# A stand-in for cluster and environment programs in the dvhpc script tests.
#
# Tests link it under the names they need (module, conda, python, python3, snakemake, sbatch,
# squeue, sacct, sstat, sinfo, scontrol, apptainer, singularity) into a folder on PATH.
# Every call is recorded in $STUB_LOG as one line: the program name and each argument,
# separated by the unit separator \x1f, newlines in arguments written as \n. Behaviour is chosen
# by STUB_* variables (see below).
name=${0##*/}
record() {
  local arg line=$1
  shift
  for arg in "$@"; do
    line+=$'\x1f'"${arg//$'\n'/\\n}"
  done
  if [[ -n "${STUB_LOG:-}" ]]; then
    printf '%s\n' "$line" >>"$STUB_LOG"
  fi
}
record "$name" "$@"

case "$name" in
  module)
    # STUB_MODULE_FAIL: module names whose `module load` fails.
    if [[ "${1:-}" == load && " ${STUB_MODULE_FAIL:-} " == *" ${2:-} "* ]]; then
      echo "stub module: unknown module ${2:-}" >&2
      exit 1
    fi
    exit 0
    ;;
  conda)
    # `conda shell.bash hook` prints a shell function `conda` that records its calls as conda-fn;
    # `conda activate NAME` fails for names in STUB_CONDA_MISSING, else sets CONDA_DEFAULT_ENV.
    if [[ "$*" == "shell.bash hook" ]]; then
      cat <<'EOF'
conda() {
  # Like conda's own scripts, this reads a variable that may be unset (fails under set -u).
  local shlvl=$CONDA_STUB_SHLVL
  if [[ -n "${STUB_LOG:-}" ]]; then
    { printf 'conda-fn'; printf '\x1f%s' "$@"; printf '\n'; } >>"$STUB_LOG"
  fi
  if [[ "${1:-}" == activate ]]; then
    if [[ " ${STUB_CONDA_MISSING:-} " == *" ${2:-} "* ]]; then
      echo "stub conda: no environment ${2:-}" >&2
      return 1
    fi
    export CONDA_DEFAULT_ENV="${2:-}" CONDA_STUB_SHLVL="$shlvl"
  fi
  return 0
}
EOF
    fi
    exit 0
    ;;
  python | python3)
    # -c '...version_info...' prints STUB_PYTHON_VERSION; -c 'import MOD' fails for MOD in STUB_MISSING_MODULES.
    if [[ "${1:-}" == -c ]]; then
      case "${2:-}" in
        *version_info*)
          echo "${STUB_PYTHON_VERSION:-3.12.1}"
          exit 0
          ;;
        "import "*)
          module=${2#import }
          if [[ " ${STUB_MISSING_MODULES:-} " == *" $module "* ]]; then
            echo "ModuleNotFoundError: No module named '$module'" >&2
            exit 1
          fi
          exit 0
          ;;
      esac
    fi
    exit 0
    ;;
  snakemake)
    # --version prints STUB_SNAKEMAKE_VERSION; a run prints its folder and arguments (stdout and
    # stderr), sleeps STUB_SNAKEMAKE_SLEEP seconds and exits with STUB_SNAKEMAKE_EXIT.
    if [[ "${1:-}" == --version ]]; then
      echo "${STUB_SNAKEMAKE_VERSION:-9.27.1}"
      exit 0
    fi
    echo "stub snakemake: in $PWD"
    echo "stub snakemake: on stderr" >&2
    printf 'stub snakemake arg: %s\n' "$@"
    if [[ -n "${STUB_SNAKEMAKE_SLEEP:-}" ]]; then
      sleep "$STUB_SNAKEMAKE_SLEEP"
    fi
    echo "stub snakemake: done"
    exit "${STUB_SNAKEMAKE_EXIT:-0}"
    ;;
  squeue)
    # `squeue -h -j ID -o %T` prints STUB_SQUEUE_STATE, `squeue -h ... -O ...` STUB_SQUEUE_LINES (recorded
    # real output); anything else prints a header line.
    if [[ " $* " == *" -h "* && " $* " == *" -O "* ]]; then
      printf '%s' "${STUB_SQUEUE_LINES:-}"
    elif [[ " $* " == *" -h "* ]]; then
      echo "${STUB_SQUEUE_STATE:-}"
    else
      echo "JOBID PARTITION NAME STATE"
    fi
    exit 0
    ;;
  apptainer | singularity)
    # Emulates `exec [--nv] [--overlay X] [--bind X] [--env NAME=VALUE] IMAGE CMD...` with a clean
    # environment (like --cleanenv): only PATH, HOME, STUB_*, <ENGINE>ENV_NAME (as NAME) and the
    # --env values (which win, as with the real engines) go in.
    if [[ "${1:-}" != exec ]]; then
      echo "stub $name: only exec is emulated" >&2
      exit 64
    fi
    shift
    given=()
    while [[ $# -gt 0 ]]; do
      case "$1" in
        --nv) shift ;;
        --overlay | --bind) shift 2 ;;
        --env)
          given+=("$2")
          shift 2
          ;;
        -*)
          echo "stub $name: unknown option $1" >&2
          exit 64
          ;;
        *) break ;;
      esac
    done
    shift # the image
    prefix=APPTAINERENV_
    if [[ "$name" == singularity ]]; then
      prefix=SINGULARITYENV_
    fi
    inside=(PATH="$PATH" HOME="${HOME:-}")
    while IFS= read -r var; do
      case "$var" in
        STUB_*) inside+=("$var=${!var}") ;;
        "$prefix"*) inside+=("${var#"$prefix"}=${!var}") ;;
      esac
    done < <(compgen -e)
    exec env -i "${inside[@]}" "${given[@]}" "$@"
    ;;
  sacct)
    # prints STUB_SACCT_LINES (recorded output of a job; empty: no such job).
    printf '%s' "${STUB_SACCT_LINES:-}"
    exit "${STUB_EXIT:-0}"
    ;;
  *)
    # sbatch, sstat, sinfo, scontrol: record only.
    exit "${STUB_EXIT:-0}"
    ;;
esac
