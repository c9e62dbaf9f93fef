# Snakemake cluster-generic status command: prints exactly one of running|success|failed.
# sacct first when the cluster keeps accounting (_dvhpc_accounting above), then squeue, then scontrol.
set -u
jobid="${1:?usage: status.sh JOBID}"
state=""
if [ "$_dvhpc_accounting" = 1 ]; then
    state="$(sacct -j "$jobid" -X -n -P -o State 2>/dev/null | head -n 1 | cut -d " " -f 1)"
fi
if [ -z "$state" ]; then
    state="$(squeue -h -j "$jobid" -o %T 2>/dev/null | head -n 1)"
fi
if [ -z "$state" ]; then
    state="$(scontrol -o show job "$jobid" 2>/dev/null | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p')"
fi
case "$state" in
    COMPLETED) echo success ;;
    PENDING|CONFIGURING|RUNNING|COMPLETING|REQUEUED|REQUEUE_FED|REQUEUE_HOLD|RESIZING|SUSPENDED|STAGE_OUT|SIGNALING|STOPPED|RESV_DEL_HOLD|SPECIAL_EXIT|PREEMPTED)
        echo running ;;
    "")
        echo "status.sh: job $jobid is unknown to sacct, squeue and scontrol" >&2
        echo failed ;;
    *) echo failed ;;
esac
