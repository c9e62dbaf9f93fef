#
# jobs.sh: look at the SLURM jobs of the site named by _dvhpc_site above.
#
#   jobs.sh status           your queued and running jobs (squeue)
#   jobs.sh usage JOBID      what a job used (sacct, or scontrol without accounting; sstat while running)
#   jobs.sh tail RULE [N]    the last N lines (default 50) of the newest log of a rule
#   jobs.sh limits           partitions and their limits (sinfo), and what the spec says
#   jobs.sh help             this help

_dvhpc_usage() {
  cat <<'EOF'
usage: jobs.sh COMMAND [ARGS]

  status           your queued and running jobs (squeue)
  usage JOBID      what a job used (sacct, or scontrol without accounting; sstat while it runs)
  tail RULE [N]    the last N lines (default 50) of the newest log file of RULE
  limits           partitions and their limits (sinfo), and the partitions in the spec
  help             this help
EOF
}

_dvhpc_need() {
  if ! command -v "$1" >/dev/null 2>&1; then
    echo "dvhpc jobs: $1 is not on PATH; run this on a login node of the cluster (or load the SLURM module)" >&2
    exit 127
  fi
}

# The rule of a job: the slurm executor plugin comments each job rule_<rule>_wildcards_<...> (its
# name is the run's id), dvhpc's cluster-generic submit command rule_<rule>. Other jobs: '-'.
_dvhpc_rule_of() {
  local rule=$1
  if [[ "$rule" != rule_* ]]; then
    echo -
    return
  fi
  rule="${rule#rule_}"
  printf '%s\n' "${rule%%_wildcards_*}"
}

# The GPUs of a job: the count from its TRES (gres/gpu=N: allocated, or requested while pending),
# the type from its per-job/node/task request (gres:gpu:TYPE:N); '-' without GPUs.
_dvhpc_gpus_of() {
  local tres=$1 request=$2 count='' type=''
  if [[ ",$tres," =~ ,gres/gpu=([0-9]+), ]]; then
    count="${BASH_REMATCH[1]}"
  elif [[ "$request" =~ gpu:([0-9]+)(,|$) ]]; then
    count="${BASH_REMATCH[1]}"
  fi
  if [[ "$request" =~ gpu:([A-Za-z0-9_.-]*[A-Za-z_.-][A-Za-z0-9_.-]*):[0-9]+ ]]; then
    type="${BASH_REMATCH[1]}"
  fi
  if [[ -z "$count" || "$count" == 0 ]]; then
    echo -
  else
    printf '%s%s\n' "$count" "${type:+ ($type)}"
  fi
}

_dvhpc_status() {
  _dvhpc_need squeue
  local out id part state used limit nodes cpus mem tres per_job per_node per_task reason name comment
  # '|' ends every field; the comment comes last, so a '|' in a wildcard value stays in it
  out="$(squeue -h -u "${USER:-$(id -un)}" -O 'JobID:|,Partition:|,StateCompact:|,TimeUsed:|,TimeLimit:|,NumNodes:|,NumCPUs:|,MinMemory:|,tres-alloc:|,tres-per-job:|,tres-per-node:|,tres-per-task:|,ReasonList:|,Name:|,Comment:|')" || return
  printf '%-10s %-10s %-24s %-3s %10s %10s %5s %4s %7s %-12s %-16s %s\n' \
    JOBID PARTITION RULE ST TIME LIMIT NODES CPUS MEM GPUS 'NODELIST(REASON)' 'NAME (run)'
  if [[ -z "$out" ]]; then
    return 0
  fi
  while IFS='|' read -r id part state used limit nodes cpus mem tres per_job per_node per_task reason name comment; do
    printf '%-10s %-10s %-24s %-3s %10s %10s %5s %4s %7s %-12s %-16s %s\n' "$id" "$part" \
      "$(_dvhpc_rule_of "${comment%|}")" "$state" "$used" "$limit" "$nodes" "$cpus" "$mem" \
      "$(_dvhpc_gpus_of "$tres" "$per_job,$per_node,$per_task")" "$reason" "$name"
  done <<<"$out"
}

_dvhpc_job_usage() {
  local id=${1:-} status state
  if [[ ! "$id" =~ ^[0-9][0-9A-Za-z_.+]*$ ]]; then
    echo "dvhpc jobs: usage needs a job id, e.g. jobs.sh usage 123456" >&2
    exit 2
  fi
  if (( _dvhpc_accounting )); then
    _dvhpc_need sacct
    if [[ -z "$(sacct -n -X -j "$id" --format=JobID 2>/dev/null)" ]]; then
      echo "dvhpc jobs: no job $id in SLURM's accounting (sacct): check the id (jobs.sh status lists yours)" >&2
      return 1
    fi
    sacct -j "$id" --format=JobID,JobName%30,State,ExitCode,Elapsed,Timelimit,AllocCPUS,ReqMem,MaxRSS,MaxVMSize
    status=$?
  else
    _dvhpc_need scontrol
    echo 'dvhpc jobs: accounting is off on this cluster (slurm.accounting: false), so sacct has no data;' >&2
    echo 'dvhpc jobs: showing scontrol show job (known only while the job is queued, running or just ended)' >&2
    if ! scontrol show job "$id"; then
      echo "dvhpc jobs: no job $id known to SLURM (scontrol keeps a job only a few minutes after it ends)" >&2
      return 1
    fi
    status=0
  fi
  if command -v squeue >/dev/null 2>&1 && command -v sstat >/dev/null 2>&1; then
    state="$(squeue -h -j "$id" -o %T 2>/dev/null)"
    if [[ "$state" == RUNNING ]]; then
      echo
      echo "# running now (sstat):"
      sstat -j "$id" --allsteps --format=JobID,NTasks,AveCPU,AveRSS,MaxRSS,MaxVMSize,MaxDiskRead,MaxDiskWrite
    fi
  fi
  return "$status"
}

_dvhpc_tail() {
  local rule=${1:-} lines=${2:-50} dir file newest=''
  if [[ ! "$rule" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]]; then
    echo "dvhpc jobs: tail needs a rule name, e.g. jobs.sh tail train_model 100" >&2
    exit 2
  fi
  if [[ ! "$lines" =~ ^[0-9]+$ ]]; then
    echo "dvhpc jobs: N must be a number of lines, not '$lines'" >&2
    exit 2
  fi
  _dvhpc_enter_workdir 'dvhpc jobs'
  _dvhpc_find_logdir 'dvhpc jobs'
  if [[ -d "$logdir" ]]; then
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
    done < <(find "$dir" -type f \( -name '*.log' -o -name '*.out' -o -name '*.err' \) -print0)
  done
  if [[ -z "$newest" ]]; then
    echo "dvhpc jobs: no log files of rule '$rule' under $logdir (looked in rule_$rule/ and $rule/)" >&2
    exit 1
  fi
  case "$newest" in
    *.out | *.err)
      for file in "${newest%.*}.out" "${newest%.*}.err"; do
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
}

_dvhpc_limits() {
  _dvhpc_need sinfo
  sinfo -o '%14P %.11l %.6c %.10m %.30G %.6D %.6a'
  local status=$?
  if (( ${#_dvhpc_partition_lines[@]} )); then
    echo
    printf '%s\n' "# partitions in the spec of site $_dvhpc_site:" "${_dvhpc_partition_lines[@]}"
  fi
  return "$status"
}

sub=${1:-}
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
