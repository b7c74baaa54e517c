#!/usr/bin/python3
"""node-redis's own client-side cache (RESP3 CLIENT TRACKING) against
cairn-node: the real-client check of client-side caching.

Goal: a library's cache, not ours, works unchanged against cairn: cached
reads hit, another client's write is seen at the next read, and under
concurrent writers no stale value stays cached (js/client_side_cache.js).
Debian's redis-py (4.3.4) has no RESP3 and no cache, so this uses
node-redis 5, pinned in js/package-lock.json and installed by tools/setup
with npm when node and npm are there.

Method: starts the server on a free loopback port (cairn_test; the node's
flags from $CAIRN_NODE_ARGS, or redis-server with
TRACKING_TEST_TARGET=redis) and runs the script with node. Exits 77 (skip)
when node or the installed package is missing.
"""
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import cairn_test  # noqa: E402

JS = os.path.join(HERE, "js")


def main():
    node = shutil.which("node")
    if node is None or not os.path.isdir(os.path.join(JS, "node_modules", "redis")):
        print("node or node-redis missing (tools/setup installs it with npm): skipped")
        return 77
    on_redis = os.environ.get("TRACKING_TEST_TARGET") == "redis"
    with (cairn_test.redis_server() if on_redis else cairn_test.cairn()) as srv:
        r = subprocess.run([node, os.path.join(JS, "client_side_cache.js"), str(srv.port)],
                           cwd=JS, timeout=120)
    return r.returncode


if __name__ == "__main__":
    sys.exit(main())
