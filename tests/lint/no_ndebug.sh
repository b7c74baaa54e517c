#!/usr/bin/env bash
# Goal: assertions cannot be compiled out. node/base/assert.h refuses to
# compile under NDEBUG, and no C source of node/, sim/ or fuzz/ uses the C
# library's assert() (which NDEBUG removes).
# Method: compile one core file with -DNDEBUG and expect the #error; grep the
# sources for <assert.h> and for a bare assert( call. Usage: no_ndebug.sh SOURCE_DIR
set -euo pipefail
cd "$1"
cc=${CC:-cc}
if out=$($cc -fsyntax-only -DNDEBUG -iquote node node/base/util.c 2>&1); then
  echo "FAIL: node/base/util.c compiled with -DNDEBUG"
  exit 1
fi
echo "$out" | grep -q "never built with NDEBUG" || { echo "FAIL: unexpected error: $out"; exit 1; }
bad=$(grep -rnE '#include <assert\.h>|(^|[^_A-Za-z])assert\(' node sim fuzz --include='*.[ch]' |
  grep -v 'node/base/assert.h' || true)
if [ -n "$bad" ]; then
  echo "FAIL: the C library's assert is used (use ASSERT from base/assert.h):"
  echo "$bad"
  exit 1
fi
echo "ok: -DNDEBUG is refused, and every assertion is ASSERT"
