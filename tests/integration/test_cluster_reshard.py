#!/usr/bin/python3
"""Resharding a cluster of cairn-nodes with redis-cli, under load.

Goal: `redis-cli --cluster reshard` moves slots that hold keys between
cairn-nodes (CLUSTER SETSLOT, GETKEYSINSLOT, MIGRATE ... KEYS with
RESTORE-ASKING on the target) while a redis-py RedisCluster client keeps
writing and reading those keys: every SET that was acknowledged is
readable afterwards with its last value, and `redis-cli --cluster check`
passes. Then `rebalance` evens the slots out again; `add-node` joins an
empty fourth node and `del-node` removes it; `import` moves every key of a
standalone redis-server into the cluster (redis-server's MIGRATE, plain
RESTORE with Redis's payloads into cairn). `fix` closes a half-migrated
slot (moving the keys left behind, then the slot) and covers a slot
nobody owns, by MULTI/DELSLOTS/ADDSLOTS/BUMPEPOCH/EXEC on the node that
holds its keys.

Method: three cairn-nodes made a cluster by `redis-cli --cluster create`
(as test_cluster.py does: loopback ports with a free bus port, a temporary
directory each, the variant's $CAIRN_NODE_ARGS); keys chosen in the slots
that move. Exits 77 (skip) when redis-py is missing.
"""
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cairn_test  # noqa: E402

try:
    import redis
    from redis.cluster import RedisCluster
except ImportError:
    print("redis-py is not installed (apt-get install python3-redis): skipped")
    sys.exit(77)

NODES = 3
PATIENCE = 30.0
MOVE = 100  # slots resharded


def port_free(port):
    s = socket.socket()
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def ports(n):
    rnd, out = random.Random(), []
    while len(out) < n:
        p = rnd.randrange(20000, 55535)
        if p not in out and port_free(p) and port_free(p + 10000):
            out.append(p)
    return out


def start_node(port, d):
    os.makedirs(d, exist_ok=True)
    argv = [cairn_test.NODE, "--port", str(port), "--bind", "127.0.0.1", "--cluster-enabled",
            "yes", "--cluster-config-file", os.path.join(d, "nodes.conf"),
            "--cluster-node-timeout", "5000"] + cairn_test.NODE_ARGS
    return cairn_test.Server(argv, port)


def cli(*args, timeout=300, answers=""):
    """redis-cli; answers go to its questions (fix asks even with
    --cluster-yes)."""
    return subprocess.run(["redis-cli"] + list(args), capture_output=True, text=True,
                          timeout=timeout, input=answers)


def myid(port):
    return redis.Redis(port=port).execute_command("CLUSTER", "MYID").decode()


def keys_in_slots(lo, hi, n, prefix):
    """n keys whose slots are in [lo, hi)."""
    out, i = [], 0
    while len(out) < n:
        k = "%s:%d" % (prefix, i)
        if lo <= cairn_test.key_slot(k) < hi:
            out.append(k)
        i += 1
    return out


class Reshard(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="cairn-reshard-test-")
        self.ports = ports(NODES + 1)
        self.srv = [start_node(p, os.path.join(self.dir, str(p))) for p in self.ports[:NODES]]
        r = cli("--cluster", "create", *["127.0.0.1:%d" % p for p in self.ports[:NODES]],
                "--cluster-yes")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.wait_ok(self.ports[:NODES])

    def tearDown(self):
        for s in self.srv:
            s.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def wait_ok(self, ps, known=NODES):
        def ok():
            for p in ps:
                info = redis.Redis(port=p).execute_command("CLUSTER", "INFO").decode()
                if "cluster_state:ok" not in info or "cluster_known_nodes:%d" % known not in info:
                    return False
            return True
        self.assertTrue(cairn_test.wait_until(ok, PATIENCE), "the cluster did not settle")

    def check(self):
        # The last SETSLOT NODE of a move reaches the other masters' views
        # by gossip too: agreement, with a bound, before the check counts.
        deadline = time.time() + PATIENCE
        while True:
            r = cli("--cluster", "check", "127.0.0.1:%d" % self.ports[0])
            if r.returncode == 0 or time.time() > deadline:
                break
            time.sleep(0.2)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("[OK] All 16384 slots covered.", r.stdout)
        self.assertNotIn("[WARNING]", r.stdout)
        self.assertNotIn("[ERR]", r.stdout)

    def owner_slots(self, port):
        """The slots port's node owns, as CLUSTER SLOTS tells."""
        n = 0
        for e in redis.Redis(port=port).execute_command("CLUSTER", "SLOTS"):
            if e[2][1] == port:
                n += e[1] - e[0] + 1
        return n

    def test_reshard_under_load(self):
        rc = RedisCluster(host="127.0.0.1", port=self.ports[0])
        keys = keys_in_slots(0, 2 * MOVE, 400, "k")
        for k in keys:
            rc.set(k, "0")
        acked, errors, stop = {}, [], threading.Event()


        # One writer per key set, so each key's last acknowledged value is known.
        ths = []
        for s in range(2):
            part = keys[s::2]

            def run(part=part, s=s):
                c = RedisCluster(host="127.0.0.1", port=self.ports[0])
                rnd, n = random.Random(s), 0
                while not stop.is_set():
                    k = rnd.choice(part)
                    n += 1
                    v = "%d-%d" % (s, n)
                    try:
                        if c.set(k, v):
                            acked[k] = v
                        c.get(k)
                    except Exception as e:  # noqa: BLE001
                        errors.append(repr(e))
            ths.append(threading.Thread(target=run))
        for th in ths:
            th.start()
        time.sleep(0.3)
        src, dst = myid(self.ports[0]), myid(self.ports[1])
        before = self.owner_slots(self.ports[1])
        t0 = time.time()
        r = cli("--cluster", "reshard", "127.0.0.1:%d" % self.ports[0], "--cluster-from", src,
                "--cluster-to", dst, "--cluster-slots", str(MOVE), "--cluster-yes")
        took = time.time() - t0
        time.sleep(0.3)
        stop.set()
        for th in ths:
            th.join(30)
        self.assertEqual(r.returncode, 0, r.stdout[-3000:] + r.stderr)
        print("reshard of %d slots took %.1f s; writer errors: %d" % (MOVE, took, len(errors)))
        self.assertLess(len(errors), 20, errors[:5])
        self.check()
        self.assertEqual(self.owner_slots(self.ports[1]), before + MOVE)
        rc2 = RedisCluster(host="127.0.0.1", port=self.ports[2])
        for k, v in acked.items():
            self.assertEqual(rc2.get(k), v.encode(), k)
        for k in keys:
            self.assertIsNotNone(rc2.get(k), k)
        # The moved keys live on the target now.
        moved = [k for k in keys if cairn_test.key_slot(k) < MOVE]
        self.assertTrue(moved)
        self.assertEqual(redis.Redis(port=self.ports[0]).execute_command(
            "CLUSTER", "COUNTKEYSINSLOT", cairn_test.key_slot(moved[0])), 0)
        self.rebalance()

    def rebalance(self):
        r = cli("--cluster", "rebalance", "127.0.0.1:%d" % self.ports[0], "--cluster-threshold",
                "1", "--cluster-yes")
        self.assertEqual(r.returncode, 0, r.stdout[-3000:] + r.stderr)
        self.check()
        counts = [self.owner_slots(p) for p in self.ports[:NODES]]
        self.assertLessEqual(max(counts) - min(counts), 2, counts)

    def test_add_and_del_node(self):
        # Its port is picked now (one picked earlier may have been taken
        # meanwhile by a test running alongside), again if it was.
        for attempt in range(5):
            self.ports[NODES] = ports(1)[0]
            d = os.path.join(self.dir, str(self.ports[NODES]))
            try:
                self.srv.append(start_node(self.ports[NODES], d))
                break
            except RuntimeError:
                if attempt == 4:
                    raise
        r = cli("--cluster", "add-node", "127.0.0.1:%d" % self.ports[NODES],
                "127.0.0.1:%d" % self.ports[0])
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.wait_ok(self.ports[:NODES + 1], known=NODES + 1)
        new = myid(self.ports[NODES])
        # Slots with keys go to the new node, then back.
        rc = RedisCluster(host="127.0.0.1", port=self.ports[0])
        keys = keys_in_slots(0, 20, 50, "n")
        for k in keys:
            rc.set(k, k)
        r = cli("--cluster", "reshard", "127.0.0.1:%d" % self.ports[0], "--cluster-from",
                myid(self.ports[0]), "--cluster-to", new, "--cluster-slots", "20",
                "--cluster-yes")
        self.assertEqual(r.returncode, 0, r.stdout[-3000:] + r.stderr)
        self.assertEqual(redis.Redis(port=self.ports[NODES]).dbsize(), 50)
        r = cli("--cluster", "reshard", "127.0.0.1:%d" % self.ports[0], "--cluster-from", new,
                "--cluster-to", myid(self.ports[0]), "--cluster-slots", "20", "--cluster-yes")
        self.assertEqual(r.returncode, 0, r.stdout[-3000:] + r.stderr)
        self.assertEqual(redis.Redis(port=self.ports[NODES]).dbsize(), 0)
        r = cli("--cluster", "del-node", "127.0.0.1:%d" % self.ports[0], new)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.srv.pop().stop()
        self.wait_ok(self.ports[:NODES])
        self.check()
        rc = RedisCluster(host="127.0.0.1", port=self.ports[1])
        for k in keys:
            self.assertEqual(rc.get(k), k.encode())

    def test_migrate_on_open_slot(self):
        a, b = keys_in_slots(0, 1, 2, "o")
        src, dst = redis.Redis(port=self.ports[0]), redis.Redis(port=self.ports[1])
        self.assertEqual(src.set(a, "va"), True)
        slot = cairn_test.key_slot(a)
        dst.execute_command("CLUSTER", "SETSLOT", slot, "IMPORTING", myid(self.ports[0]))
        src.execute_command("CLUSTER", "SETSLOT", slot, "MIGRATING", myid(self.ports[1]))
        # b is missing: MIGRATE still runs here (no TRYAGAIN, no ASK).
        self.assertEqual(src.execute_command("MIGRATE", "127.0.0.1", self.ports[1], "", 0, 5000,
                                             "KEYS", a, b), b"OK")
        self.assertEqual(src.execute_command("MIGRATE", "127.0.0.1", self.ports[1], b, 0, 5000),
                         b"NOKEY")
        # Gone from the source: a read of it is asked to the target.
        with self.assertRaises(redis.exceptions.ResponseError) as e:
            src.get(a)
        self.assertTrue(str(e.exception).startswith("ASK %d " % slot), str(e.exception))
        with self.assertRaises(redis.exceptions.ResponseError) as e:
            dst.get(a)
        self.assertTrue(str(e.exception).startswith("MOVED"), str(e.exception))
        # RESTORE-ASKING is served by the importing node without ASKING;
        # RESTORE is not.
        pipe = dst.pipeline(transaction=False)
        pipe.execute_command("ASKING")
        pipe.execute_command("DUMP", a)
        payload = pipe.execute()[1]
        self.assertEqual(dst.execute_command("RESTORE-ASKING", b, 0, payload), b"OK")
        with self.assertRaises(redis.exceptions.ResponseError) as e:
            dst.execute_command("RESTORE", b, 0, payload, "REPLACE")
        self.assertTrue(str(e.exception).startswith("MOVED"), str(e.exception))
        for p in self.ports[:NODES]:
            redis.Redis(port=p).execute_command("CLUSTER", "SETSLOT", slot, "NODE",
                                                myid(self.ports[1]))
        rc = RedisCluster(host="127.0.0.1", port=self.ports[2])
        self.assertEqual(rc.get(a), b"va")
        self.assertEqual(rc.get(b), b"va")
        self.check()

    def owner_of(self, slot, port):
        for e in redis.Redis(port=port).execute_command("CLUSTER", "SLOTS"):
            if e[0] <= slot <= e[1]:
                return e[2][1]
        return None

    def test_fix_half_migrated_slot(self):
        keys = keys_in_slots(5461, 5462, 6, "fx")  # one slot of the second node
        slot = cairn_test.key_slot(keys[0])
        sp, dp = self.ports[1], self.ports[2]
        src, dst = redis.Redis(port=sp), redis.Redis(port=dp)
        self.assertEqual(self.owner_of(slot, sp), sp)
        for i, k in enumerate(keys):
            self.assertTrue(src.set(k, "v%d" % i))
        dst.execute_command("CLUSTER", "SETSLOT", slot, "IMPORTING", myid(sp))
        src.execute_command("CLUSTER", "SETSLOT", slot, "MIGRATING", myid(dp))
        # Most of it moved, then the mover stopped. The slot has two
        # would-be owners (the one its configuration names, the one with
        # keys): redis-cli gives it to the one with more keys (Redis's own
        # rule, so the target here) and moves the rest there.
        self.assertEqual(src.execute_command("MIGRATE", "127.0.0.1", dp, "", 0, 5000, "KEYS",
                                             *keys[:4]), b"OK")
        r = cli("--cluster", "check", "127.0.0.1:%d" % self.ports[0])
        self.assertIn("open slot", r.stdout)
        r = cli("--cluster", "fix", "127.0.0.1:%d" % self.ports[0], "--cluster-yes")
        self.assertEqual(r.returncode, 0, r.stdout[-3000:] + r.stderr)
        self.assertIn("Fixing open slot %d" % slot, r.stdout)
        self.assertIn("Configuring 127.0.0.1:%d as the slot owner" % dp, r.stdout)
        self.check()
        for p in self.ports[:NODES]:
            self.assertTrue(cairn_test.wait_until(lambda: self.owner_of(slot, p) == dp, PATIENCE))
        self.assertEqual(src.execute_command("CLUSTER", "COUNTKEYSINSLOT", slot), 0)
        self.assertEqual(dst.execute_command("CLUSTER", "COUNTKEYSINSLOT", slot), len(keys))
        rc = RedisCluster(host="127.0.0.1", port=self.ports[0])
        for i, k in enumerate(keys):
            self.assertEqual(rc.get(k), ("v%d" % i).encode())

    def test_fix_uncovered_slots(self):
        """Two slots nobody owns: one empty, one whose keys one node
        keeps. fix covers the empty one with some node, and gives the other
        to the node that has its keys (redis-cli sends MULTI, CLUSTER
        DELSLOTS, ADDSLOTS, BUMPEPOCH, EXEC there)."""
        keys = keys_in_slots(100, 101, 3, "un")
        full, empty = 100, 101
        p0 = self.ports[0]
        r0 = redis.Redis(port=p0)
        for k in keys:
            self.assertTrue(r0.set(k, k))
        for p in self.ports[:NODES]:
            redis.Redis(port=p).execute_command("CLUSTER", "DELSLOTS", full, empty)
        r = cli("--cluster", "check", "127.0.0.1:%d" % p0)
        self.assertIn("[ERR] Not all 16384 slots are covered by nodes.", r.stdout)
        r = cli("--cluster", "fix", "127.0.0.1:%d" % p0, "--cluster-yes", answers="yes\nyes\n")
        self.assertEqual(r.returncode, 0, r.stdout[-3000:] + r.stderr)
        self.assertIn("The following uncovered slots have no keys across the cluster:",
                      r.stdout)
        self.assertIn("The following uncovered slots have keys in just one node:", r.stdout)
        self.check()
        for p in self.ports[:NODES]:
            self.assertTrue(cairn_test.wait_until(lambda: self.owner_of(full, p) == p0, PATIENCE))
            self.assertIsNotNone(self.owner_of(empty, p))
        rc = RedisCluster(host="127.0.0.1", port=self.ports[1])
        for k in keys:
            self.assertEqual(rc.get(k), k.encode())

    def test_import_from_redis(self):
        with cairn_test.redis_server() as src:
            c = src.client()
            for i in range(300):
                c.set("imp:%d" % i, i)
            c.rpush("imp:list", *range(100))
            c.hset("imp:hash", mapping={"f%d" % i: i for i in range(50)})
            r = cli("--cluster", "import", "127.0.0.1:%d" % self.ports[0], "--cluster-from",
                    "127.0.0.1:%d" % src.port)
            self.assertEqual(r.returncode, 0, r.stdout[-3000:] + r.stderr)
            self.assertEqual(c.dbsize(), 0)
        rc = RedisCluster(host="127.0.0.1", port=self.ports[0])
        for i in range(300):
            self.assertEqual(rc.get("imp:%d" % i), str(i).encode())
        self.assertEqual(rc.lrange("imp:list", 0, -1), [str(i).encode() for i in range(100)])
        self.assertEqual(len(rc.hgetall("imp:hash")), 50)
        self.check()


if __name__ == "__main__":
    unittest.main()
