#!/usr/bin/python3
"""Real clients against a real cairn-node: redis-py, redis-cli, redis-benchmark.

Goal: the tools people point at Redis work unchanged against cairn.
Method: start cairn-node on a free loopback port; drive it with Debian's
redis-py (the API a Python application uses, pipelines included), redis-cli
(one-shot commands, --raw, --scan, --pipe mass insertion, --bigkeys; every
type printed as redis-cli prints redis-server's replies, both run) and
redis-benchmark (-t set,get,incr,mset, with and without -P 16). Results are
checked against expected values and against the server's own counters
(INFO commandstats), not only against what the client prints.
"""
import os
import re
import subprocess
import unittest

import redis

import cairn_test


def run(argv, **kw):
    return subprocess.run(argv, capture_output=True, timeout=300, **kw)


class RedisPy(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.node = cairn_test.cairn()
        cls.r = cls.node.client()

    @classmethod
    def tearDownClass(cls):
        cls.node.stop()

    def setUp(self):
        self.r.flushall()

    def test_strings(self):
        r = self.r
        self.assertTrue(r.set("s", "v"))
        self.assertEqual(r.get("s"), b"v")
        self.assertIsNone(r.set("s", "w", nx=True))
        self.assertTrue(r.set("s", "w", xx=True, ex=100))
        self.assertEqual(r.ttl("s"), 100)
        self.assertEqual(r.getset("s", "x"), b"w")
        self.assertEqual(r.ttl("s"), -1)
        self.assertTrue(r.mset({"a": "1", "b": "2"}))
        self.assertEqual(r.mget("a", "b", "nope"), [b"1", b"2", None])
        self.assertFalse(r.msetnx({"a": "9", "c": "3"}))
        self.assertIsNone(r.get("c"))
        self.assertEqual(r.incr("a"), 2)
        self.assertEqual(r.incrby("a", 10), 12)
        self.assertEqual(r.decr("a"), 11)
        self.assertEqual(r.decrby("a", 20), -9)
        self.assertAlmostEqual(r.incrbyfloat("a", 0.5), -8.5)
        self.assertEqual(r.append("b", "345"), 4)
        self.assertEqual(r.strlen("b"), 4)
        self.assertEqual(r.getrange("b", 1, -2), b"34")
        self.assertEqual(r.setrange("b", 6, "x"), 7)
        self.assertEqual(r.get("b"), b"2345\x00\x00x")
        self.assertEqual(r.getdel("b"), b"2345\x00\x00x")
        self.assertIsNone(r.get("b"))
        r.set("e", "v")
        self.assertEqual(r.getex("e", px=5000), b"v")
        self.assertTrue(0 < r.pttl("e") <= 5000)
        self.assertEqual(r.getex("e", persist=True), b"v")
        self.assertEqual(r.ttl("e"), -1)
        r.mset({"lcs1": "ohmytext", "lcs2": "mynewtext"})
        self.assertEqual(r.lcs("lcs1", "lcs2"), b"mytext")
        self.assertEqual(r.lcs("lcs1", "lcs2", len=True), 6)
        self.assertEqual(r.lcs("lcs1", "lcs2", idx=True, minmatchlen=4, withmatchlen=True),
                         [b"matches", [[[4, 7], [5, 8], 4]], b"len", 6])

    def test_sort(self):
        r = self.r
        ids = list(range(1, 51))
        ages = {i: (i * 37) % 90 + 10 for i in ids}
        r.rpush("users", *ids)
        for i in ids:
            r.hset("user:%d" % i, mapping={"name": "n%02d" % i, "age": ages[i]})
        by_age = sorted(ids, key=lambda i: (ages[i], str(i)))
        self.assertEqual(r.sort("users", by="user:*->age", get="user:*->name"),
                         [b"n%02d" % i for i in by_age])
        self.assertEqual(r.sort("users", start=5, num=3, desc=True), [b"45", b"44", b"43"])
        self.assertEqual(r.sort("users", alpha=True, start=0, num=3), [b"1", b"10", b"11"])
        self.assertEqual(r.sort("users", by="nosort", start=0, num=2), [b"1", b"2"])
        self.assertEqual(r.sort("users", by="user:*->age", get=["#", "user:*->age"], start=0,
                                num=1),
                         [str(by_age[0]).encode(), str(ages[by_age[0]]).encode()])
        self.assertEqual(r.sort("users", by="user:*->age", store="{x}sorted"), 50)
        self.assertEqual(r.lrange("{x}sorted", 0, -1), [str(i).encode() for i in by_age])
        self.assertEqual(r.sort_ro("users", by="user:*->age", desc=True, start=0, num=1),
                         [str(by_age[-1]).encode()])
        r.sadd("tags", "b", "c", "a")
        self.assertEqual(r.sort("tags", alpha=True), [b"a", b"b", b"c"])
        r.set("str", "x")
        with self.assertRaises(redis.exceptions.ResponseError) as ctx:
            r.sort("str")
        self.assertIn("WRONGTYPE", str(ctx.exception))
        r.rpush("words", "x", "1")
        with self.assertRaises(redis.exceptions.ResponseError) as ctx:
            r.sort("words")
        self.assertEqual(str(ctx.exception), "One or more scores can't be converted into double")

    def test_keys(self):
        r = self.r
        for i in range(500):
            r.set("key:%d" % i, i)
        r.set("other", 1)
        self.assertEqual(r.dbsize(), 501)
        self.assertEqual(len(r.keys("key:*")), 500)
        self.assertEqual(sorted(r.scan_iter(match="key:4?", count=7)),
                         sorted(b"key:4%d" % i for i in range(10)))
        self.assertEqual(r.exists("key:1", "key:2", "nope"), 2)
        self.assertEqual(r.type("key:1"), b"string")
        self.assertEqual(r.type("nope"), b"none")
        self.assertTrue(r.expire("key:1", 100))
        self.assertEqual(r.ttl("key:1"), 100)
        self.assertTrue(r.persist("key:1"))
        self.assertTrue(r.rename("key:1", "renamed"))
        self.assertTrue(r.copy("renamed", "copied"))
        self.assertEqual(r.get("copied"), b"1")
        self.assertEqual(r.delete("renamed", "copied", "nope"), 2)
        self.assertEqual(r.unlink("key:2"), 1)
        self.assertEqual(r.touch("key:3", "nope"), 1)
        self.assertIsNotNone(r.randomkey())
        self.assertEqual(r.object("encoding", "key:3"), b"int")
        self.assertGreater(r.memory_usage("key:3"), 0)
        self.assertTrue(r.flushdb())
        self.assertEqual(r.dbsize(), 0)
        self.assertIsNone(r.randomkey())

    def test_server_and_connection(self):
        r = self.r
        self.assertTrue(r.ping())
        self.assertEqual(r.echo("hi"), b"hi")
        info = r.info()
        self.assertEqual(info["redis_mode"], "standalone")
        self.assertTrue(info["redis_version"].startswith("7."))
        self.assertIn("used_memory", r.info("memory"))
        self.assertEqual(r.config_get("maxclients")["maxclients"], "10000")
        self.assertTrue(r.config_set("timeout", 300))
        self.assertEqual(r.config_get("timeout")["timeout"], "300")
        r.config_set("timeout", 0)
        self.assertTrue(r.client_setname("tester"))
        self.assertEqual(r.client_getname(), "tester")
        self.assertIn("tester", [c["name"] for c in r.client_list()])
        self.assertIsInstance(r.client_id(), int)
        seconds, micros = r.time()
        self.assertGreater(seconds, 1700000000)
        self.assertGreater(r.command_count(), 50)
        self.assertIsInstance(r.lastsave().year, int)

    def test_pipeline(self):
        with self.r.pipeline(transaction=False) as p:
            for i in range(1000):
                p.set("p%d" % i, "x" * (i % 50))
                p.get("p%d" % i)
            out = p.execute()
        self.assertEqual(len(out), 2000)
        self.assertTrue(all(out[2 * i] is True for i in range(1000)))
        self.assertEqual(out[2 * 77 + 1], b"x" * 27)

    def test_big_values(self):
        for size in (4095, 4096, 32767, 32768, 1 << 20, 5 << 20):
            body = os.urandom(size)
            self.r.set("big", body)
            self.assertEqual(self.r.get("big"), body)
            self.assertEqual(self.r.strlen("big"), size)


class RedisCli(unittest.TestCase):
    def test_cli_modes(self):
        with cairn_test.cairn() as node:
            cli = ["redis-cli", "-p", str(node.port)]
            out = run(cli + ["set", "greeting", "hello world"])
            self.assertEqual(out.stdout, b"OK\n")
            self.assertEqual(run(cli + ["--raw", "get", "greeting"]).stdout, b"hello world\n")
            self.assertEqual(run(cli + ["get", "nope"]).stdout, b"\n")
            self.assertIn(b"unknown command", run(cli + ["nosuchcmd"]).stdout)
            self.assertEqual(run(cli + ["-r", "3", "ping"]).stdout, b"PONG\nPONG\nPONG\n")
            # Mass insertion: redis-cli --pipe ends with an ECHO it checks.
            proto = b"".join(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$1\r\nv\r\n"
                             % (len(b"m%d" % i), b"m%d" % i) for i in range(20000))
            out = run(cli + ["--pipe"], input=proto)
            self.assertEqual(out.returncode, 0, out.stderr)
            self.assertIn(b"errors: 0, replies: 20000", out.stdout + out.stderr)
            self.assertEqual(run(cli + ["dbsize"]).stdout, b"20001\n")
            keys = run(cli + ["--scan", "--pattern", "m1999*"]).stdout.split()
            self.assertEqual(sorted(keys), sorted([b"m1999"] + [b"m1999%d" % i for i in range(10)]))
            out = run(cli + ["--bigkeys"])
            self.assertEqual(out.returncode, 0, out.stderr)
            self.assertIn(b"Biggest string found", out.stdout)
            out = run(cli + ["info", "server"])
            self.assertIn(b"redis_version:7.", out.stdout)


    def test_cli_types(self):
        """redis-cli prints every type as it prints Redis's replies: the same
        commands through redis-cli against cairn and redis-server give the
        same output (orders are fixed: lists, sorted sets, small hashes and
        intsets keep theirs), and --bigkeys finds the biggest of each type."""
        script = [
            ["rpush", "l", "a", "b", "c"], ["lrange", "l", "0", "-1"], ["lpop", "l", "2"],
            ["hset", "h", "f1", "v1", "f2", "2"], ["hgetall", "h"], ["hincrbyfloat", "h", "f2", "0.5"],
            ["sadd", "s", "3", "1", "2"], ["smembers", "s"], ["sismember", "s", "2"],
            ["zadd", "z", "1", "one", "2.5", "two", "-3", "neg"], ["zrange", "z", "0", "-1", "withscores"],
            ["zscore", "z", "two"], ["zrank", "z", "nope"], ["type", "z"], ["object", "encoding", "s"],
            ["setbit", "b", "7", "1"], ["bitcount", "b"], ["pfadd", "p", "x", "y"], ["pfcount", "p"],
            ["sort", "l", "alpha"], ["get", "l"], ["zadd", "z", "nan", "x"],
        ]
        outs = []
        for start in (cairn_test.cairn, cairn_test.redis_server):
            with start() as srv:
                cli = ["redis-cli", "-p", str(srv.port)]
                text = b""
                for mode in (["--no-raw"], ["--raw"]):
                    run(cli + ["flushall"])
                    for cmd in script:
                        out = run(cli + mode + cmd)
                        self.assertEqual(out.returncode, 0, out.stderr)
                        text += out.stdout
                outs.append(text)
                big = run(cli + ["--bigkeys"]).stdout
                for kind in (b"list", b"hash", b"set", b"zset", b"string"):
                    self.assertIn(b"Biggest %s found" % kind.ljust(6), big, big)
        self.assertEqual(outs[0], outs[1])
        self.assertIn(b'1) "neg"\n2) "-3"\n', outs[0])


def cmdstat_calls(client, name):
    stats = client.info("commandstats")
    return stats.get("cmdstat_" + name, {}).get("calls", 0)


class RedisBenchmark(unittest.TestCase):
    def test_benchmark_runs_clean(self):
        with cairn_test.cairn() as node:
            r = node.client()
            for pipeline in ("1", "16"):
                r.flushall()
                r.config_resetstat()
                n = 20000
                out = run(["redis-benchmark", "-p", str(node.port), "-t", "set,get,incr,mset",
                           "-n", str(n), "-P", pipeline, "-q"])
                self.assertEqual(out.returncode, 0, out.stderr)
                text = out.stdout.decode(errors="replace")
                self.assertNotIn("ERR", text)
                for test in ("SET", "GET", "INCR", "MSET (10 keys)"):
                    self.assertRegex(text, re.escape(test) + r": [0-9.]+ requests per second")
                # The server's own counters agree with what was sent.
                for cmd in ("set", "get", "incr", "mset"):
                    self.assertEqual(cmdstat_calls(r, cmd), n, cmd)
                self.assertEqual(r.get("counter:__rand_int__"), str(n).encode())


if __name__ == "__main__":
    unittest.main()
