#!/bin/bash
# Submit a sharded pxos batch to Slurm: a job array (one shard per task) and a merge that
# runs once every task of that array succeeded. Prints both job ids.
#
#   submit.sh          all shards, 0 to PXOS_SHARDS-1
#   submit.sh 3,7      shards 3 and 7 again (after they failed), and a new merge
#
# Run it from a folder every node sees: the job logs go to ./logs. Settings, from the
# environment (defaults in brackets):
#   PXOS_KERNELS   the batch's input: a folder of kernels or a manifest [/shared/kernels]
#   PXOS_RESULTS   where the shard files and all.jsonl go [/shared/results]
#   PXOS_SHARDS    how many shards [16]
#   PXOS_FUEL      fuel per kernel [1000000]
#   PXOS_CPUS      CPUs per task, also pxos batch --jobs [the CPUs of the smallest node]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export PXOS_KERNELS=${PXOS_KERNELS:-/shared/kernels}
export PXOS_RESULTS=${PXOS_RESULTS:-/shared/results}
export PXOS_SHARDS=${PXOS_SHARDS:-16}
export PXOS_FUEL=${PXOS_FUEL:-1000000}
# A task asking for more CPUs than any node has pends forever.
cpus=${PXOS_CPUS:-$(sinfo --noheader --Node --format=%c | sort -n | head -1)}
indexes=${1:-0-$((PXOS_SHARDS - 1))}
# Slurm does not make the --output folder: without it every task fails, silently.
mkdir -p logs "$PXOS_RESULTS"
array=$(sbatch --parsable --array="$indexes" --cpus-per-task="$cpus" "$here/batch.sbatch")
array=${array%%;*}   # --parsable prints "id" or "id;cluster"
# If a task fails, the merge can never start: --kill-on-invalid-dep cancels it instead of
# leaving it pending forever. Run submit.sh again with the failed indexes.
merge=$(sbatch --parsable --dependency="afterok:$array" --kill-on-invalid-dep=yes \
  "$here/merge.sbatch")
merge=${merge%%;*}
echo "batch $array merge $merge"
