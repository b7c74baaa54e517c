#!/usr/bin/python3
"""Blocking pops through a real client: BLPOP, BRPOP, BRPOPLPUSH, BLMOVE,
BLMPOP, BZPOPMIN, BZPOPMAX and BZMPOP as redis-py uses them, alone and under
contention, as Redis 7.0 does.

Goal: the client blocked first on a key is served first; an element pushed
while several clients wait goes to exactly one of them; a client that
disconnects (or is killed) while blocked never consumes an element, and
the next waiter gets it; one command may wait on keys of several shards
and BLMOVE may move to yet another; under concurrent pushers and poppers
every pushed element is popped exactly once (conservation); CLIENT UNBLOCK
gives the timeout reply or the UNBLOCKED error; fractional timeouts answer
a null reply in time; inside MULTI nothing blocks; INFO and CLIENT LIST
show the blocked clients.

Method: each test starts its own server on a free loopback port (through
cairn_test): cairn-node with $CAIRN_NODE_ARGS, and "--shards 4" when those
do not name a shard count (ctest runs every variant, with one shard and
with four), so keys chosen on different shards (cairn_test.shard_of) really
live on different shards. Blocked clients are redis-py connections in
threads; a test waits for INFO's blocked_clients to count each block before
the next one starts, so the order of blocks is known. With
BLOCK_TEST_TARGET=redis the server is redis-server 7.0, and every test
must pass there too. Exits 77 (skip) when redis-py is missing.

    /usr/bin/python3 tests/integration/test_blocking.py -v
    BLOCK_TEST_TARGET=redis /usr/bin/python3 tests/integration/test_blocking.py -v
"""
import os
import socket
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cairn_test  # noqa: E402

try:
    import redis
except ImportError:
    print("redis-py is not installed (apt-get install python3-redis): skipped")
    sys.exit(77)

TARGET = os.environ.get("BLOCK_TEST_TARGET", "cairn")
if TARGET not in ("cairn", "redis"):
    print("BLOCK_TEST_TARGET must be cairn or redis, not %r" % TARGET)
    sys.exit(2)
ON_REDIS = TARGET == "redis"
UNBLOCKED = "UNBLOCKED client unblocked via CLIENT UNBLOCK"
# Shards of a node started here (keys are chosen for this count).
NSHARDS = 4
WAIT = 10  # seconds a test waits for a state it expects


def server():
    if ON_REDIS:
        return cairn_test.redis_server()
    extra = [] if "--shards" in cairn_test.NODE_ARGS else ["--shards", str(NSHARDS)]
    return cairn_test.cairn(*extra)


def keys_on_shards(prefix, n):
    """n keys, each on a different shard of a NSHARDS-shard node."""
    out, seen, i = [], set(), 0
    while len(out) < n:
        k = "%s%d" % (prefix, i)
        s = cairn_test.shard_of(k, NSHARDS)
        if s not in seen:
            seen.add(s)
            out.append(k)
        i += 1
    return out


def lists(v):
    """redis-py's tuples (BLPOP's pair) as lists, to compare."""
    return [lists(x) for x in v] if isinstance(v, (list, tuple)) else v


class Blocker(threading.Thread):
    """A client that runs one command (a blocking one) in a thread."""

    def __init__(self, srv, *cmd):
        super().__init__(daemon=True)
        self.conn = srv.client(socket_timeout=30, decode_responses=True)
        self.conn.ping()
        self.cmd = cmd
        self.result = self.error = None
        self.done = threading.Event()

    def run(self):
        try:
            self.result = self.conn.execute_command(*self.cmd)
        except redis.ResponseError as e:
            self.error = str(e)
        except (redis.ConnectionError, OSError) as e:
            self.error = "closed: %s" % e
        self.done.set()

    def wait(self, timeout=WAIT):
        assert self.done.wait(timeout), "%r got no reply" % (self.cmd,)
        return lists(self.result)


class BlockingTest(unittest.TestCase):
    def setUp(self):
        self.srv = server()
        self.srv.__enter__()
        self.r = self.srv.client(socket_timeout=20, decode_responses=True)
        self.blockers = []

    def tearDown(self):
        for b in self.blockers:
            try:
                b.conn.close()
            except Exception:
                pass
        self.srv.__exit__(*sys.exc_info())

    def blocked(self):
        return self.r.info("clients")["blocked_clients"]

    def block(self, *cmd):
        """Starts a client blocked by cmd, once the server counts it."""
        before = self.blocked()
        b = Blocker(self.srv, *cmd)
        b.start()
        self.blockers.append(b)
        self.assertTrue(cairn_test.wait_until(lambda: self.blocked() == before + 1, WAIT),
                        "%r did not block" % (cmd,))
        return b

    def test_fifo_several_clients(self):
        waiters = [self.block("BLPOP", "q", "0") for _ in range(5)]
        self.r.rpush("q", "e0")
        self.assertEqual(waiters[0].wait(), ["q", "e0"])
        # One push of several elements serves the rest in the order they
        # blocked; what is left stays.
        self.r.rpush("q", "e1", "e2", "e3", "e4", "left")
        for i, w in enumerate(waiters[1:], 1):
            self.assertEqual(w.wait(), ["q", "e%d" % i])
        self.assertEqual(self.r.lrange("q", 0, -1), ["left"])
        self.assertEqual(self.blocked(), 0)

    def test_one_element_one_client(self):
        a = self.block("BRPOP", "one", "0")
        b = self.block("BLPOP", "one", "0")
        self.r.rpush("one", "only")
        self.assertEqual(a.wait(), ["one", "only"])
        time.sleep(0.2)
        self.assertFalse(b.done.is_set(), "a second client got the same element")
        self.assertEqual(self.blocked(), 1)
        self.r.lpush("one", "next")
        self.assertEqual(b.wait(), ["one", "next"])

    def test_keys_on_different_shards(self):
        k1, k2, k3 = keys_on_shards("ms", 3)
        w = self.block("BLPOP", k1, k2, k3, "0")
        self.r.rpush(k3, "three")
        self.assertEqual(w.wait(), [k3, "three"])
        z1, z2 = keys_on_shards("zs", 2)
        w = self.block("BZPOPMAX", z1, z2, "0")
        self.r.zadd(z2, {"m": 1, "n": 2})
        self.assertEqual(w.wait(), [z2, "n", 2.0])
        w = self.block("BLMPOP", "0", "3", k1, k2, k3, "RIGHT", "COUNT", "2")
        self.r.rpush(k2, "a", "b", "c")
        self.assertEqual(w.wait(), [k2, ["c", "b"]])
        self.assertEqual(self.r.lrange(k2, 0, -1), ["a"])
        # A push to one of several keys drops the client's wait on the others.
        self.r.delete(k2)
        self.r.rpush(k1, "x")
        self.assertEqual(self.r.lrange(k1, 0, -1), ["x"])
        self.assertEqual(self.blocked(), 0)

    def test_blmove_across_shards(self):
        src, dst, dst2 = keys_on_shards("mv", 3)
        reader = self.block("BLPOP", dst, "0")
        mover = self.block("BLMOVE", src, dst, "LEFT", "RIGHT", "0")
        self.r.rpush(src, "v1")
        self.assertEqual(mover.wait(), "v1")
        # The move made dst poppable: its reader gets the element.
        self.assertEqual(reader.wait(), [dst, "v1"])
        mover = self.block("BRPOPLPUSH", src, dst2, "0")
        self.r.rpush(src, "v2", "v3")
        self.assertEqual(mover.wait(), "v3")
        self.assertEqual(self.r.lrange(dst2, 0, -1), ["v3"])
        self.assertEqual(self.r.lrange(src, 0, -1), ["v2"])

    def test_killed_client_never_consumes(self):
        for how in ("close", "kill"):
            k, other = keys_on_shards("kl" + how, 2)
            raw = socket.create_connection(("127.0.0.1", self.srv.port))
            if how == "kill":
                raw.sendall(b"CLIENT ID\r\n")
                cid = int(cairn_test.recv_reply(raw).strip()[1:])
            before = self.blocked()
            raw.sendall(b"*4\r\n$5\r\nBLPOP\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n$1\r\n0\r\n" % (
                len(other), other.encode(), len(k), k.encode()))
            self.assertTrue(cairn_test.wait_until(lambda: self.blocked() == before + 1, WAIT))
            nxt = self.block("BLPOP", k, "0")
            if how == "kill":
                self.assertEqual(self.r.execute_command("CLIENT", "KILL", "ID", cid), 1)
            else:
                raw.shutdown(socket.SHUT_RDWR)
            raw.close()
            self.assertTrue(cairn_test.wait_until(lambda: self.blocked() == 1, WAIT))
            self.r.rpush(k, "elem")
            self.assertEqual(nxt.wait(), [k, "elem"])
            self.assertEqual(self.r.llen(k), 0)
            self.r.rpush(other, "kept")
            time.sleep(0.1)
            self.assertEqual(self.r.lrange(other, 0, -1), ["kept"])

    def test_exactly_once_under_concurrency(self):
        keys = keys_on_shards("cc", 4)
        relay = keys_on_shards("relay", 4)[3]
        pushers, per_pusher = 4, 150
        total = pushers * per_pusher
        popped, lock, stop = [], threading.Lock(), threading.Event()

        def pusher(p):
            c = self.srv.client(socket_timeout=20, decode_responses=True)
            for i in range(per_pusher):
                c.rpush(keys[(p + i) % len(keys)], "p%d:%d" % (p, i))

        def popper(kind):
            c = self.srv.client(socket_timeout=20, decode_responses=True)
            while not stop.is_set():
                if kind == "move":
                    # Moves an element on to the relay (another shard),
                    # where the relay poppers take it.
                    c.execute_command("BLMOVE", keys[0], relay, "LEFT", "LEFT", "0.05")
                    continue
                if kind == "relay":
                    got = c.execute_command("BRPOP", relay, "0.05")
                else:
                    got = c.execute_command("BLPOP", *keys, "0.05")
                if got is not None:
                    with lock:
                        popped.append(got[1])

        threads = [threading.Thread(target=popper, args=(k,), daemon=True)
                   for k in ("pop", "pop", "pop", "move", "relay", "relay")]
        for t in threads:
            t.start()
        ps = [threading.Thread(target=pusher, args=(p,)) for p in range(pushers)]
        for t in ps:
            t.start()
        for t in ps:
            t.join()
        ok = cairn_test.wait_until(lambda: len(popped) >= total, 60, 0.1)
        time.sleep(0.3)
        stop.set()
        for t in threads:
            t.join(10)
        self.assertTrue(ok, "popped %d of %d" % (len(popped), total))
        self.assertEqual(len(popped), total, "an element was popped twice")
        self.assertEqual(sorted(popped),
                         sorted("p%d:%d" % (p, i) for p in range(pushers)
                                for i in range(per_pusher)))
        for k in keys + [relay]:
            self.assertEqual(self.r.exists(k), 0)

    def test_client_unblock(self):
        w = self.block("BLPOP", "ub", "0")
        cid = [c["id"] for c in self.r.client_list() if c["cmd"] == "blpop"][0]
        self.assertEqual(self.r.execute_command("CLIENT", "UNBLOCK", cid, "TIMEOUT"), 1)
        self.assertIsNone(w.wait())
        self.assertEqual(self.r.execute_command("CLIENT", "UNBLOCK", cid), 0)
        w = self.block("BZMPOP", "0", "1", "ub", "MIN")
        cid = [c["id"] for c in self.r.client_list() if c["cmd"] == "bzmpop"][0]
        self.assertEqual(self.r.execute_command("CLIENT", "UNBLOCK", cid, "ERROR"), 1)
        w.wait()
        self.assertEqual(w.error, UNBLOCKED)
        self.assertEqual(self.blocked(), 0)
        # Unblocked, it waits no more: a push stays.
        self.r.rpush("ub", "stays")
        time.sleep(0.1)
        self.assertEqual(self.r.lrange("ub", 0, -1), ["stays"])
        self.assertEqual(w.conn.ping(), True)

    def test_timeouts(self):
        c = self.srv.client(socket_timeout=20, decode_responses=True)
        for cmd in (("BLPOP", "t1", "t2", "0.1"), ("BRPOPLPUSH", "t1", "t2", "0.1"),
                    ("BLMOVE", "t1", "t2", "LEFT", "LEFT", "0.1"),
                    ("BLMPOP", "0.1", "1", "t1", "LEFT"), ("BZPOPMIN", "t1", "0.1"),
                    ("BZMPOP", "0.1", "1", "t1", "MAX")):
            t0 = time.time()
            self.assertIsNone(c.execute_command(*cmd))
            took = time.time() - t0
            self.assertGreaterEqual(took, 0.095, cmd)
            self.assertLess(took, 2.0, cmd)
        self.assertEqual(self.blocked(), 0)
        t0 = time.time()
        self.assertIsNone(c.execute_command("BLPOP", "t1", "0.001"))
        self.assertLess(time.time() - t0, 2.0)
        stats = self.r.info("commandstats")
        self.assertEqual(stats["cmdstat_blpop"]["calls"], 2)

    def test_multi_never_blocks(self):
        p = self.r.pipeline(transaction=True)
        p.blpop(["m1", "m2"], 0)
        p.brpoplpush("m1", "m2", 0)
        p.bzpopmin("m1", 0)
        p.rpush("m1", "x")
        p.blpop("m1", 0)
        self.assertEqual(p.execute(), [None, None, None, 1, ("m1", "x")])

    def test_push_in_exec_serves_after_exec(self):
        w = self.block("BLPOP", "ex", "0")
        p = self.r.pipeline(transaction=True)
        p.rpush("ex", "a", "b")
        p.lpop("ex")
        p.execute()
        self.assertEqual(w.wait(), ["ex", "b"])

    def test_introspection(self):
        w = self.block("BLPOP", "in", "5")
        mine = [c for c in self.r.client_list() if c["cmd"] == "blpop"]
        self.assertEqual(len(mine), 1)
        self.assertIn("b", mine[0]["flags"])
        info = self.r.info("clients")
        self.assertEqual(info["blocked_clients"], 1)
        self.assertEqual(info["clients_in_timeout_table"], 1)
        self.r.rpush("in", "x")
        w.wait()
        self.assertEqual(self.r.info("commandstats")["cmdstat_blpop"]["calls"], 1)
        self.assertEqual(self.blocked(), 0)

    def test_resp3(self):
        raw = socket.create_connection(("127.0.0.1", self.srv.port))
        raw.sendall(b"HELLO 3\r\n")
        self.assertTrue(cairn_test.recv_reply(raw).startswith(b"%"))
        time.sleep(0.1)
        raw.settimeout(0.2)
        try:
            raw.recv(65536)  # the rest of HELLO's map, if it came in pieces
        except socket.timeout:
            pass
        before = self.blocked()
        raw.sendall(b"BZPOPMIN r3 0\r\n")
        self.assertTrue(cairn_test.wait_until(lambda: self.blocked() == before + 1, WAIT))
        self.r.zadd("r3", {"a": 1.5})
        got = b""
        while got.count(b"\r\n") < 5:
            got += cairn_test.recv_reply(raw)
        self.assertEqual(got, b"*3\r\n$2\r\nr3\r\n$1\r\na\r\n,1.5\r\n")
        raw.sendall(b"BLPOP r3 0.01\r\n")
        self.assertEqual(cairn_test.recv_reply(raw), b"_\r\n")
        raw.close()

if __name__ == "__main__":
    unittest.main()
