#!/usr/bin/env bash
# Goal: cluster runs work end to end: the harness forms a cluster of 3 to 7
# nodes over the simulated bus, every node's clients run their workload on
# it (keys of their own node's slots), cluster clients cross nodes following
# MOVED and ASK, slots move with their keys (MIGRATE), partitions come and
# heal, bus frames arrive again, a node crashes and starts again from its
# nodes.conf, and every node agrees again after the heal; the same seed
# gives the same run.
# Method: runs cairn-sim with --set cluster=1 and nodes 3 to 7 for SEEDS
# seeds, each twice; each run must PASS with a line "cluster: formed at
# Xms" (X > 0) and the same trace hash both times, every node must serve
# commands (the harness's at least), and over the seeds at least one slot
# must have moved, one partition have happened, keys have been migrated and
# cluster clients have followed an ASK and a MOVED, a bus frame have arrived
# again and a node have crashed and started again (else the runs test less
# than they claim). Then two seeds whose every move may be atomic (CLUSTER
# MIGRATESLOTS, of empty slots: --set atomic_keys=0) run twice the same,
# then six whose atomic moves take slots holding keys too (the default):
# PASS, and at least one atomic move succeeded and one
# CANCELSLOTMIGRATIONS was taken.
# Usage: cluster.sh CAIRN_SIM [SEEDS]
set -euo pipefail
sim=$1
seeds=${2:-8}
moved=0 parts=0 keys=0 asks=0 redirs=0 dups=0 crashes=0
for s in $(seq 1 "$seeds"); do
  n=$((3 + s % 5))
  out=$("$sim" run --seed "$s" --set cluster=1 --set nodes=$n 2>&1 || true)
  again=$("$sim" run --seed "$s" --set cluster=1 --set nodes=$n 2>&1 || true)
  last=$(grep -aE '^(PASS|FAIL)' <<<"$out" | sed -E 's/ cpu=.*//')
  if [[ $last != PASS* ]]; then
    echo "FAIL: seed $s ($n nodes): $last"
    grep -a '^detail' <<<"$out" | head -3
    exit 1
  fi
  if [ "$last" != "$(grep -aE '^PASS' <<<"$again" | sed -E 's/ cpu=.*//')" ]; then
    echo "FAIL: seed $s ($n nodes) is not deterministic"
    exit 1
  fi
  line=$(grep -a '^cluster: formed at' <<<"$out")
  ms=$(sed -E 's/^cluster: formed at ([0-9.]+)ms.*/\1/' <<<"$line")
  if ! awk -v m="$ms" 'BEGIN { exit !(m > 0) }'; then
    echo "FAIL: seed $s: the cluster did not form: $line"
    exit 1
  fi
  served=$(grep -acE '^node [0-9]+: commands=[1-9]' <<<"$out" || true)
  if [ "$served" -ne "$n" ]; then
    echo "FAIL: seed $s: $served of $n nodes served commands"
    exit 1
  fi
  moved=$((moved + $(sed -E 's/.*slots_moved=([0-9]+).*/\1/' <<<"$line")))
  parts=$((parts + $(sed -E 's/.*partitions=([0-9]+).*/\1/' <<<"$line")))
  more=$(grep -a '^cluster: migrates=' <<<"$out")
  keys=$((keys + $(sed -E 's/.*keys_migrated=([0-9]+).*/\1/' <<<"$more")))
  asks=$((asks + $(sed -E 's/.* asks=([0-9]+).*/\1/' <<<"$more")))
  redirs=$((redirs + $(sed -E 's/.* moved=([0-9]+).*/\1/' <<<"$more")))
  dups=$((dups + $(sed -E 's/.*bus_frames_again=([0-9]+).*/\1/' <<<"$more")))
  crashes=$((crashes + $(sed -E 's/.*crashes=([0-9]+).*/\1/' <<<"$more")))
  echo "ok: seed $s ($n nodes): $line; $more"
done
if [ "$moved" -eq 0 ] || [ "$parts" -eq 0 ] || [ "$keys" -eq 0 ] || [ "$asks" -eq 0 ] ||
  [ "$redirs" -eq 0 ] || [ "$dups" -eq 0 ] || [ "$crashes" -eq 0 ]; then
  echo "FAIL: over $seeds seeds, $moved slots moved, $parts partitions, $keys keys migrated," \
    "$asks ASKs and $redirs MOVEDs followed, $dups bus frames delivered again," \
    "$crashes crashes"
  exit 1
fi
echo "ok: $seeds cluster seeds passed twice alike; $moved slots moved, $parts partitions," \
  "$keys keys migrated, $asks ASKs and $redirs MOVEDs followed, $dups bus frames again," \
  "$crashes crashes"
aok=0
acs=0
for s in 7 16; do
  args=(run --seed "$s" --set cluster=1 --set move_pct=100 --set atomic_pct=100 --set atomic_keys=0)
  out=$("$sim" "${args[@]}" 2>&1 || true)
  last=$(grep -aE '^(PASS|FAIL)' <<<"$out" | sed -E 's/ cpu=.*//')
  again=$("$sim" "${args[@]}" 2>&1 | grep -aE '^(PASS|FAIL)' | sed -E 's/ cpu=.*//' || true)
  if [[ $last != PASS* ]] || [ "$last" != "$again" ]; then
    echo "FAIL: atomic-move seed $s: $last / $again"
    grep -a '^detail' <<<"$out" | head -3
    exit 1
  fi
  more=$(grep -a '^cluster: migrates=' <<<"$out")
  aok=$((aok + $(sed -E 's/.*atomic_ok=([0-9]+).*/\1/' <<<"$more")))
  acs=$((acs + $(sed -E 's/.* cancels=([0-9]+).*/\1/' <<<"$more")))
  echo "ok: atomic-move seed $s: ${more##*; }"
done
# Atomic moves of slots holding keys: seeds that caught a forwarded read
# run after the switch had deleted its key (nil where MOVED was due, 10
# and 19), a cancel that unpaused a source after its grant (372), a read
# the source served after the target took the slot (344), a claim the
# target acknowledged before its save, lost by a crash (67), and a
# forwarded write that landed after the last pass (621).
for s in 10 19 67 344 372 621; do
  args=(run --seed "$s" --set cluster=1 --set move_pct=100 --set atomic_pct=100 --set atomic_keys=1)
  last=$("$sim" "${args[@]}" 2>&1 | grep -aE '^(PASS|FAIL)' | sed -E 's/ cpu=.*//' || true)
  again=$("$sim" "${args[@]}" 2>&1 | grep -aE '^(PASS|FAIL)' | sed -E 's/ cpu=.*//' || true)
  if [[ $last != PASS* ]] || [ "$last" != "$again" ]; then
    echo "FAIL: keyed atomic-move seed $s: $last / $again"
    exit 1
  fi
  echo "ok: keyed atomic-move seed $s"
done
if [ "$aok" -eq 0 ] || [ "$acs" -eq 0 ]; then
  echo "FAIL: $aok atomic moves succeeded, $acs cancelled by CANCELSLOTMIGRATIONS"
  exit 1
fi
echo "ok: $aok atomic moves succeeded, $acs CANCELSLOTMIGRATIONS answered +OK"
