#!/usr/bin/env bash
# Goal: the simulator finds real bugs. Each tests/planted/*.patch plants one
# bug of a class the simulator must catch (a short write taken
# as complete, ENOBUFS without re-arming, a lost or unchecked wakeup, a
# backlog never flushed, an expired key returned, replies reordered, a
# hash losing a field when it becomes a table, an emptied hash or set left
# behind, an LTRIM off by one, a ZREMRANGEBYSCORE that ignores an exclusive
# bound, a volatile- eviction policy that evicts a key without a TTL, a
# connection paused by backpressure never read again, a WATCH blind to expiry
# or to a SET, EXEC running its queue backwards, a key's newest blocked
# client served first, a published message delivered twice to a name's
# subscribers when another one is on its way out after a reset; in cluster
# runs, ASKING that outlives its command, gossip that lets a claim at an
# older epoch take a slot back, and MIGRATE deleting its keys before the
# target acknowledged them); the
# swarm must fail on it, and the failure must replay exactly.
# Method: copies the tree into a scratch directory and builds cairn-sim
# there once. For each patch: apply it, rebuild, run a swarm until the first
# failure (--stop-on-fail); replay the saved case on the patched build (the
# same failure, at the same tick, with the same trace hash); revert the
# patch, rebuild, and replay the case again: it must pass, so the failure
# was the planted bug's. Usage: planted.sh SOURCE_DIR [SEEDS [PATCH...]]
set -euo pipefail
src=$(cd "$1" && pwd)
seeds=${2:-300}
shift $(($# < 2 ? $# : 2))
patches=("$@")
[ ${#patches[@]} -gt 0 ] || patches=("$src"/tests/planted/*.patch)
tmp=$(mktemp -d /tmp/cairn-planted.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
tar -C "$src" --exclude='./build*' --exclude=./.git --exclude=./fuzz/corpus -cf - . |
  tar -C "$tmp" -xf -
mkdir -p "$tmp/fuzz/corpus"
cmake -S "$tmp" -B "$tmp/build" -DCMAKE_BUILD_TYPE=Release >/dev/null
build() { cmake --build "$tmp/build" -j"$(nproc)" --target cairn-sim >/dev/null; }
build
sim=$tmp/build/sim/cairn-sim
status=0
for p in "${patches[@]}"; do
  name=$(basename "$p" .patch)
  (cd "$tmp" && patch -s -p1 <"$p")
  build
  t0=$SECONDS
  set +e
  "$sim" swarm --seeds "$seeds" --jobs "$(nproc)" --stop-on-fail --out "$tmp/f-$name" \
    >"$tmp/$name.log" 2>&1
  rc=$?
  set -e
  case_file=$(ls "$tmp/f-$name"/seed-*.pb 2>/dev/null | grep -v '\.min\.pb$' | head -1 || true)
  if [ $rc -eq 0 ] || [ -z "$case_file" ]; then
    echo "FAIL: $name: $seeds seeds passed with the bug planted"
    tail -3 "$tmp/$name.log"
    status=1
  else
    kind=$(grep -aom1 'FAIL kind=[a-z_]*' "$tmp/$name.log" || true)
    set +e
    "$sim" replay "$case_file" >"$tmp/$name.replay" 2>&1
    rrc=$?
    set -e
    if [ $rrc -eq 0 ] || grep -q '^replay: ' "$tmp/$name.replay"; then
      echo "FAIL: $name: the saved case did not replay the same way"
      tail -5 "$tmp/$name.replay"
      status=1
    else
      echo "ok: $name: found by $(basename "$case_file" .pb) ($kind) in $((SECONDS - t0))s;" \
        "replays exactly"
    fi
  fi
  (cd "$tmp" && patch -s -R -p1 <"$p")
  build
  if [ -n "$case_file" ] && ! "$sim" replay "$case_file" >"$tmp/$name.fixed" 2>&1; then
    echo "FAIL: $name: the case fails without the planted bug too"
    tail -5 "$tmp/$name.fixed"
    status=1
  fi
done
exit $status
