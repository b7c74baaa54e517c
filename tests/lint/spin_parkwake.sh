#!/usr/bin/env bash
# Goal: model-check the park/wake protocol of node/shard/xshard.c with spin.
# Method: tests/spin/parkwake.pml under a TSO store-buffer model. With both
# fences (as in the code) spin must find no invalid end state; without either
# fence it must find the lost wake (the consumer asleep forever with a message
# waiting). Both results are printed. Skips (77) if spin is not installed.
# Usage: spin_parkwake.sh SOURCE_DIR
set -euo pipefail
src=$1
command -v spin >/dev/null || { echo "spin not installed"; exit 77; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$src/tests/spin/parkwake.pml" "$work/"
cd "$work"
check() { # name defines expected_errors
  local name=$1 defs=$2 want=$3 out errors
  rm -f pan pan.* ./*.trail
  spin -a $defs parkwake.pml >/dev/null
  gcc -O1 -DSAFETY -o pan pan.c
  out=$(./pan -m10000 2>&1)
  errors=$(echo "$out" | sed -n 's/.*errors: \([0-9]*\).*/\1/p' | head -1)
  echo "$name: spin errors=$errors (expected $want)"
  if [ "$errors" != "$want" ]; then
    echo "$out"
    return 1
  fi
  if [ "$want" != 0 ]; then
    echo "  counterexample:"
    spin -t -p $defs parkwake.pml 2>&1 | grep -E "proc +[0-9] \\((producer|consumer|drain)" | sed -E "s/.*proc +[0-9] \\(([a-z]+):1\\) parkwake.pml:[0-9]+ \\(state [0-9]+\\)\\s*/\\1: /" | head -16 | sed "s/^/    /"
  fi
}
check "with fences (as in xshard.c)" "-DFENCE_P=1 -DFENCE_C=1" 0
check "producer fence removed" "-DFENCE_P=0 -DFENCE_C=1" 1
check "consumer fence removed" "-DFENCE_P=1 -DFENCE_C=0" 1
echo "ok: no lost wake with the fences; spin finds it without either one"
