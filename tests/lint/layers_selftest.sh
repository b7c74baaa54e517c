#!/usr/bin/env bash
# Goal: prove that each rule of layers.sh can fire, and that it does not fire
# on a tree that keeps them all (a check that cannot fail is not a check).
# Method: build a small fake source tree (node/ in layers, sim/) in a temp
# dir; layers.sh must pass on it with the exact "ok:" line. Then, for each
# rule, rebuild it with one bad change (cmd/ including shard/, a module cycle
# in node/ and in sim/, a mutual include, a bare include, ...): layers.sh
# must exit 1, print the exact violation lines expected, and count exactly
# that many violations in its summary. The clean tree also holds what must
# not count: a commented-out include, a "/*" inside a string, an X-macro
# .def included twice, and a sim/ module "log" beside node's base/log.h.
# A private header X_int.h is module X's: a tree where model.c, model_ops.c
# and model_int.h include each other must pass with model_int.h counted in
# module model, and a cycle through model_int.h must still be caught.
# Usage: layers_selftest.sh SOURCE_DIR
set -euo pipefail
lint=${1:-$(dirname "$0")/../..}/tests/lint/layers.sh
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tree=$work/tree

put() { # path line...: append the lines to a file of the fake tree
  local f=$tree/$1
  shift
  mkdir -p "$(dirname "$f")"
  printf '%s\n' "$@" >>"$f"
}

clean_tree() {
  rm -rf "$tree"
  put node/io/io.h '#pragma once' '#include <stdint.h>'
  put node/io/io_backend.h '#include "io/io.h"'
  put node/io/io_epoll.c '#include "base/util.h"' '#include "io/io_backend.h"'
  put node/base/util.h '#pragma once'
  put node/base/util.c '#include "base/util.h"'
  put node/base/log.h '#include "io/io.h"'
  put node/base/log.c '#include "base/log.h"' '#include "base/util.h"'
  put node/proto/resp.h '#include "base/util.h"'
  put node/proto/resp.c '#include "proto/resp.h"' '#include "base/log.h"'
  put node/data/dict.h '#include "base/util.h"'
  put node/data/dict.c '#include "data/dict.h"'
  put node/data/keyspace.h '#include "data/dict.h"'
  put node/data/keyspace.c '#include "data/keyspace.h"' \
    '/* A commented-out include does not count:' \
    '#include "shard/shard.h"' \
    '*/' \
    '// #include "keyspace.h"' \
    'static const char *glob = "/*"; /* a comment after a string */' \
    '#include "base/log.h"'
  put node/cmd/commands.def 'CMD(get)'
  put node/cmd/cmd.h '#include "data/keyspace.h"' '#include "proto/resp.h"' \
    '#define CMD(n) n,' '#include "cmd/commands.def"' '#undef CMD' \
    '#define CMD(n) #n,' '#include "cmd/commands.def"' '#undef CMD'
  put node/cmd/cmd.c '#include "cmd/cmd.h"' '#include "cmd/commands.def"'
  put node/cmd/cmd_keys.c '#include "cmd/cmd.h"'
  put node/shard/shard.h '#include "cmd/cmd.h"' '#include "io/io.h"'
  put node/shard/shard.c '#include "shard/shard.h"' '#include "shard/conn.h"'
  put node/shard/conn.h '#include "proto/resp.h"'
  put node/shard/conn.c '#include "shard/conn.h"' '#include "cmd/cmd.h"'
  put node/shard/route.h '#include "base/util.h"'
  put node/shard/route.c '#include "shard/route.h"'
  put node/server/cmd_info.c '#include "shard/shard.h"' \
    '#include "shard/route.h"' '#include "data/keyspace.h"' \
    '#include "base/log.h"' '#include "io/io.h"'
  put node/main.c '#include "shard/shard.h"' '#include "base/log.h"' \
    '#include "io/io_backend.h"'
  put sim/rng.h '#pragma once'
  put sim/rng.c '#include "rng.h"' '#include "base/util.h"'
  put sim/world.h '#include "io/io.h"' '#include "rng.h"'
  put sim/world.c '#include "world.h"' '#include "shard/shard.h"' \
    '#include "base/log.h"'
  put sim/log.h '#pragma once'
  put sim/log.c '#include "log.h"' '#include "world.h"'
  put sim/client.h '#include "rng.h"'
  put sim/client.c '#include "client.h"' '#include "world.h"'
  put sim/model.h '#include "rng.h"'
  put sim/model.c '#include "model.h"' '#include "client.h"'
  put sim/casefile.c '#include "sim.pb-c.h"'
}

failed=0
run() { # output of the lint on the fake tree; sets rc
  rc=0
  out=$(bash "$lint" "$tree" 2>&1) || rc=$?
}
mismatch() { # what
  echo "FAIL: $1"
  echo "  layers.sh exited $rc and printed:"
  echo "$out" | sed 's/^/    /'
  failed=1
}
bad() { # name summary line...: the lint must fail with these lines
  local name=$1 summary=$2 line
  shift 2
  run
  if [ "$rc" != 1 ]; then
    mismatch "$name: expected exit 1"
    return
  fi
  for line in "$@"; do
    if ! grep -qxF -- "$line" <<<"$out"; then
      mismatch "$name: missing line: $line"
      return
    fi
  done
  if [[ $(tail -n1 <<<"$out") != FAIL:*"; $summary" ]]; then
    mismatch "$name: summary does not end with: $summary"
    return
  fi
  echo "$name: fails as it must"
  printf '  %s\n' "$@"
}

good() { # name want: the lint must pass and print exactly want
  run
  if [ "$rc" = 0 ] && [ "$out" = "$2" ]; then
    echo "$1: passes"
    echo "  $out"
  else
    mismatch "$1: expected exit 0 and: $2"
  fi
}

clean_tree
run
want="ok: 36 files, 16 modules in node/, 6 in sim/; no forbidden include, no cycle"
if [ "$rc" = 0 ] && [ "$out" = "$want" ]; then
  echo "clean tree: passes"
  echo "  $out"
else
  mismatch "clean tree: expected exit 0 and: $want"
fi

clean_tree
put node/cmd/cmd_keys.c '#include "shard/shard.h"'
bad "cmd/ includes shard/" \
  "1 include error in node/; 0 cycles in node/, 0 cycles in sim/" \
  'node/cmd/cmd_keys.c:2: "shard/shard.h": forbidden: cmd/ may not include shard/ (cmd/ may include: cmd/ data/ proto/ base/)'

clean_tree
put node/io/io.h '#include "base/util.h"'
bad "io/io.h includes base/" \
  "1 include error in node/; 0 cycles in node/, 0 cycles in sim/" \
  'node/io/io.h:3: "base/util.h": forbidden: io/io.h may not include base/ (io/io.h may include: nothing of the project)'

clean_tree
put node/base/config.c '#include "proto/resp.h"'
bad "base/ includes proto/" \
  "1 include error in node/; 0 cycles in node/, 0 cycles in sim/" \
  'node/base/config.c:1: "proto/resp.h": forbidden: base/ may not include proto/ (base/ may include: base/ io/io.h)'

clean_tree
put node/shard/xshard.c '#include "io/io_backend.h"'
bad "shard/ includes io/io_backend.h" \
  "1 include error in node/; 0 cycles in node/, 0 cycles in sim/" \
  'node/shard/xshard.c:1: "io/io_backend.h": forbidden: only main.c and io/ may include io/io_backend.h'

clean_tree
put node/main.c '#include "cmd/cmd.h"'
put node/server/cmd_info.c '#include "misc/x.h"'
bad "main.c includes cmd/, server/ an unknown folder" \
  "2 include errors in node/; 0 cycles in node/, 0 cycles in sim/" \
  'node/main.c:4: "cmd/cmd.h": forbidden: main.c may not include cmd/ (main.c may include: server/ shard/ base/ io/)' \
  'node/server/cmd_info.c:6: "misc/x.h": forbidden: server/ may not include misc/ (server/ may include: server/ shard/ script/ cluster/ repl/ cmd/ data/ proto/ base/ io/io.h)'

clean_tree
put node/misc/x.c '#include "base/util.h"'
put node/other.c '#include "base/util.h"'
bad "files outside the layer table" \
  "2 include errors in node/; 0 cycles in node/, 0 cycles in sim/" \
  'node/misc/x.c: not in the layer table (LAYERS names no rule for this file or its folder)' \
  'node/other.c: not in the layer table (LAYERS names no rule for this file or its folder)'

clean_tree
put node/data/keyspace.c '#include "dict.h"'
put node/cmd/cmd.c '#include "commands.def"'
bad "bare includes" \
  "2 include errors in node/; 0 cycles in node/, 0 cycles in sim/" \
  'node/data/keyspace.c:8: "dict.h": bare include: a project header is named with its folder ("data/dict.h")' \
  'node/cmd/cmd.c:3: "commands.def": bare include: a project header is named with its folder ("cmd/commands.def")'

clean_tree
put node/data/scratch.c 'static const char *s = "/*";' '  #  include "shard/shard.h"'
bad "an include after a \"/*\" string, indented, spaced" \
  "1 include error in node/; 0 cycles in node/, 0 cycles in sim/" \
  'node/data/scratch.c:2: "shard/shard.h": forbidden: data/ may not include shard/ (data/ may include: data/ base/)'

clean_tree
put node/shard/conn.c '#include "shard/route.h"'
put node/shard/route.c '#include "shard/shard.h"'
bad "a module cycle in node/" \
  "0 include errors in node/; 1 cycle in node/, 0 cycles in sim/" \
  'node/: 3 modules in a cycle: shard/conn shard/route shard/shard' \
  'node/: cycle: shard/conn -> shard/route -> shard/shard -> shard/conn' \
  '  shard/conn -> shard/route: node/shard/conn.c:3' \
  '  shard/route -> shard/shard: node/shard/route.c:2' \
  '  shard/shard -> shard/conn: node/shard/shard.c:2'

clean_tree
put node/data/dict.c '#include "data/keyspace.h"'
bad "a mutual include in node/" \
  "0 include errors in node/; 1 cycle in node/, 0 cycles in sim/" \
  'node/: mutual include: data/dict <-> data/keyspace' \
  '  data/dict -> data/keyspace: node/data/dict.c:2' \
  '  data/keyspace -> data/dict: node/data/keyspace.h:1'

clean_tree
put sim/world.c '#include "model.h"'
bad "a module cycle in sim/" \
  "0 include errors in node/; 0 cycles in node/, 1 cycle in sim/" \
  'sim/: 3 modules in a cycle: client model world' \
  'sim/: cycle: client -> world -> model -> client' \
  '  world -> model: sim/world.c:4'

clean_tree
put sim/model_int.h '#include "model.h"'
put sim/model.c '#include "model_int.h"'
put sim/model_ops.c '#include "model_int.h"' '#include "world.h"'
# Without the rule, model <-> model_int would be a cycle, and model_int a
# seventh module beside model_ops.
good "a private header model_int.h belongs to module model" \
  "ok: 38 files, 16 modules in node/, 7 in sim/; no forbidden include, no cycle"

clean_tree
put sim/model_int.h '#include "model.h"'
put sim/model.c '#include "model_int.h"'
put sim/client.c '#include "model_int.h"'
bad "a cycle through a private header" \
  "0 include errors in node/; 0 cycles in node/, 1 cycle in sim/" \
  'sim/: 2 modules in a cycle: client model' \
  'sim/: mutual include: client <-> model' \
  '  client -> model: sim/client.c:3' \
  '  model -> client: sim/model.c:2'

if [ "$failed" != 0 ]; then
  echo "FAIL: layers.sh does not behave as this self-test expects"
  exit 1
fi
echo "ok: each rule of layers.sh fires on its bad tree, and the clean tree passes"
