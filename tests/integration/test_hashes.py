"""Hashes against a real node, with real clients, at sizes the differential
corpus does not reach.

Goal: redis-py's hash API works unchanged (pipelines over many hashes,
hscan_iter over a hash table of thousands of fields, hgetall, hincrbyfloat,
hrandfield with values), a big value set through the big-bulk path comes
back byte for byte, a hash keeps its fields across the listpack-to-table
conversion and across RENAME and COPY between shards, UNLINK (and DEL under
lazyfree-lazy-user-del) of a 200,000-field hash returns at once and the
timer frees it (INFO's lazyfreed_objects, used_memory), and
redis-benchmark's HSET workload runs clean and is counted.

Method: each test starts its own cairn-node (tests/integration/cairn_test.py,
the variant's backend and shard count) and drives it with redis-py and
redis-benchmark; only replies (and INFO's counters) are checked, against a
dict kept by the test. Key names with different hash tags land on different
shards when the node has several, so RENAME and COPY there run locked.
"""
import os
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cairn_test  # noqa: E402


class TestHashes(unittest.TestCase):
    def test_pipelined_small_hashes(self):
        with cairn_test.cairn() as srv:
            r = srv.client()
            p = r.pipeline(transaction=False)
            for i in range(2000):
                p.hset("user:%d" % i, mapping={"name": "n%d" % i, "age": i, "city": "x"})
            self.assertEqual(p.execute(), [3] * 2000)
            p = r.pipeline(transaction=False)
            for i in range(2000):
                p.hgetall("user:%d" % i)
            for i, h in enumerate(p.execute()):
                self.assertEqual(h, {b"name": b"n%d" % i, b"age": b"%d" % i, b"city": b"x"})
            self.assertEqual(r.object("encoding", "user:7"), b"listpack")
            self.assertEqual(r.hincrby("user:7", "age", 10), 17)
            self.assertEqual(r.hincrbyfloat("user:7", "score", 1.5), 1.5)
            self.assertEqual(r.hmget("user:7", "name", "nope", "age"), [b"n7", None, b"17"])
            self.assertEqual(r.hdel("user:7", "name", "age", "city", "score"), 4)
            self.assertEqual(r.exists("user:7"), 0)

    def test_table_scan_and_conversion(self):
        with cairn_test.cairn() as srv:
            r = srv.client()
            want = {}
            p = r.pipeline(transaction=False)
            for i in range(5000):
                want[b"f%d" % i] = b"v%d" % i
                p.hset("big", "f%d" % i, "v%d" % i)
                if i == 100:
                    p.object("encoding", "big")
            replies = p.execute()
            self.assertEqual(replies[101], b"listpack")
            self.assertEqual(r.object("encoding", "big"), b"hashtable")
            self.assertEqual(r.hlen("big"), 5000)
            seen = dict(r.hscan_iter("big", count=100))
            self.assertEqual(seen, want)
            self.assertEqual(r.hgetall("big"), want)
            got = r.hrandfield("big", 10, withvalues=True)
            self.assertEqual(len(got), 20)
            for f, v in zip(got[0::2], got[1::2]):
                self.assertEqual(want[f], v)
            self.assertEqual(len(set(r.hrandfield("big", 4000))), 4000)
            self.assertEqual(len(r.hrandfield("big", -7000)), 7000)

    def test_big_value_and_moves(self):
        with cairn_test.cairn() as srv:
            r = srv.client()
            big = bytes(range(256)) * 800  # 204,800 bytes: the big-bulk path
            r.hset("{a}h", mapping={"small": "1", "big": big})
            self.assertEqual(r.hget("{a}h", "big"), big)
            self.assertEqual(r.hstrlen("{a}h", "big"), len(big))
            self.assertEqual(r.object("encoding", "{a}h"), b"hashtable")
            # Other hash tags: another shard when there are several.
            self.assertTrue(r.copy("{a}h", "{b}copy"))
            self.assertTrue(r.rename("{a}h", "{c}moved"))
            self.assertEqual(r.exists("{a}h"), 0)
            for k in ("{b}copy", "{c}moved"):
                self.assertEqual(r.hget(k, "big"), big)
                self.assertEqual(r.type(k), b"hash")
            r.hset("{c}moved", "after", "x")
            self.assertEqual(r.hget("{b}copy", "after"), None)
            self.assertEqual(r.hlen("{c}moved"), 3)
            r.set("s", "string")
            with self.assertRaises(Exception) as ctx:
                r.hget("s", "f")
            self.assertIn("WRONGTYPE", str(ctx.exception))
            with self.assertRaises(Exception):
                r.get("{c}moved")

    def test_unlink_frees_in_background(self):
        with cairn_test.cairn() as srv:
            r = srv.client()
            base = r.info("memory")["used_memory"]
            p = r.pipeline(transaction=False)
            for i in range(0, 200000, 1000):
                p.hset("{u}big", mapping={"field:%d" % j: "v" for j in range(i, i + 1000)})
            p.execute()
            r.hset("{u}small", mapping={"a": "1"})
            before = r.info("memory")["used_memory"]
            freed = r.info("memory")["lazyfreed_objects"]
            self.assertEqual(r.unlink("{u}big", "{u}small", "{u}none"), 2)
            self.assertEqual(r.exists("{u}big", "{u}small"), 0)
            # The big hash goes to the shard's background free; the timer
            # frees it within a few ticks.
            deadline = time.time() + 10
            while r.info("memory")["lazyfreed_objects"] == freed and time.time() < deadline:
                time.sleep(0.05)
            self.assertEqual(r.info("memory")["lazyfreed_objects"], freed + 1)
            self.assertEqual(r.info("memory")["lazyfree_pending_objects"], 0)
            # 200,000 fields take several megabytes whatever the allocator
            # rounds to (ASan's malloc does not round); most of it is gone.
            self.assertGreater(before - base, 5 * 1000 * 1000)
            self.assertLess(r.info("memory")["used_memory"] - base, (before - base) // 4)
            # DEL does the same under lazyfree-lazy-user-del.
            r.config_set("lazyfree-lazy-user-del", "yes")
            self.assertEqual(r.config_get("lazyfree-lazy-user-del"),
                             {"lazyfree-lazy-user-del": "yes"})
            r.hset("{u}again", mapping={"f%d" % j: "v" for j in range(1000)})
            self.assertEqual(r.delete("{u}again"), 1)
            deadline = time.time() + 10
            while r.info("memory")["lazyfreed_objects"] == freed + 1 and time.time() < deadline:
                time.sleep(0.05)
            self.assertEqual(r.info("memory")["lazyfreed_objects"], freed + 2)

    def test_benchmark_hset(self):
        with cairn_test.cairn() as srv:
            out = subprocess.run(["redis-benchmark", "-p", str(srv.port), "-t", "hset",
                                  "-n", "20000", "-r", "1000", "-P", "8", "-q"],
                                 capture_output=True, text=True, timeout=120)
            self.assertEqual(out.returncode, 0, out.stderr)
            info = srv.client().info("commandstats")
            self.assertEqual(info["cmdstat_hset"]["calls"], 20000)


if __name__ == "__main__":
    unittest.main()
