"""What a SLURM cluster says about itself, as typed facts that `init` (and checks against the live
cluster) read.

  values     SLURM's forms of times, counts, memory, GRES and host lists
  records    what each command reports, record by record; `Problem` for what was skipped
  scontrol   `scontrol show partition|node|config`     sinfo     `sinfo` tables
  accounts   `sacctmgr ... format=account`, `sshare`; associations and QOS (`sacctmgr -P show assoc/qos`)
  facts      `Partition`, `ClusterFacts` and their JSON form
  aggregate  records -> one `Partition` per partition (the smallest node's limits)
  recorded   facts from saved outputs, each recognised by its content
  live       facts from the live cluster (the commands run with timeouts; `details`: accounting too)

Parsers never raise on bad input: a malformed line becomes a `Problem` (source:line: what is wrong).
"""
