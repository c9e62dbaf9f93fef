#
# run.sh: start Snakemake with the profile of the site named by _dvhpc_site above (replaces
# snakecharm.sh).
#
#   run.sh [--foreground] [--allow-stale] [--] [snakemake arguments...]
#
# Sources bootstrap.sh (and stops if it reports a problem), changes into environment.workdir
# (default: the folder of snakemake.snakefile), prints Snakemake's version, runs
# `snakemake --unlock --cores=1` first with snakemake.unlock_first, and runs
# `snakemake --profile <this folder>/profile [--snakefile FILE] ARGS...`.
# By default Snakemake runs in the background (nohup) and its output goes to
#   <logdir>/snakecharm_<arguments>_<UTC time>.log
# (logdir: snakemake.run_logdir of the spec, relative to the working folder; never inside
# snakemake.logdir, where the slurm plugin deletes old logs); the PID and the log path are printed. --foreground runs attached, shows the output and writes the log too, and
# exits with Snakemake's exit status. Every argument reaches Snakemake unchanged.

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

_dvhpc_usage() {
  cat <<'EOF'
usage: run.sh [--foreground] [--allow-stale] [--] [snakemake arguments...]

EOF
  printf "Start Snakemake with this site's profile (%s).\n" "$_dvhpc_site"
  cat <<'EOF'
  --foreground   run attached and exit with Snakemake's status (default: background, nohup)
  --allow-stale  run even though the spec changed since these files were generated
  --             end of run.sh's options (e.g. run.sh -- --help shows Snakemake's help)
  -h, --help     show this help
Output is logged to <logdir>/snakecharm_<arguments>_<UTC time>.log.
EOF
}

foreground=0
allow_stale=0
while (( $# )); do  # run.sh's own options, in any order
case "${1:-}" in
  -h | --help)
    _dvhpc_usage
    exit 0
    ;;
  --foreground)
    foreground=1
    shift
    ;;
  --allow-stale)
    allow_stale=1
    shift
    ;;
  *) break ;;
esac
done
if [[ "${1:-}" == "--" ]]; then
  shift
fi

_dvhpc_refuse_stale "$allow_stale" || exit 1  # a spec file changed since generation (stale.sh)
if [[ ! -d "$here/profile" ]]; then
  echo "dvhpc run: no Snakemake profile at $here/profile; run dvhpc compile again" >&2
  exit 1
fi

# bootstrap.sh sits next to this script; it is checked on its own. It leaves _dvhpc_expand
# defined for the steps below.
_dvhpc_keep_expand=1
# shellcheck source=/dev/null
if ! source "$here/bootstrap.sh"; then
  echo "dvhpc run: the environment is not ready (see the messages above); Snakemake was not started" >&2
  exit 1
fi
if ! command -v snakemake >/dev/null 2>&1; then
  echo "dvhpc run: snakemake is not on PATH after bootstrap.sh" >&2
  exit 127
fi

# The workflow's folder (environment.workdir, or the Snakefile's), then run.sh's log folder
# (snakemake.run_logdir) relative to it.
_dvhpc_enter_workdir 'dvhpc run'
_dvhpc_find_run_logdir 'dvhpc run'

stamp="$(date -u +%Y%m%dT%H%M%SZ)"
# The arguments as a file name part: / -> -, anything but [A-Za-z0-9._=-] -> _, at most 100 characters.
label="$(printf '%s' "$*" | tr '/' '-' | LC_ALL=C tr -c 'A-Za-z0-9._=-' '_')"
label="${label:0:100}"
if [[ -n "$label" ]]; then
  base="$logdir/snakecharm_${label}_$stamp"
else
  base="$logdir/snakecharm_$stamp"
fi
log="$base.log"
n=2
while [[ -e "$log" ]]; do
  log="${base}_$n.log"
  n=$((n + 1))
done

# One id per run, in every job's name, so `jobs.sh status` and people can tell runs apart
# (the slurm plugin names jobs <prefix>_<uuid>; cluster-generic's submit command reads DVHPC_RUN_ID).
if [[ -z "${DVHPC_RUN_ID:-}" ]]; then
  DVHPC_RUN_ID="$(printf '%s' "${_dvhpc_site:0:24}" | tr -c 'A-Za-z0-9_-' '_')-$stamp-$$"
fi
export DVHPC_RUN_ID
cmd=(snakemake --profile "$here/profile")
if [[ -n $_dvhpc_snakefile_path ]]; then
  cmd+=(--snakefile "$_dvhpc_snakefile_path")
fi
if [[ $_dvhpc_executor == slurm ]]; then
  cmd+=(--slurm-jobname-prefix "$DVHPC_RUN_ID")
fi
cmd+=("$@")
{
  printf '# dvhpc run.sh, site %s, run %s, %s, in %s:\n#' "$_dvhpc_site" "$DVHPC_RUN_ID" "$stamp" "$PWD"
  printf ' %q' "${cmd[@]}"
  printf '\n'
} >"$log"
_dvhpc_before_run 'dvhpc run' "$log"

if (( foreground )); then
  echo "dvhpc run: run $DVHPC_RUN_ID, log: $log" >&2
  "${cmd[@]}" 2>&1 | tee -i -a -- "$log"
  exit "${PIPESTATUS[0]}"
fi

nohup "${cmd[@]}" >>"$log" 2>&1 </dev/null &
pid=$!
echo "dvhpc run: snakemake started in the background, PID $pid, run $DVHPC_RUN_ID"
echo "dvhpc run: log: $log"
printf 'dvhpc run: follow it with: tail -f %q\n' "$log"
