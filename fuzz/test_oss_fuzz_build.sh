#!/usr/bin/env bash
# Goal: fuzz/oss-fuzz/build.sh (also ClusterFuzzLite's) builds every target
# as OSS-Fuzz would, and what it installs works.
# Method: runs build.sh with the environment OSS-Fuzz sets (CC=clang, its
# address-sanitizer CFLAGS with -fsanitize=fuzzer-no-link,
# LIB_FUZZING_ENGINE=-fsanitize=fuzzer, SRC holding a link to this tree as
# $SRC/cairn, OUT and WORK temporary directories); then checks that every
# target, its dictionary, options and seed corpus zip are in $OUT, and runs
# each target for 100 inputs after its unzipped seed corpus. Skips (77)
# without clang, zip or unzip. Usage: test_oss_fuzz_build.sh SOURCE_DIR
set -euo pipefail
tree=$(cd "$1" && pwd)
for tool in clang zip unzip; do
  command -v $tool >/dev/null || { echo "$tool not installed"; exit 77; }
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export SRC=$tmp/src OUT=$tmp/out WORK=$tmp/work
mkdir -p "$SRC" "$OUT" "$WORK"
ln -s "$tree" "$SRC/cairn"
export CC=clang CXX=clang++ SANITIZER=address FUZZING_ENGINE=libfuzzer ARCHITECTURE=x86_64
export CFLAGS="-O1 -fno-omit-frame-pointer -gline-tables-only \
-DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION -fsanitize=address \
-fsanitize-address-use-after-scope -fsanitize=fuzzer-no-link"
export CXXFLAGS=$CFLAGS LIB_FUZZING_ENGINE=-fsanitize=fuzzer
(cd "$SRC/cairn" && bash fuzz/oss-fuzz/build.sh)
targets=$(sed -n 's/^targets="\(.*\)"$/\1/p' "$tree/fuzz/oss-fuzz/build.sh")
# Every target file of the tree is built.
for src in "$tree"/fuzz/fuzz_*.c; do
  t=$(basename "$src" .c)
  grep -q LLVMFuzzerTestOneInput "$src" || continue
  grep -qw "$t" <<<"$targets" || { echo "FAIL: $t is not in build.sh"; exit 1; }
done
for t in $targets; do
  for f in "$t" "$t.dict" "$t.options" "${t}_seed_corpus.zip"; do
    [ -s "$OUT/$f" ] || { echo "FAIL: $OUT/$f missing"; exit 1; }
  done
  mkdir -p "$tmp/seeds/$t"
  unzip -q "$OUT/${t}_seed_corpus.zip" -d "$tmp/seeds/$t"
  (cd "$tmp" && "$OUT/$t" -runs=100 -dict="$OUT/$t.dict" "$tmp/seeds/$t" >"$tmp/$t.log" 2>&1) ||
    { tail -30 "$tmp/$t.log"; echo "FAIL: $t"; exit 1; }
  echo "ok: $t ($(ls "$tmp/seeds/$t" | wc -l) seeds, $(grep -aoE 'cov: [0-9]+' "$tmp/$t.log" | tail -1))"
done
