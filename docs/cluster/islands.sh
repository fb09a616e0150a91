#!/bin/bash
# Submit a pxos island experiment to Slurm: a job array, one island per task, the islands
# exchanging migrants through a shared folder at generation boundaries. Prints the array's
# job id ("islands <id>").
#
#   islands.sh
#
# Every island waits for its neighbour's migrants, so all PXOS_ISLANDS tasks must run at
# once: the cluster needs PXOS_ISLANDS x PXOS_CPUS free CPUs. An island whose neighbour
# has not started within PXOS_EXCHANGE_TIMEOUT seconds stops with an error naming it.
#
# Run it from a folder every node sees: the job logs go to ./logs. Settings, from the
# environment (defaults in brackets):
#   PXOS_PROBLEM           the problem of the shipped suite to evolve [absolute]
#   PXOS_SEED              the experiment's seed [0]
#   PXOS_GENERATIONS       generations [30]
#   PXOS_POPULATION        individuals per island [60]
#   PXOS_ISLANDS           how many islands, one array task each [3]
#   PXOS_MIGRATE_EVERY     migrate after every G-th generation [5]
#   PXOS_MIGRANTS          how many of an island's best go to the next island [2]
#   PXOS_ISLANDS_DIR       where the exchange folder, the logs, best kernels and reports
#                          go [/shared/islands]
#   PXOS_EXCHANGE_TIMEOUT  seconds an island waits for its neighbour's migrants [600]
#   PXOS_CPUS              CPUs per island, also pxos evolve --jobs [1]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export PXOS_PROBLEM=${PXOS_PROBLEM:-absolute}
export PXOS_SEED=${PXOS_SEED:-0}
export PXOS_GENERATIONS=${PXOS_GENERATIONS:-30}
export PXOS_POPULATION=${PXOS_POPULATION:-60}
export PXOS_ISLANDS=${PXOS_ISLANDS:-3}
export PXOS_MIGRATE_EVERY=${PXOS_MIGRATE_EVERY:-5}
export PXOS_MIGRANTS=${PXOS_MIGRANTS:-2}
export PXOS_ISLANDS_DIR=${PXOS_ISLANDS_DIR:-/shared/islands}
export PXOS_EXCHANGE_TIMEOUT=${PXOS_EXCHANGE_TIMEOUT:-600}
export PXOS_CPUS=${PXOS_CPUS:-1}
# Slurm does not make the --output folder: without it every task fails, silently.
mkdir -p logs "$PXOS_ISLANDS_DIR"
array=$(sbatch --parsable --array="0-$((PXOS_ISLANDS - 1))" --cpus-per-task="$PXOS_CPUS" \
  "$here/islands.sbatch")
array=${array%%;*}   # --parsable prints "id" or "id;cluster"
echo "islands $array"
