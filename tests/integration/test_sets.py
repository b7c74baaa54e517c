"""Sets against a real node, with real clients, at sizes the differential
corpus does not reach.

Goal: redis-py's set API works unchanged (pipelines over many small sets of
integers and of strings, sscan_iter over a hash table of thousands of
members, srandmember and spop with counts); a set keeps its members across
the intset, listpack and table conversions; SINTERSTORE, SUNIONSTORE,
SDIFFSTORE, SMOVE and SINTERCARD over keys of different hash tags (on
different shards when the node has several, so they run with those shards
locked) give the set algebra's answers, and COPY and RENAME move a big set
between shards; a huge SRANDMEMBER count stops at
the client's output limit rather than build an unbounded reply (the client
is disconnected, the node stays up and its memory comes back); and
redis-benchmark's SADD and SPOP workloads run clean and are counted.

Method: each test starts its own cairn-node (tests/integration/cairn_test.py,
the variant's backend and shard count) and drives it with redis-py and
redis-benchmark; replies (and INFO's counters) are checked against Python
sets kept by the test.
"""
import os
import random
import subprocess
import sys
import unittest

import redis

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cairn_test  # noqa: E402


def members(vals):
    return {v if isinstance(v, bytes) else str(v).encode() for v in vals}


class TestSets(unittest.TestCase):
    def test_pipelined_small_sets(self):
        with cairn_test.cairn() as srv:
            r = srv.client()
            p = r.pipeline(transaction=False)
            for i in range(2000):
                p.sadd("ints:%d" % i, i, i + 1, i + 2)
                p.sadd("strs:%d" % i, "a%d" % i, "b", i)
            self.assertEqual(p.execute(), [3] * 4000)
            p = r.pipeline(transaction=False)
            for i in range(2000):
                p.smembers("ints:%d" % i)
                p.smembers("strs:%d" % i)
            got = p.execute()
            for i in range(2000):
                self.assertEqual(got[2 * i], members([i, i + 1, i + 2]))
                self.assertEqual(got[2 * i + 1], members(["a%d" % i, "b", i]))
            self.assertEqual(r.object("encoding", "ints:7"), b"intset")
            self.assertEqual(r.object("encoding", "strs:7"), b"listpack")
            self.assertEqual(r.smismember("strs:7", ["b", "7", "c"]), [1, 1, 0])
            self.assertEqual(r.srem("ints:7", 7, 8, 9, 10), 3)
            self.assertEqual(r.exists("ints:7"), 0)

    def test_conversions_keep_members(self):
        with cairn_test.cairn() as srv:
            r = srv.client()
            want = set()
            p = r.pipeline(transaction=False)
            for i in range(600):
                want.add(b"%d" % i)
                p.sadd("s", i)
                if i in (511, 512):
                    p.object("encoding", "s")
            replies = p.execute()
            self.assertEqual(replies[512], b"intset")
            self.assertEqual(replies[514], b"hashtable")
            self.assertEqual(r.smembers("s"), want)
            # An intset given a string: a listpack while it fits.
            r.sadd("t", *range(100))
            r.sadd("t", "x")
            self.assertEqual(r.object("encoding", "t"), b"listpack")
            r.sadd("t", *["y%d" % i for i in range(27)])  # 128 members: the limit
            self.assertEqual(r.object("encoding", "t"), b"listpack")
            r.sadd("t", "z")
            self.assertEqual(r.object("encoding", "t"), b"hashtable")
            self.assertEqual(r.smembers("t"), members(list(range(100)) + ["x", "z"] +
                                                      ["y%d" % i for i in range(27)]))

    def test_big_set_scan_random_pop(self):
        with cairn_test.cairn() as srv:
            r = srv.client()
            want = {b"member:%d" % i for i in range(5000)}
            p = r.pipeline(transaction=False)
            for i in range(0, 5000, 100):
                p.sadd("big", *["member:%d" % j for j in range(i, i + 100)])
            p.execute()
            self.assertEqual(r.object("encoding", "big"), b"hashtable")
            self.assertEqual(r.scard("big"), 5000)
            self.assertEqual(set(r.sscan_iter("big", count=100)), want)
            self.assertEqual(set(r.sscan_iter("big", match="member:1*", count=50)),
                             {m for m in want if m.startswith(b"member:1")})
            self.assertEqual(r.smembers("big"), want)
            picks = r.srandmember("big", 10)
            self.assertEqual(len(set(picks)), 10)
            self.assertTrue(set(picks) <= want)
            self.assertEqual(len(set(r.srandmember("big", 4000))), 4000)
            self.assertEqual(len(r.srandmember("big", -7000)), 7000)
            popped = set(r.spop("big", 100))
            self.assertEqual(len(popped), 100)
            self.assertTrue(popped <= want)
            popped |= set(r.spop("big", 4800))
            self.assertEqual(len(popped), 4900)
            rest = r.smembers("big")
            self.assertEqual(len(rest), 100)
            self.assertEqual(rest | popped, want)
            self.assertEqual(rest & popped, set())
            self.assertEqual(r.object("encoding", "big"), b"listpack")

    def test_set_algebra_across_shards(self):
        with cairn_test.cairn() as srv:
            r = srv.client()
            rng = random.Random(7)
            a = {str(rng.randrange(300)) for _ in range(200)} | {"s%d" % i for i in range(40)}
            b = {str(rng.randrange(300)) for _ in range(200)} | {"s%d" % i for i in range(20, 90)}
            c = {str(rng.randrange(300)) for _ in range(50)}
            # Tags a, b, c land on three different shards of four.
            r.sadd("{a}x", *a)
            r.sadd("{b}y", *b)
            r.sadd("{c}z", *c)
            keys = ["{a}x", "{b}y", "{c}z"]
            self.assertEqual(r.sinter(keys), members(a & b & c))
            self.assertEqual(r.sunion(keys), members(a | b | c))
            self.assertEqual(r.sdiff(keys), members(a - b - c))
            self.assertEqual(r.sintercard(2, ["{a}x", "{b}y"]), len(a & b))
            self.assertEqual(r.sintercard(2, ["{a}x", "{b}y"], limit=3), min(3, len(a & b)))
            self.assertEqual(r.sinterstore("{c}inter", ["{a}x", "{b}y"]), len(a & b))
            self.assertEqual(r.smembers("{c}inter"), members(a & b))
            self.assertEqual(r.sunionstore("{b}union", keys), len(a | b | c))
            self.assertEqual(r.smembers("{b}union"), members(a | b | c))
            # COPY and RENAME of a table between shards.
            self.assertTrue(r.copy("{b}union", "{a}copy"))
            self.assertTrue(r.rename("{b}union", "{c}moved"))
            r.sadd("{c}moved", "after")
            self.assertEqual(r.smembers("{a}copy"), members(a | b | c))
            self.assertEqual(r.smembers("{c}moved"), members(a | b | c | {"after"}))
            r.sadd("{b}union", *(a | b | c))
            self.assertEqual(r.sdiffstore("{a}diff", ["{b}y", "{a}x"]), len(b - a))
            self.assertEqual(r.smembers("{a}diff"), members(b - a))
            # A destination that is also a source.
            self.assertEqual(r.sinterstore("{a}x", ["{a}x", "{c}z"]), len(a & c))
            self.assertEqual(r.smembers("{a}x"), members(a & c))
            self.assertEqual(r.sinterstore("{a}x", ["{a}x", "{d}none"]), 0)
            self.assertEqual(r.exists("{a}x"), 0)
            # SMOVE between shards, into a new key and an existing one.
            m = next(iter(c))
            self.assertTrue(r.smove("{c}z", "{d}new", m))
            self.assertEqual(r.smembers("{d}new"), {m.encode()})
            self.assertFalse(r.sismember("{c}z", m))
            self.assertTrue(r.smove("{d}new", "{b}y", m))
            self.assertEqual(r.exists("{d}new"), 0)
            self.assertTrue(r.sismember("{b}y", m))
            self.assertFalse(r.smove("{c}z", "{b}y", "not-there"))
            r.set("{e}str", "x")
            with self.assertRaises(redis.ResponseError):
                r.smove("{b}y", "{e}str", m)
            with self.assertRaises(redis.ResponseError):
                r.sunionstore("{b}y", ["{b}y", "{e}str"])
            self.assertTrue(r.sismember("{b}y", m))

    def test_huge_count_stops_at_output_limit(self):
        with cairn_test.cairn("--client-output-buffer-limit", "normal 1mb 0 0") as srv:
            r = srv.client()
            r.sadd("s", *range(100))
            r.sadd("t", *["m%d" % i for i in range(1000)])
            before = r.info("memory")["used_memory"]
            for key in ("s", "t"):
                c = srv.client()
                with self.assertRaises(redis.ConnectionError):
                    c.srandmember(key, -(1 << 62))
            self.assertTrue(srv.alive())
            self.assertEqual(r.scard("t"), 1000)
            info = r.info("stats")
            self.assertGreaterEqual(info.get("client_output_buffer_limit_disconnections", 2), 2)
            after = cairn_test.wait_until(
                lambda: r.info("memory")["used_memory"] < before + (1 << 20), 5)
            self.assertTrue(after, "memory not given back after the disconnection")

    def test_benchmark_sadd_spop(self):
        with cairn_test.cairn() as srv:
            out = subprocess.run(["redis-benchmark", "-p", str(srv.port), "-t", "sadd,spop",
                                  "-n", "20000", "-r", "1000", "-P", "8", "-q"],
                                 capture_output=True, text=True, timeout=120)
            self.assertEqual(out.returncode, 0, out.stderr)
            info = srv.client().info("commandstats")
            self.assertEqual(info["cmdstat_sadd"]["calls"], 20000)
            self.assertEqual(info["cmdstat_spop"]["calls"], 20000)


if __name__ == "__main__":
    unittest.main()
