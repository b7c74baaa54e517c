#!/usr/bin/env bash
# Goal: a seed is a whole run. The same seed gives the same run, event for
# event, every time, and tracing it (which a user does to debug a failing
# seed) does not change it. (planted.sh checks that saved failures replay
# exactly.)
# Method: runs each sample seed (varied shard and client counts) twice and
# once with --trace-all (and four cluster runs of 3 to 6 nodes the same
# way, and two whose slots move atomically with their keys), and compares
# the hash of the event trace and the tick count on the PASS or FAIL line
# (a failing run must fail alike). Usage: determinism.sh CAIRN_SIM [SEEDS]
set -euo pipefail
sim=$1
seeds=${2:-12}
# The last line of a run: PASS seed=.. ticks=.. events=.. hash=.., or the
# FAIL line; both end in what identifies the run, minus the CPU time.
fingerprint() {
  "$@" 2>&1 | grep -aE '^(PASS|FAIL|hash=)' | sed -E 's/ cpu=.*//' | tr '\n' ' ' || true
}
# Runs one case three times (twice plain, once traced): the same
# fingerprint each time, or the script fails. LABEL names it in the output.
same_thrice() {
  local label=$1 a b c
  shift
  a=$(fingerprint "$sim" "$@")
  b=$(fingerprint "$sim" "$@")
  c=$(fingerprint "$sim" "$@" --trace-all)
  if [ -z "$a" ] || [ "$a" != "$b" ] || [ "$a" != "$c" ]; then
    printf 'FAIL: %s is not deterministic:\n  %s\n  %s\n  %s (traced)\n' "$label" "$a" "$b" "$c"
    exit 1
  fi
  echo "ok: $label: $a"
}
for i in $(seq 1 "$seeds"); do
  seed=$((i * 7919))
  same_thrice "seed $seed" run --seed "$seed" --ticks 60000 --shards $((1 + i % 4)) \
    --clients $((1 + i % 6))
done
# Cluster runs too: the bus between nodes, the harness's looks.
for i in 1 2 3 4; do
  seed=$((i * 104729))
  same_thrice "cluster seed $seed" run --seed "$seed" --ticks 60000 --set cluster=1 \
    --set nodes=$((2 + i))
done
for seed in 2 4; do
  same_thrice "atomic-move cluster seed $seed" run --seed "$seed" --set cluster=1 \
    --set move_pct=100 --set atomic_pct=100 --set atomic_keys=1
done
echo "ok: $seeds seeds, 4 cluster seeds and 2 atomic-move ones ran the same three times each"
