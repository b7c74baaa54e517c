#!/usr/bin/python3
"""A cluster of real cairn-nodes, made and used by Redis's own tools.

Goal: three cairn-nodes become a cluster with `redis-cli --cluster create`
and pass `redis-cli --cluster check`; redis-cli -c, redis-py's RedisCluster
and `redis-benchmark --cluster` use it unchanged; a node answers a key of
another node's slot with Redis's MOVED, keys of several slots with
CROSSSLOT, and, while a slot migrates, ASK for a missing key, TRYAGAIN for
a request whose keys are only partly there, and serves an ASKING client on
the importing node; CLUSTER subcommands queue in MULTI as `redis-cli
--cluster fix` needs; a node restarted from its nodes.conf keeps its id and
rejoins; a message PUBLISHed on one node reaches subscribers on the others.

Method: the nodes run on loopback ports chosen so that each port + 10000
(the bus) is free too, each in its own temporary directory (its
nodes.conf), with the variant's flags from $CAIRN_NODE_ARGS. One cluster is
made for the whole class. Exits 77 (skip) when redis-py is missing.
"""
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
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


port_free = cairn_test.port_free


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


def raw(port, *args):
    """One command's raw reply bytes."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(cairn_test.encode(*args))
        return cairn_test.recv_reply(s)


def cli(*args, timeout=120):
    return subprocess.run(["redis-cli"] + list(args), capture_output=True, text=True,
                          timeout=timeout)


class Cluster(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="cairn-cluster-test-")
        cls.ports = ports(NODES)
        cls.srv = [start_node(p, os.path.join(cls.dir, str(p))) for p in cls.ports]
        r = cli("--cluster", "create", *["127.0.0.1:%d" % p for p in cls.ports],
                "--cluster-yes")
        assert r.returncode == 0 and "[OK] All 16384 slots covered." in r.stdout, r.stdout + r.stderr
        cls.wait_ok(cls.ports)

    @classmethod
    def tearDownClass(cls):
        for s in cls.srv:
            s.stop()
        shutil.rmtree(cls.dir, ignore_errors=True)

    @staticmethod
    def wait_ok(ports):
        def ok():
            for p in ports:
                info = redis.Redis(port=p).execute_command("CLUSTER", "INFO").decode()
                if "cluster_state:ok" not in info or "cluster_known_nodes:%d" % NODES not in info:
                    return False
            return True
        assert cairn_test.wait_until(ok, PATIENCE), "the cluster did not settle"

    def node_of(self, key):
        """The port of the node that owns key's slot."""
        slot = redis.Redis(port=self.ports[0]).execute_command("CLUSTER", "KEYSLOT", key)
        for entry in redis.Redis(port=self.ports[0]).execute_command("CLUSTER", "SLOTS"):
            if entry[0] <= slot <= entry[1]:
                return entry[2][1], slot
        raise AssertionError("no owner for slot %d" % slot)

    def test_check_and_clients(self):
        r = cli("--cluster", "check", "127.0.0.1:%d" % self.ports[1])
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("[OK] All nodes agree about slots configuration.", r.stdout)
        self.assertEqual(cli("-c", "-p", str(self.ports[0]), "set", "{u1}a", "v").stdout, "OK\n")
        self.assertEqual(cli("-c", "-p", str(self.ports[2]), "get", "{u1}a").stdout, "v\n")
        rc = RedisCluster(host="127.0.0.1", port=self.ports[0])
        for i in range(500):
            rc.set("rc:%d" % i, i)
        self.assertEqual([int(rc.get("rc:%d" % i)) for i in range(500)], list(range(500)))
        total = sum(redis.Redis(port=p).dbsize() for p in self.ports)
        self.assertGreaterEqual(total, 501)
        # Each key is where its slot is.
        for i in range(0, 500, 50):
            port, slot = self.node_of("rc:%d" % i)
            self.assertEqual(redis.Redis(port=port).execute_command(
                "CLUSTER", "COUNTKEYSINSLOT", slot) >= 1, True)
        b = subprocess.run(["redis-benchmark", "-p", str(self.ports[0]), "--cluster", "-n",
                            "3000", "-t", "set,get", "-q"], capture_output=True, text=True,
                           timeout=120)
        self.assertEqual(b.returncode, 0, b.stdout + b.stderr)

    def test_links_both_ways(self):
        """CLUSTER LINKS lists, for each other node, the link to it and the
        one from it (once the node has spoken on it), with Redis's fields."""
        ids = {p: redis.Redis(port=p).execute_command("CLUSTER", "MYID").decode()
               for p in self.ports}
        for p in self.ports:
            others = {ids[q] for q in self.ports if q != p}

            def both():
                links = redis.Redis(port=p).execute_command("CLUSTER", "LINKS")
                seen = {}
                for link in links:
                    d = dict(zip(link[0::2], link[1::2]))
                    self.assertEqual(sorted(d), [b"create-time", b"direction", b"events", b"node",
                                                 b"send-buffer-allocated", b"send-buffer-used"])
                    seen.setdefault(d[b"direction"], []).append(d[b"node"].decode())
                return (sorted(seen.get(b"to", [])) == sorted(others) and
                        sorted(seen.get(b"from", [])) == sorted(others))
            self.assertTrue(cairn_test.wait_until(both, PATIENCE),
                            redis.Redis(port=p).execute_command("CLUSTER", "LINKS"))

    def test_redirect_errors(self):
        port, slot = self.node_of("moved-key")
        other = [p for p in self.ports if p != port][0]
        self.assertEqual(raw(other, "GET", "moved-key"),
                         b"-MOVED %d 127.0.0.1:%d\r\n" % (slot, port))
        self.assertEqual(raw(port, "GET", "moved-key"), b"$-1\r\n")
        self.assertEqual(raw(port, "MGET", "a", "b", "c"),
                         b"-CROSSSLOT Keys in request don't hash to the same slot\r\n")
        xport, _ = self.node_of("{x}a")
        self.assertEqual(raw(xport, "MSET", "{x}a", "1", "{x}b", "2"), b"+OK\r\n")
        # A keyless command runs anywhere.
        self.assertEqual(raw(other, "PING"), b"+PONG\r\n")
        # MOVED in MULTI flags the transaction.
        r = redis.Redis(port=other)
        p = r.pipeline(transaction=True)
        p.set("moved-key", "1")
        with self.assertRaises(redis.ResponseError) as cm:
            p.execute()
        self.assertIn("MOVED", str(cm.exception) + repr(cm.exception.args))

    def test_migrating_slot(self):
        src, slot = self.node_of("{mig}here")
        dst = [p for p in self.ports if p != src][0]
        ids = {p: redis.Redis(port=p).execute_command("CLUSTER", "MYID").decode()
               for p in (src, dst)}
        s, d = redis.Redis(port=src), redis.Redis(port=dst)
        s.set("{mig}here", "1")
        self.assertEqual(d.execute_command("CLUSTER", "SETSLOT", slot, "importing", ids[src]),
                         b"OK")
        self.assertEqual(s.execute_command("CLUSTER", "SETSLOT", slot, "migrating", ids[dst]),
                         b"OK")
        try:
            self.assertEqual(raw(src, "GET", "{mig}here"), b"$1\r\n1\r\n")
            self.assertEqual(raw(src, "GET", "{mig}gone"),
                             b"-ASK %d 127.0.0.1:%d\r\n" % (slot, dst))
            self.assertEqual(raw(src, "MGET", "{mig}here", "{mig}gone"),
                             b"-TRYAGAIN Multiple keys request during rehashing of slot\r\n")
            # The importing node: MOVED without ASKING, served with it, for
            # one command only.
            self.assertEqual(raw(dst, "GET", "{mig}gone"),
                             b"-MOVED %d 127.0.0.1:%d\r\n" % (slot, src))
            with socket.create_connection(("127.0.0.1", dst), timeout=5) as c:
                c.sendall(cairn_test.encode("ASKING") + cairn_test.encode("SET", "{mig}new", "v") +
                          cairn_test.encode("GET", "{mig}new"))
                got = b""
                while got.count(b"\r\n") < 3:
                    got += c.recv(4096)
                self.assertEqual(got, b"+OK\r\n+OK\r\n-MOVED %d 127.0.0.1:%d\r\n" % (slot, src))
            nodes = s.execute_command("CLUSTER", "NODES").decode()
            self.assertIn("[%d->-%s]" % (slot, ids[dst]), nodes)
        finally:
            with socket.create_connection(("127.0.0.1", dst), timeout=5) as c:
                c.sendall(cairn_test.encode("ASKING") + cairn_test.encode("DEL", "{mig}new"))
                got = b""
                while got.count(b"\r\n") < 2:
                    got += c.recv(4096)
            for p in (src, dst):
                redis.Redis(port=p).execute_command("CLUSTER", "SETSLOT", slot, "stable")
        self.assertEqual(got, b"+OK\r\n:1\r\n")

    def test_publish_reaches_every_node(self):
        subs = []
        for p in self.ports[1:]:
            ps = redis.Redis(port=p).pubsub()
            ps.subscribe("cluster-news")
            self.assertEqual(ps.get_message(timeout=5)["type"], "subscribe")
            subs.append(ps)
        # This node's own subscribers count; the others' are not known.
        self.assertEqual(redis.Redis(port=self.ports[0]).publish("cluster-news", "hi"), 0)
        for ps in subs:
            m = None
            deadline = time.time() + PATIENCE
            while m is None and time.time() < deadline:
                m = ps.get_message(timeout=1)
            self.assertEqual((m["type"], m["channel"], m["data"]),
                             ("message", b"cluster-news", b"hi"))
            ps.close()

    def test_cluster_commands_in_multi(self):
        r = redis.Redis(port=self.ports[0])
        slot = r.execute_command("CLUSTER", "KEYSLOT", "multi-check")
        owner = [e for e in r.execute_command("CLUSTER", "SLOTS") if e[0] <= slot <= e[1]][0]
        p = redis.Redis(port=owner[2][1]).pipeline(transaction=True)
        p.execute_command("CLUSTER", "DELSLOTS", slot)
        p.execute_command("CLUSTER", "ADDSLOTS", slot)
        p.execute_command("CLUSTER", "BUMPEPOCH")
        out = p.execute()
        self.assertEqual(out[:2], [b"OK", b"OK"])
        self.assertTrue(out[2].startswith(b"BUMPED") or out[2].startswith(b"STILL"), out)
        self.wait_ok(self.ports)

    def test_zz_restart_keeps_identity(self):
        i = 1
        port = self.ports[i]
        before = redis.Redis(port=port).execute_command("CLUSTER", "MYID")
        self.srv[i].stop()
        self.srv[i] = start_node(port, os.path.join(self.dir, str(port)))
        self.assertEqual(redis.Redis(port=port).execute_command("CLUSTER", "MYID"), before)
        self.wait_ok(self.ports)
        r = cli("--cluster", "check", "127.0.0.1:%d" % self.ports[0])
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)


class SlotLeaves(unittest.TestCase):
    def test_shard_subscribers_and_blocked_clients_hear_of_it(self):
        """A slot that leaves the node ends its shard-channel subscriptions
        (sunsubscribe) and its blocked clients (CLUSTERDOWN, as the
        cluster is down once a slot has no owner)."""
        d = tempfile.mkdtemp(prefix="cairn-slot-leave-")
        port = ports(1)[0]
        srv = start_node(port, d)
        try:
            r = redis.Redis(port=port)
            r.execute_command("CLUSTER", "ADDSLOTSRANGE", 0, 16383)
            ch_slot = r.execute_command("CLUSTER", "KEYSLOT", "news")
            key_slot = r.execute_command("CLUSTER", "KEYSLOT", "queue")
            sub = socket.create_connection(("127.0.0.1", port), timeout=10)
            sub.sendall(cairn_test.encode("SSUBSCRIBE", "news"))
            self.assertEqual(cairn_test.recv_reply(sub), b"*3\r\n$10\r\nssubscribe\r\n$4\r\nnews\r\n:1\r\n")
            blk = socket.create_connection(("127.0.0.1", port), timeout=10)
            blk.sendall(cairn_test.encode("BLPOP", "queue", "0"))
            self.assertTrue(cairn_test.wait_until(
                lambda: r.info("clients")["blocked_clients"] == 1, PATIENCE))
            r.execute_command("CLUSTER", "DELSLOTS", ch_slot, key_slot)
            self.assertEqual(cairn_test.recv_reply(sub),
                             b"*3\r\n$12\r\nsunsubscribe\r\n$4\r\nnews\r\n:0\r\n")
            self.assertEqual(cairn_test.recv_reply(blk), b"-CLUSTERDOWN The cluster is down\r\n")
            sub.close()
            blk.close()
        finally:
            srv.stop()
            shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    unittest.main(verbosity=2)
