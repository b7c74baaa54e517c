#!/usr/bin/env bash
# Goal: a world of two nodes runs as one of one does: each seed passes (no
# contract breach, no reply its node's model forbids, no request left
# unanswered), both nodes serve requests, and the run is deterministic.
# Each node is its own database: its clients use the same key names as the
# other node's, and share counters and registers within their node only, so
# a request that reached the wrong node, or two nodes sharing a keyspace,
# fails the model.
# Method: runs cairn-sim with --set nodes=2 (four clients, two per node;
# shard counts varied) for SEEDS seeds, each twice; each run must print
# PASS, a line "node N: commands=C connections=K" with C > 0 and K > 0 for
# both nodes, and the same trace hash both times.
# Usage: nodes.sh CAIRN_SIM [SEEDS]
set -euo pipefail
sim=$1
seeds=${2:-8}
for i in $(seq 1 "$seeds"); do
  seed=$((i * 104729))
  args=(run --seed "$seed" --ticks 60000 --set nodes=2 --set clients=4 --set shards=$((1 + i % 3)))
  out=$("$sim" "${args[@]}" 2>&1) || { printf 'FAIL: seed %s:\n%s\n' "$seed" "$(tail -5 <<<"$out")"; exit 1; }
  pass=$(grep -aE '^PASS' <<<"$out" | sed -E 's/ cpu=.*//')
  again=$("$sim" "${args[@]}" 2>&1 | grep -aE '^PASS' | sed -E 's/ cpu=.*//' || true)
  if [ -z "$pass" ] || [ "$pass" != "$again" ]; then
    printf 'FAIL: seed %s is not deterministic:\n  %s\n  %s\n' "$seed" "$pass" "$again"
    exit 1
  fi
  for n in 0 1; do
    if ! grep -aqE "^node $n: commands=[1-9][0-9]* connections=[1-9][0-9]*$" <<<"$out"; then
      printf 'FAIL: seed %s: node %s served nothing:\n%s\n' "$seed" "$n" "$(grep -a '^node' <<<"$out")"
      exit 1
    fi
  done
  echo "ok: seed $seed: $(grep -a '^node' <<<"$out" | tr '\n' ' ')$pass"
done
echo "ok: $seeds seeds of two nodes passed, both nodes served, each run twice the same"
