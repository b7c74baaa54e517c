"""MIGRATE between cairn-node and redis-server 7.0, both ways.

Goal: MIGRATE moves keys as Redis's does (single key and KEYS, COPY,
REPLACE, BUSYKEY without REPLACE, AUTH and AUTH2 to a target with a
password, +NOKEY, TTLs kept) with Redis's error texts (argument errors,
IOERR on a refused connection and on a target that never answers, the
target's error); redis-server MIGRATEs into cairn (cairn reads Redis's
payloads) and cairn into redis-server. cairn's own rule: MIGRATE never
blocks its shard, and a key is deleted only once the target acknowledged
it: against a slow target (a Python server that holds its +OK) the key is
still readable, and other clients are served, during the wait; a write to
the key during the wait is not lost (the key goes again, with REPLACE,
and the target ends with the new value); two MIGRATEs of one key to one
target leave it there. INFO counts the cached socket, which closes after
10 s idle. Big values (3 MB, several 64 KB writes) and 2000 keys in one
MIGRATE go through.

Method: cairn-node (the variant's backend and shard count), redis-server
and raw Python servers on loopback ports; redis-py clients; replies
compared with what redis-server answers for the same request.
"""
import os
import socket
import sys
import threading
import time
import unittest

import redis

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cairn_test  # noqa: E402


def migrate(c, port, key, *extra, timeout=2000, db=0):
    return c.execute_command("MIGRATE", "127.0.0.1", port, key, db, timeout, *extra)


def error_of(fn):
    try:
        fn()
    except redis.ResponseError as e:
        return str(e)
    raise AssertionError("no error")


class FakeTarget:
    """A RESP server on a loopback port that records each command and
    answers +OK (:1 to DEL) after `delay` seconds, or never when silent."""

    def __init__(self, delay=0.0, silent=False):
        self.delay, self.silent = delay, silent
        self.commands = []
        self.lock = threading.Lock()
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        self.stop = False
        self.socks = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.stop:
            try:
                s, _ = self.listener.accept()
            except OSError:
                return
            self.socks.append(s)
            threading.Thread(target=self._serve, args=(s,), daemon=True).start()

    def _serve(self, s):
        reader = cairn_test.RespReader(s, timeout=60)
        while not self.stop:
            try:
                cmd = reader.read()
            except Exception:
                return
            with self.lock:
                self.commands.append(cmd)
            if self.silent:
                continue
            time.sleep(self.delay)
            try:
                s.sendall(b":1\r\n" if cmd[0].upper() == b"DEL" else b"+OK\r\n")
            except OSError:
                return

    def names(self):
        with self.lock:
            return [c[0].upper() for c in self.commands]

    def close(self):
        self.stop = True
        self.listener.close()
        for s in self.socks:
            try:
                s.close()
            except OSError:
                pass


class MigrateTest(unittest.TestCase):
    def setUp(self):
        self.a = cairn_test.cairn()
        self.b = cairn_test.cairn()
        self.r = cairn_test.redis_server()
        self.ca, self.cb, self.cr = self.a.client(), self.b.client(), self.r.client()

    def tearDown(self):
        for s in (self.a, self.b, self.r):
            s.stop()

    def test_single_key_and_ttl(self):
        self.ca.set("k", "v")
        self.ca.set("t", "x", px=100000)
        self.assertEqual(migrate(self.ca, self.b.port, "k"), b"OK")
        self.assertEqual(self.ca.exists("k"), 0)
        self.assertEqual(self.cb.get("k"), b"v")
        self.assertEqual(migrate(self.ca, self.b.port, "t"), b"OK")
        self.assertTrue(90000 < self.cb.pttl("t") <= 100000)
        self.assertEqual(self.cb.pttl("k"), -1)

    def test_keys_option_and_nokey(self):
        keys = ["k%d" % i for i in range(50)]
        for k in keys:
            self.ca.rpush(k, k, "x")
        got = migrate(self.ca, self.b.port, "", "KEYS", *(keys + ["missing"]))
        self.assertEqual(got, b"OK")
        for k in keys:
            self.assertEqual(self.ca.exists(k), 0)
            self.assertEqual(self.cb.lrange(k, 0, -1), [k.encode(), b"x"])
        self.assertEqual(migrate(self.ca, self.b.port, "missing"), b"NOKEY")
        self.assertEqual(migrate(self.ca, self.b.port, "", "KEYS", "m1", "m2"), b"NOKEY")

    def test_copy_replace_busykey(self):
        self.ca.set("k", "new")
        self.cb.set("k", "old")
        err = error_of(lambda: migrate(self.ca, self.b.port, "k"))
        self.assertEqual(err, "Target instance replied with error: BUSYKEY Target key name "
                         "already exists.")
        self.assertEqual(self.ca.get("k"), b"new")
        self.assertEqual(self.cb.get("k"), b"old")
        self.assertEqual(migrate(self.ca, self.b.port, "k", "COPY", "REPLACE"), b"OK")
        self.assertEqual(self.ca.get("k"), b"new")
        self.assertEqual(self.cb.get("k"), b"new")
        self.ca.set("k", "newer")
        self.assertEqual(migrate(self.ca, self.b.port, "k", "REPLACE"), b"OK")
        self.assertEqual(self.ca.exists("k"), 0)
        self.assertEqual(self.cb.get("k"), b"newer")

    def test_argument_errors_as_redis(self):
        for c in (self.ca, self.cr):
            c.set("k", "v")
        cases = [
            ("k", "BOGUS"),
            ("k", "AUTH"),
            ("k", "AUTH2", "u"),
            ("k", "KEYS", "k"),
        ]
        for extra in cases:
            want = error_of(lambda: migrate(self.cr, self.b.port, *extra))
            got = error_of(lambda: migrate(self.ca, self.b.port, *extra))
            self.assertEqual(got, want, extra)
        for kw in ({"timeout": "x"}, {"db": "y"}, {"timeout": "x", "db": "y"}):
            want = error_of(lambda: migrate(self.cr, self.b.port, "k", **kw))
            got = error_of(lambda: migrate(self.ca, self.b.port, "k", **kw))
            self.assertEqual(got, want, kw)
        self.assertEqual(self.ca.get("k"), b"v")

    def test_connect_error(self):
        self.ca.set("k", "v")
        port = cairn_test.free_port()
        err = error_of(lambda: migrate(self.ca, port, "k"))
        # Redis finds a refused socket writable: its write fails.
        self.assertEqual(err, "IOERR error or timeout writing to target instance")
        self.assertEqual(self.ca.get("k"), b"v")
        self.cr.set("k", "v")
        self.assertEqual(error_of(lambda: migrate(self.cr, port, "k")), err)
        # A host that is no address: the connect itself fails.
        err = error_of(lambda: self.ca.execute_command("MIGRATE", "no.such.host.invalid",
                                                       port, "k", 0, 500))
        self.assertEqual(err, "IOERR error or timeout connecting to the client")
        self.assertEqual(self.ca.get("k"), b"v")

    def test_timeout_silent_target(self):
        t = FakeTarget(silent=True)
        try:
            self.ca.set("k", "v")
            other = self.a.client()
            done = {}

            def run():
                done["err"] = error_of(lambda: migrate(self.ca, t.port, "k", timeout=500))
            th = threading.Thread(target=run)
            t0 = time.time()
            th.start()
            time.sleep(0.2)
            # The shard serves others meanwhile, and the key is there.
            self.assertEqual(other.get("k"), b"v")
            th.join(10)
            self.assertEqual(done["err"], "IOERR error or timeout reading to target instance")
            self.assertGreaterEqual(time.time() - t0, 0.45)
            self.assertEqual(self.ca.get("k"), b"v")
            self.assertIn(b"RESTORE", t.names())
            # A timeout of 0 (or less) is 1000 ms, as in Redis.
            t0 = time.time()
            err = error_of(lambda: migrate(self.ca, t.port, "k", timeout=0))
            self.assertEqual(err, "IOERR error or timeout reading to target instance")
            self.assertGreaterEqual(time.time() - t0, 0.95)
            self.assertEqual(self.ca.get("k"), b"v")
        finally:
            t.close()

    def test_key_stays_until_acknowledged(self):
        t = FakeTarget(delay=0.8)
        try:
            self.ca.set("k", "v")
            cid = self.ca.client_id()
            other = self.a.client()
            res = {}
            th = threading.Thread(target=lambda: res.setdefault("r", migrate(self.ca, t.port,
                                                                             "k")))
            th.start()
            time.sleep(0.3)
            self.assertEqual(other.get("k"), b"v")  # not acknowledged yet
            # Not a blocked client, as in Redis (where MIGRATE blocks all).
            self.assertEqual(other.execute_command("CLIENT", "UNBLOCK", cid), 0)
            th.join(10)
            self.assertEqual(res["r"], b"OK")
            self.assertEqual(other.exists("k"), 0)
            # A fresh socket: SELECT 0 first, as Redis sends it.
            self.assertEqual(t.names(), [b"SELECT", b"RESTORE"])
        finally:
            t.close()

    def test_write_during_wait_is_not_lost(self):
        t = FakeTarget(delay=0.6)
        try:
            self.ca.set("k", "v1")
            other = self.a.client()
            res = {}
            th = threading.Thread(target=lambda: res.setdefault("r", migrate(self.ca, t.port,
                                                                             "k")))
            th.start()
            time.sleep(0.2)
            self.assertTrue(other.set("k", "v2"))  # acknowledged to this client
            th.join(10)
            self.assertEqual(res["r"], b"OK")
            self.assertEqual(other.exists("k"), 0)
            restores = [c for c in t.commands if c[0].upper() == b"RESTORE"]
            self.assertEqual(len(restores), 2)
            self.assertIn(b"REPLACE", [a.upper() for a in restores[1]])
            # The second round carried the new value: load it into redis.
            self.cr.execute_command("RESTORE", "k", 0, restores[1][3])
            self.assertEqual(self.cr.get("k"), b"v2")
        finally:
            t.close()

    def test_delete_during_wait_is_sent(self):
        t = FakeTarget(delay=0.6)
        try:
            self.ca.set("k", "v1")
            other = self.a.client()
            res = {}
            th = threading.Thread(target=lambda: res.setdefault("r", migrate(self.ca, t.port,
                                                                             "k")))
            th.start()
            time.sleep(0.2)
            self.assertEqual(other.delete("k"), 1)
            th.join(10)
            self.assertEqual(res["r"], b"OK")
            self.assertEqual(t.names()[-1], b"DEL")
        finally:
            t.close()

    def test_refused_in_transaction(self):
        self.ca.set("k", "v")
        p = self.ca.pipeline(transaction=True)
        p.execute_command("MIGRATE", "127.0.0.1", self.b.port, "k", 0, 1000)
        p.get("k")
        res = p.execute(raise_on_error=False)
        self.assertEqual(str(res[0]), "MIGRATE is not allowed in a transaction")
        self.assertEqual(res[1], b"v")

    def test_two_migrates_of_one_key(self):
        # Both are acknowledged; the second finds the key gone, deleted by
        # the first, and must not delete it on the target.
        t = FakeTarget(delay=0.5)
        try:
            self.ca.set("k", "v")
            res = []

            def run():
                res.append(migrate(self.a.client(), t.port, "k", "REPLACE"))
            ths = [threading.Thread(target=run) for _ in range(2)]
            for th in ths:
                th.start()
            for th in ths:
                th.join(10)
            self.assertEqual(res, [b"OK", b"OK"])
            self.assertEqual(self.ca.exists("k"), 0)
            self.assertEqual(t.names().count(b"RESTORE"), 2)
            self.assertNotIn(b"DEL", t.names())
        finally:
            t.close()

    def test_auth_and_auth2(self):
        with cairn_test.cairn("--requirepass", "pw") as p:
            self.ca.set("a", "1")
            self.ca.set("b", "2")
            self.ca.set("c", "3")
            err = error_of(lambda: migrate(self.ca, p.port, "a"))
            self.assertEqual(err, "Target instance replied with error: NOAUTH Authentication "
                             "required.")
            self.assertEqual(self.ca.get("a"), b"1")
            err = error_of(lambda: migrate(self.ca, p.port, "a", "AUTH", "bad"))
            self.assertTrue(err.startswith("Target instance replied with error: WRONGPASS"), err)
            self.assertEqual(self.ca.get("a"), b"1")
            self.assertEqual(migrate(self.ca, p.port, "a", "AUTH", "pw"), b"OK")
            self.assertEqual(migrate(self.ca, p.port, "", "AUTH2", "default", "pw", "KEYS",
                                     "b", "c"), b"OK")
            pc = p.client(password="pw")
            self.assertEqual(pc.mget("a", "b", "c"), [b"1", b"2", b"3"])
            self.assertEqual(self.ca.exists("a", "b", "c"), 0)

    def test_to_and_from_redis(self):
        self.ca.hset("h", mapping={"f%d" % i: i for i in range(300)})
        self.ca.zadd("z", {"m%d" % i: i for i in range(10)})
        self.assertEqual(migrate(self.ca, self.r.port, "", "KEYS", "h", "z"), b"OK")
        self.assertEqual(len(self.cr.hgetall("h")), 300)
        self.assertEqual(self.cr.zrange("z", 0, -1), [b"m%d" % i for i in range(10)])
        self.cr.sadd("s", *range(100))
        self.cr.set("str", "x" * 1000, px=50000)
        self.assertEqual(migrate(self.cr, self.a.port, "", "KEYS", "s", "str"), b"OK")
        self.assertEqual(self.ca.scard("s"), 100)
        self.assertEqual(self.ca.get("str"), b"x" * 1000)
        self.assertTrue(0 < self.ca.pttl("str") <= 50000)
        self.assertEqual(self.cr.exists("s", "str"), 0)
        # Redis's own BUSYKEY from cairn, and the other way.
        self.cr.set("dup", "r")
        self.ca.set("dup", "c")
        self.assertIn("BUSYKEY", error_of(lambda: migrate(self.cr, self.a.port, "dup")))
        self.assertIn("BUSYKEY", error_of(lambda: migrate(self.ca, self.r.port, "dup")))

    def test_big_values_and_many_keys(self):
        big = os.urandom(3 << 20)  # many 64 KB writes
        self.ca.set("big", big)
        self.ca.rpush("biglist", *[b"e%d" % i for i in range(100000)])
        keys = ["many:%d" % i for i in range(2000)]
        self.ca.mset({k: k for k in keys})
        self.assertEqual(migrate(self.ca, self.b.port, "", "KEYS", "big", "biglist", *keys,
                                 timeout=10000), b"OK")
        self.assertEqual(self.cb.get("big"), big)
        self.assertEqual(self.cb.llen("biglist"), 100000)
        self.assertEqual(self.cb.mget(keys[:5] + keys[-5:]),
                         [k.encode() for k in keys[:5] + keys[-5:]])
        self.assertEqual(self.ca.dbsize(), 0)
        self.assertEqual(migrate(self.cb, self.r.port, "big", timeout=10000), b"OK")
        self.assertEqual(self.cr.get("big"), big)

    def test_cached_socket_and_many_clients(self):
        for i in range(40):
            self.ca.set("key:%d" % i, i)
        errors = []

        def worker(lo):
            c = self.a.client()
            for i in range(lo, 40, 4):
                try:
                    if migrate(c, self.b.port, "key:%d" % i) != b"OK":
                        errors.append(i)
                except redis.ResponseError as e:
                    errors.append(str(e))
        ths = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
        for th in ths:
            th.start()
        for th in ths:
            th.join(30)
        self.assertEqual(errors, [])
        self.assertEqual(self.cb.dbsize(), 40)
        self.assertEqual(self.ca.dbsize(), 0)
        self.assertGreaterEqual(self.ca.info("stats")["migrate_cached_sockets"], 1)
        # An idle cached socket closes after 10 s (Redis's cache TTL).
        t0 = time.time()
        self.assertTrue(cairn_test.wait_until(
            lambda: self.ca.info("stats")["migrate_cached_sockets"] == 0, 15, 0.2))
        self.assertGreaterEqual(time.time() - t0, 8)


if __name__ == "__main__":
    unittest.main()
