#!/bin/bash -eu
# OSS-Fuzz build script for cairn (projects/cairn/build.sh in OSS-Fuzz; the
# same script serves ClusterFuzzLite, see .clusterfuzzlite/build.sh).
#
# Runs from $SRC/cairn with OSS-Fuzz's environment: $CC and $CFLAGS (which
# carry the sanitizer and -fsanitize=fuzzer-no-link, so the whole core is
# instrumented), $LIB_FUZZING_ENGINE to link each target, $OUT for the
# results, $WORK (if set) for the build tree. For every target it installs
# into $OUT the fuzzer, its dictionary (<target>.dict), its options
# (<target>.options) and its seed corpus (<target>_seed_corpus.zip).
cd "$SRC/cairn"
targets="fuzz_resp fuzz_bigbulk_tail fuzz_reply fuzz_commands fuzz_hll fuzz_bus fuzz_restore"
build="${WORK:-$(mktemp -d)}/cairn-build"

# Build type "OssFuzz" has no flags of its own: $CFLAGS alone decide.
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=OssFuzz -DCMAKE_C_COMPILER="$CC" \
  -DCMAKE_C_FLAGS="$CFLAGS" -DCAIRN_FUZZ_ENGINE="$LIB_FUZZING_ENGINE" >/dev/null
cmake --build "$build" -j"$(nproc)" --target $targets

for t in $targets; do
  cp "$build/fuzz/$t" "$OUT/$t"
  cp "fuzz/$t.dict" "$OUT/$t.dict"
  max_len=8192
  [ "$t" = fuzz_bigbulk_tail ] && max_len=4096
  [ "$t" = fuzz_hll ] && max_len=16384
  printf '[libfuzzer]\nmax_len = %d\ntimeout = 25\n' "$max_len" >"$OUT/$t.options"
  rm -f "$OUT/${t}_seed_corpus.zip"
  (cd "fuzz/corpus/$t" && zip -q -r "$OUT/${t}_seed_corpus.zip" .)
done
