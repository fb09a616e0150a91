#!/usr/bin/env bash
# Brings up a single-node Slurm on this machine (as root, from Debian's packages: munge,
# slurmctld, slurmd, slurm-client), runs docs/CLUSTER.md's batch array exactly as the docs
# show (docs/cluster/submit.sh, batch.sbatch, merge.sbatch), including a failed shard
# resubmitted with a new merge, and checks the merged result equals an unsharded
# `pxos batch` (wall times aside); then its islands array (islands.sh, islands.sbatch: one
# evolution island per task, migrants through a shared folder) and checks each island's
# log and best kernel equal the same experiment in one process (`--islands 3`), and that
# islands that cannot all run at once stop after the exchange timeout. Its daemons use their own config, key, sockets and
# folders under a temporary folder (SLURM_CONF points the Slurm commands there) and are
# stopped on exit, failed or not. Every wait is bounded.
#
#   ci/slurm.sh                 (as root; .ci/run runs it after cargo test)
#
# Environment: PXOS_BIN (the pxos binary; default: cargo build's target/debug/pxos),
# SLURM_CI_TIMEOUT (seconds any one wait may take, default 120).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
limit=${SLURM_CI_TIMEOUT:-120}
started=$(date +%s)
say() { echo "slurm.sh [$(($(date +%s) - started))s]: $*" >&2; }
fail() {
  say "FAILED: $*"
  exit 1
}

[ "$(id -u)" = 0 ] || fail "must run as root (it installs packages and starts daemons)"

# --- 1. Debian's packages -------------------------------------------------------------
packages=(munge slurmctld slurmd slurm-client)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # The packages' scripts should not start the system's own daemons (ours are below, with
  # their own ports and sockets): a policy-rc.d that says no, unless the machine has one.
  policy=/usr/sbin/policy-rc.d
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy"
    trap 'rm -f "$policy"' EXIT
  fi
  timeout 300 apt-get update -qq || fail "apt-get update failed or took over 300 s"
  timeout 600 apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
    fail "apt-get install ${missing[*]} failed or took over 600 s"
  if [ "$(trap -p EXIT)" ]; then
    rm -f "$policy"
    trap - EXIT
  fi
  say "installed"
fi

# --- 2. pxos --------------------------------------------------------------------------
if [ -z "${PXOS_BIN:-}" ]; then
  (cd "$repo" && cargo build --quiet --bin pxos)
  PXOS_BIN=$repo/target/debug/pxos
fi
[ -x "$PXOS_BIN" ] || fail "no pxos binary at $PXOS_BIN"
bin=$(mktemp -d /tmp/pxos-slurm-bin.XXXXXX)
ln -s "$(readlink -f "$PXOS_BIN")" "$bin/pxos"
export PATH="$bin:$PATH"

# --- 3. a single-node Slurm -----------------------------------------------------------
work=$(mktemp -d /tmp/pxos-slurm.XXXXXX)
chmod 0755 "$work"
pids=()
stop() {
  local status=$?
  for pidfile in "$work/slurmd.pid" "$work/slurmctld.pid" "$work/munge/munged.pid"; do
    [ -s "$pidfile" ] && pids+=("$(cat "$pidfile")")
  done
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for _ in $(seq 50); do
    alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ $alive = 0 ] && break
    sleep 0.1
  done
  for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  if [ $status != 0 ]; then
    for f in "$work"/slurmctld.log "$work"/slurmd.log "$work"/submit/logs/*; do
      [ -f "$f" ] && { echo "--- $f (last 30 lines)"; tail -30 "$f"; } >&2
    done
  fi
  rm -rf "$work" "$bin"
  exit $status
}
trap stop EXIT

host=$(hostname -s)
mkdir -p "$work/munge" "$work/ctld" "$work/spool" "$work/submit"
chmod 0700 "$work/munge"
dd if=/dev/urandom of="$work/munge/munge.key" bs=1024 count=1 status=none
chmod 0600 "$work/munge/munge.key"
socket=$work/munge/munge.socket
munged --force --key-file="$work/munge/munge.key" --socket="$socket" \
  --pid-file="$work/munge/munged.pid" --log-file="$work/munge/munged.log" \
  --seed-file="$work/munge/munged.seed" || fail "munged did not start (see $work/munge/munged.log)"

# The node as slurmd sees it (CPUs, sockets, cores, threads, memory), e.g.
# "NodeName=host CPUs=2 Boards=1 SocketsPerBoard=1 CoresPerSocket=1 ThreadsPerCore=2 RealMemory=24000".
node=$(slurmd -C | head -1)
case $node in NodeName=*" CPUs="*) ;; *) fail "slurmd -C gave no node line: $node" ;; esac
export SLURM_CONF=$work/slurm.conf
cat >"$SLURM_CONF" <<CONF
ClusterName=pxosci
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
SlurmctldPort=16817
SlurmdPort=16818
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$socket
StateSaveLocation=$work/ctld
SlurmdSpoolDir=$work/spool
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd.pid
SlurmctldLogFile=$work/slurmctld.log
SlurmdLogFile=$work/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
ReturnToService=2
MinJobAge=600
$node NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=ci Nodes=ALL Default=YES MaxTime=INFINITE State=UP
PartitionName=islands Nodes=ALL MaxTime=INFINITE OverSubscribe=FORCE:4 State=UP
CONF
slurmctld -f "$SLURM_CONF" || fail "slurmctld did not start"
slurmd -f "$SLURM_CONF" || fail "slurmd did not start"

# wait_for WHAT COMMAND...: run COMMAND every half second until it succeeds, at most
# $limit seconds.
wait_for() {
  local what=$1 deadline=$(($(date +%s) + limit))
  shift
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$deadline" ] || fail "timed out after ${limit}s waiting for $what"
    sleep 0.5
  done
}
node_idle() { sinfo --noheader --Node --format=%t | grep -qx idle; }
wait_for "the node to be idle" node_idle
say "Slurm is up: $(sinfo --noheader --Node --format='%N %c CPUs %m MB %t')"

# finished JOBID: no task of the job is pending or running any more.
finished() { [ -z "$(squeue --noheader --jobs="$1" --format=%i 2>/dev/null)" ] && scontrol show job "$1" >/dev/null; }
# states JOBID: the states of its tasks, e.g. "COMPLETED COMPLETED FAILED".
states() { scontrol show job --oneliner "$1" | grep -o 'JobState=[A-Z_]*' | cut -d= -f2 | sort | uniq -c | xargs; }

# --- 4. the documented batch array ----------------------------------------------------
# Exactly docs/CLUSTER.md's commands, with its settings pointed at a "shared" folder of
# our own: 5 copies of this repository's kernels (100 files, so that no shard of 4 is
# empty, whatever the folder's path). Shard 2's output is held by another writer (as if
# submitted twice), so that task fails: the merge is cancelled, not left pending, and the
# documented recovery (submit.sh with the failed index) finishes the batch.
export PXOS_KERNELS=$work/shared/kernels PXOS_RESULTS=$work/shared/results PXOS_SHARDS=4
export PXOS_FUEL=1000000
for copy in 0 1 2 3 4; do
  mkdir -p "$PXOS_KERNELS/copy-$copy"
  cp -r "$repo/kernels/." "$PXOS_KERNELS/copy-$copy/"
done
cd "$work/submit"
mkdir -p "$PXOS_RESULTS"
holder_ready=$work/holder.ready
# The holder becomes `sleep` itself (exec), so killing it releases the lock.
(flock 9 && touch "$holder_ready" && exec sleep $((limit * 3))) 9>>"$PXOS_RESULTS/shard-2.jsonl" &
holder=$!
pids+=("$holder")
wait_for "the lock holder" test -e "$holder_ready"

submitted=$("$repo/docs/cluster/submit.sh") || fail "submit.sh failed"
read -r _ array _ merge <<<"$submitted"
say "submitted array job $array and merge job $merge"
wait_for "array job $array to finish" finished "$array"
wait_for "merge job $merge to end" finished "$merge"
say "array $array: $(states "$array"); merge $merge: $(states "$merge")"
[ "$(states "$array")" = "3 COMPLETED 1 FAILED" ] || fail "expected shard 2 alone to fail"
[ "$(states "$merge")" = "1 CANCELLED" ] || fail "expected the merge to be cancelled"
[ ! -e "$PXOS_RESULTS/all.jsonl" ] || fail "a merge ran on an incomplete batch"
grep -q "being written by another pxos batch" logs/"${array}"_2.log ||
  fail "shard 2's log does not say why it failed"

# The merge by hand, before the failed shard is done, names the missing shard.
if pxos merge "$PXOS_RESULTS"/shard-*.jsonl --expect-shards 4 --out "$work/partial.jsonl" 2>"$work/partial.err"; then
  fail "merging 3 of 4 shards succeeded"
fi
grep -q "^pxos: incomplete: no records from shard 2 of 4" "$work/partial.err" ||
  fail "merge of 3 shards said: $(cat "$work/partial.err")"

kill "$holder"
wait "$holder" 2>/dev/null || true
submitted=$("$repo/docs/cluster/submit.sh" 2) || fail "submit.sh 2 failed"
read -r _ array _ merge <<<"$submitted"
say "resubmitted shard 2 as job $array, merge job $merge"
wait_for "array job $array to finish" finished "$array"
wait_for "merge job $merge to end" finished "$merge"
say "array $array: $(states "$array"); merge $merge: $(states "$merge")"
[ "$(states "$array")" = "1 COMPLETED" ] || fail "the resubmitted shard did not complete"
[ "$(states "$merge")" = "1 COMPLETED" ] || fail "the merge did not complete: $(cat logs/"${merge}"_merge.log)"

# --- 5. the same batch unsharded ------------------------------------------------------
set +e
pxos batch "$PXOS_KERNELS" --engine tiered --fuel "$PXOS_FUEL" --out "$work/whole.jsonl" 2>"$work/whole.err"
status=$?
set -e
[ $status -le 1 ] || fail "the unsharded batch: $(cat "$work/whole.err")"
pxos merge "$work/whole.jsonl" --out "$work/whole.sorted.jsonl" 2>/dev/null
# Records are merged with sorted keys, so wall_ms is each line's last field.
strip() { sed -E 's/,"wall_ms":[^,}]*}$/}/' "$1"; }
strip "$PXOS_RESULTS/all.jsonl" >"$work/a"
strip "$work/whole.sorted.jsonl" >"$work/b"
! grep -q wall_ms "$work/a" "$work/b" || fail "wall_ms left in a record"
records=$(wc -l <"$work/a")
[ "$records" -gt 0 ] || fail "no records"
cmp "$work/a" "$work/b" || fail "the merged shards differ from the unsharded run: $(diff "$work/a" "$work/b" | head -5)"
say "OK: $records records; the 4 shards run by Slurm, merged, equal the unsharded batch"
say "shard sizes: $(wc -l "$PXOS_RESULTS"/shard-*.jsonl | head -4 | awk '{print $1}' | xargs)"

# --- 6. the documented islands array --------------------------------------------------
# docs/CLUSTER.md's islands.sh and islands.sbatch with their default experiment (3 islands
# of the `absolute` problem), then the same experiment in one process (`--islands 3`): every
# island's log and best kernel must be equal. The islands wait for each other, so the 3
# one-CPU tasks must run at once: on a node with fewer CPUs the `islands` partition lets
# them share (OverSubscribe=FORCE), as a site's partition may.
export PXOS_ISLANDS_DIR=$work/shared/islands
submitted=$(SBATCH_PARTITION=islands "$repo/docs/cluster/islands.sh") || fail "islands.sh failed"
read -r _ islands_job <<<"$submitted"
say "submitted islands array job $islands_job"
wait_for "islands job $islands_job to finish" finished "$islands_job"
say "islands $islands_job: $(states "$islands_job")"
[ "$(states "$islands_job")" = "3 COMPLETED" ] ||
  fail "expected 3 completed islands: $(cat logs/"${islands_job}"_*.log)"

# The one-process run as docs/CLUSTER.md shows it, in the folder $work/ring.
one_process() {
  pxos evolve --problem absolute --seed 0 --generations 30 --population 60 \
    --islands 3 --migrate-every 5 --migrants 2 --log run.jsonl --json >ring.json
}
ring=$work/ring
mkdir -p "$ring"
(cd "$ring" && one_process) 2>"$work/ring.err" || fail "the one-process run: $(cat "$work/ring.err")"
# Evaluations per second is the only field of a log line that depends on the machine.
rate() { sed -E 's/"evaluations_per_second":[^,}]*,?//' "$1"; }
# island I's entry of a report: {"born":..,"bytecode_hex":..,..,"island":I,"size":..}.
entry() { grep -o "{[^{}]*\"island\":$2,[^{}]*}" "$1"; }
for i in 0 1 2; do
  rate "$PXOS_ISLANDS_DIR/run.island$i.jsonl" >"$work/a"
  rate "$ring/run.island$i.jsonl" >"$work/b"
  [ "$(wc -l <"$work/a")" = 30 ] || fail "island $i's log has $(wc -l <"$work/a") lines, not 30"
  cmp -s "$work/a" "$work/b" ||
    fail "island $i's log differs from the one-process run's: $(diff "$work/a" "$work/b" | head -5)"
  alone=$(entry "$PXOS_ISLANDS_DIR/report.island$i.json" "$i") || fail "no island $i in its report"
  [ "$alone" = "$(entry "$ring/ring.json" "$i")" ] ||
    fail "island $i's best differs: $alone vs $(entry "$ring/ring.json" "$i")"
  hex=$(od -An -v -tx1 "$PXOS_ISLANDS_DIR/best.island$i.bin" | tr -d ' \n')
  [[ $alone == *"\"bytecode_hex\":\"$hex\""* ]] || fail "best.island$i.bin is not island $i's best"
done
say "OK: 3 islands run by Slurm as an array equal the one-process run (logs and best kernels)"

# The same array when its islands cannot all run at once (each task asks for the whole node,
# so they run one after another): no island waits forever; each stops after
# PXOS_EXCHANGE_TIMEOUT seconds, naming the neighbour whose migrants did not come. (A fresh
# folder: the first run's migrants files would satisfy these islands.)
export PXOS_ISLANDS_DIR=$work/shared/islands-queued PXOS_EXCHANGE_TIMEOUT=5
PXOS_CPUS=$(sinfo --noheader --Node --format=%c | sort -n | head -1)
export PXOS_CPUS
submitted=$("$repo/docs/cluster/islands.sh") || fail "islands.sh (queued) failed"
read -r _ queued <<<"$submitted"
wait_for "islands job $queued to finish" finished "$queued"
say "islands $queued, one task at a time: $(states "$queued")"
[ "$(states "$queued")" = "3 FAILED" ] || fail "expected the 3 queued islands to fail"
for i in 0 1 2; do
  grep -Eq "^pxos: island [0-2]'s migrants for generation [0-9]+ did not arrive within 5 s .*is that island's task running\?" \
    logs/"${queued}_$i".log || fail "island $i's log does not name the missing neighbour: $(cat logs/"${queued}_$i".log)"
done
say "OK: islands that cannot all run at once stop after the exchange timeout, naming the missing neighbour ($(grep -ho "island [0-2]'s migrants for generation [0-9]*" logs/"${queued}"_*.log | paste -sd, -))"
say "done in $(($(date +%s) - started))s"
