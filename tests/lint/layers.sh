#!/usr/bin/env bash
# Goal: node/ stays in layers, and no two modules depend on each other.
#   1. Each folder of node/ includes only the folders below it (LAYERS), a
#      project header is always named with its folder ("data/keyspace.h"),
#      and only main.c and io/ see io/io_backend.h.
#   2. No include cycle between modules, in node/ and, separately, in sim/.
#      A module is a file stem: shard/conn.c and shard/conn.h are one module
#      "shard/conn"; sim/world.c and sim/world.h are "world". A header named
#      X_int.h is module X's private header, shared by X's own files (model.c
#      and model_ops.c include model_int.h): it belongs to module X, so X's
#      files including it make no edge, and a cycle through it is X's. X -> Y
#      when a file of X includes a header of Y. sim/'s includes of node/
#      headers are outside the sim graph.
# Method: read the #include "..." directives of every .c, .h and .def file of
# node/ and sim/ (comments removed first, so a commented-out include does not
# count), check each one of node/ against LAYERS, then build the two module
# graphs and list every elementary cycle in them, each with the include lines
# that make it. tests/lint/layers_selftest.sh proves each rule can fire.
# Usage: layers.sh SOURCE_DIR
set -euo pipefail

# LAYERS: what each part of node/ may include ("->" reads "may include").
# node/README.md holds the same table in prose: change both together.
# A source is a file (io/io.h, main.c) or a folder (shard/); a file's own
# entry wins over its folder's. A target is a folder (any header in it, .def
# files too) or one header. Anything not listed is forbidden, and a file of
# node/ that no source matches is an error.
LAYERS=$(cat <<'EOF'
io/io.h   ->  (nothing)
io/       ->  io/ base/
base/     ->  base/ io/io.h
proto/    ->  proto/ base/
data/     ->  data/ base/
cmd/      ->  cmd/ data/ proto/ base/
cluster/  ->  cluster/ data/ proto/ base/ io/io.h
repl/     ->  repl/ data/ proto/ base/ io/io.h
script/   ->  script/ cmd/ data/ proto/ base/
shard/    ->  shard/ script/ cluster/ repl/ cmd/ data/ proto/ base/ io/io.h
server/   ->  server/ shard/ script/ cluster/ repl/ cmd/ data/ proto/ base/ io/io.h
main.c    ->  server/ shard/ base/ io/
EOF
)

src=${1:?usage: layers.sh SOURCE_DIR}
[ -d "$src/node" ] || { echo "layers.sh: no node/ in $src"; exit 2; }
LAYERS="$LAYERS" exec /usr/bin/python3 - "$src" <<'PY'
import os
import re
import sys

root = sys.argv[1]
MAX_CYCLES = 200  # per tree; past this, only the count of the rest

def parse_layers(text):
    rules = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        source, arrow, targets = line.partition("->")
        if not arrow:
            sys.exit("layers.sh: bad LAYERS line: " + line)
        targets = targets.split()
        rules[source.strip()] = [] if targets == ["(nothing)"] else targets
    return rules

RULES = parse_layers(os.environ["LAYERS"])
DIRECTIVE = re.compile(r'^[ \t]*#[ \t]*include[ \t]*"([^"]+)"')

def strip_comments(text):
    """Blank out /* */ and // comments, keeping lines and string literals."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
        elif text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] not in (c, "\n"):
                j += 2 if text[j] == "\\" else 1
            j = min(j + 1, n)
            out.append(text[i:j])
        else:
            j = i + 1
            out.append(c)
        i = j
    return "".join(out)

def sources(top):
    """Relative paths of the .c, .h and .def files under top, sorted."""
    found = []
    for d, _, names in os.walk(top):
        for name in names:
            if name.endswith((".c", ".h", ".def")):
                found.append(os.path.relpath(os.path.join(d, name), top))
    return sorted(found)

def includes(path):
    """(line number, included name) of each real #include "..." of path."""
    with open(path, encoding="utf-8", errors="replace") as f:
        text = strip_comments(f.read())
    for number, line in enumerate(text.split("\n"), 1):
        m = DIRECTIVE.match(line)
        if m:
            yield number, m.group(1)

def module(rel):
    """The module of a file: its stem, but X for a private header X_int.h."""
    stem, ext = os.path.splitext(rel)
    if ext == ".h" and stem.endswith("_int") and os.path.basename(stem) != "_int":
        return stem[:-len("_int")]
    return stem

def rule_for(rel):
    """The LAYERS source that governs file rel of node/, or None."""
    if rel in RULES:
        return rel
    top = rel.split("/")[0] + "/"
    return top if "/" in rel and top in RULES else None

def allowed(targets, name):
    return any(name.startswith(t) if t.endswith("/") else name == t
               for t in targets)

def check_layers(files, edges):
    """Forbidden and bare includes of node/; fills edges (module graph)."""
    bad = []
    headers = {}  # bare file name -> folder-qualified names in node/
    for rel in files:
        headers.setdefault(os.path.basename(rel), []).append(rel)
    for rel in files:
        where = "node/" + rel
        source = rule_for(rel)
        if source is None:
            bad.append("%s: not in the layer table (LAYERS names no rule "
                       "for this file or its folder)" % where)
        for number, name in includes(os.path.join(root, "node", rel)):
            at = "%s:%d: \"%s\"" % (where, number, name)
            if "/" not in name:
                known = headers.get(name, [])
                hint = " (\"%s\")" % known[0] if len(known) == 1 else ""
                bad.append("%s: bare include: a project header is named with "
                           "its folder%s" % (at, hint))
                continue
            if name in files and module(name) != module(rel):
                edges.setdefault((module(rel), module(name)), []).append(
                    "%s:%d" % (where, number))
            if source is None or allowed(RULES[source], name):
                continue
            if name == "io/io_backend.h":
                why = "only main.c and io/ may include io/io_backend.h"
            else:
                targets = " ".join(RULES[source]) or "nothing of the project"
                what = name if name.startswith("io/") else \
                    name.split("/")[0] + "/"
                why = "%s may not include %s (%s may include: %s)" % (
                    source, what, source, targets)
            bad.append("%s: forbidden: %s" % (at, why))
    return bad

def sim_edges(files):
    edges = {}
    for rel in files:
        for number, name in includes(os.path.join(root, "sim", rel)):
            if "/" in name or name not in files:
                continue  # a node/ header, or a generated one: not sim's
            if module(name) != module(rel):
                edges.setdefault((module(rel), module(name)), []).append(
                    "sim/%s:%d" % (rel, number))
    return edges

def components(nodes, succ):
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []
    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in succ.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))
    sys.setrecursionlimit(10000)
    for v in sorted(nodes):
        if v not in index:
            visit(v)
    return out

def cycles(comp, succ):
    """Every elementary cycle of one component, each from its least module."""
    found, more = [], 0
    rank = {v: i for i, v in enumerate(comp)}
    for start in comp:
        path = [start]
        def walk(v):
            nonlocal more
            for w in succ.get(v, ()):
                if w == start:
                    if len(found) < MAX_CYCLES:
                        found.append(path + [start])
                    else:
                        more += 1
                elif w in rank and rank[w] > rank[start] and w not in path:
                    path.append(w)
                    walk(w)
                    path.pop()
        walk(start)
    return found, more

def check_cycles(tree, nodes, edges):
    """Report the cycles of one module graph; the number found."""
    succ = {}
    for a, b in sorted(edges):
        succ.setdefault(a, []).append(b)
    total = 0
    used = set()
    for comp in components(nodes, succ):
        print("%s: %d modules in a cycle: %s" % (tree, len(comp),
                                                   " ".join(comp)))
        found, more = cycles(comp, succ)
        found.sort(key=lambda c: (len(c), c))
        for c in found:
            if len(c) == 3:
                print("%s: mutual include: %s <-> %s" % (tree, c[0], c[1]))
            else:
                print("%s: cycle: %s" % (tree, " -> ".join(c)))
            used.update(zip(c, c[1:]))
        if more:
            print("%s: ... and %d more cycles" % (tree, more))
        total += len(found) + more
    if used:
        print("%s: the includes that make these cycles:" % tree)
        for a, b in sorted(used):
            print("  %s -> %s: %s" % (a, b, ", ".join(edges[(a, b)])))
    return total

def count(n, word):
    return "%d %s%s" % (n, word, "" if n == 1 else "s")

node_files = sources(os.path.join(root, "node"))
sim_dir = os.path.join(root, "sim")
sim_files = sources(sim_dir) if os.path.isdir(sim_dir) else []

node_graph = {}
bad = check_layers(node_files, node_graph)
for line in bad:
    print(line)
node_modules = {module(f) for f in node_files}
sim_modules = {module(f) for f in sim_files}
node_cycles = check_cycles("node/", node_modules, node_graph)
sim_cycles = check_cycles("sim/", sim_modules, sim_edges(sim_files))

files = len(node_files) + len(sim_files)
if not bad and not node_cycles and not sim_cycles:
    print("ok: %d files, %d modules in node/, %d in sim/; no forbidden "
          "include, no cycle" % (files, len(node_modules), len(sim_modules)))
    sys.exit(0)
print("FAIL: %d files, %d modules in node/, %d in sim/; %s in node/; "
      "%s in node/, %s in sim/" % (
          files, len(node_modules), len(sim_modules),
          count(len(bad), "include error"),
          count(node_cycles, "cycle"), count(sim_cycles, "cycle")))
sys.exit(1)
PY
