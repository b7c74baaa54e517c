#!/usr/bin/env bash
# Goal: in the fuzzing build, each target also fuzzes for a bounded time
# under ctest (label fuzz), so a CI run finds what a short search finds.
# Method: runs the libFuzzer binary for SECONDS over a scratch copy of the
# seed corpus (the tree is never written), with the target's dictionary;
# fails on any crash, leak, timeout or failed check, and prints libFuzzer's
# final coverage and speed. A crashing input is kept in $FUZZ_WORK/<target>/
# (or a temporary directory). Usage: run_bounded.sh BIN FUZZ_DIR TARGET SECONDS
set -euo pipefail
bin=$1 dir=$2 target=$3 secs=$4
work=${FUZZ_WORK:-$(mktemp -d)}/$target
rm -rf "$work/corpus"
mkdir -p "$work/corpus"
max_len=8192
[ "$target" = fuzz_bigbulk_tail ] && max_len=4096
[ "$target" = fuzz_hll ] && max_len=16384
set +e
"$bin" -dict="$dir/$target.dict" -max_total_time="$secs" -max_len="$max_len" -timeout=25 \
  -print_final_stats=1 -artifact_prefix="$work/" "$work/corpus" "$dir/corpus/$target" \
  >"$work/log" 2>&1
rc=$?
set -e
grep -aE '^#[0-9]+.*(DONE|cov:)' "$work/log" | tail -1
grep -aE '^stat::(number_of_executed_units|average_exec_per_sec)' "$work/log" || true
if [ $rc -ne 0 ]; then
  grep -aE 'fuzz check failed|ERROR: |SUMMARY|Test unit written' -A3 "$work/log" | head -30
  echo "run_bounded: $target failed (status $rc); full log: $work/log"
fi
exit $rc
