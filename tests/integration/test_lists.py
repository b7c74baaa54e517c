"""Lists against a real node, with real clients, at sizes the differential
corpus does not reach.

Goal: redis-py's list API works unchanged (pipelines over many lists, a
work queue fed with LPUSH and drained with RPOP and a count, LRANGE over a
list of 100,000 elements in many nodes), a 200 KB element set through the
big-bulk path comes back byte for byte, LMOVE, RPOPLPUSH and LMPOP between
keys on different shards move every element exactly once even with two
clients moving elements back and forth at the same time (the move is
atomic), a list keeps its elements across both conversions
(listpack-quicklist and back) and with compressed nodes, and
redis-benchmark's LPUSH, LPOP and LRANGE workloads run clean and are
counted.

Method: each test starts its own cairn-node (tests/integration/cairn_test.py,
the variant's backend and shard count) and drives it with redis-py and
redis-benchmark; only replies (and INFO's counters) are checked, against
lists kept by the test. Key names with different hash tags land on
different shards when the node has several (asserted, so the moves there
run with both shards locked).
"""
import os
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cairn_test  # noqa: E402


def nshards():
    args = cairn_test.NODE_ARGS
    return int(args[args.index("--shards") + 1]) if "--shards" in args else 1


def apart(prefix_a, prefix_b):
    """Two keys on different shards when there are several."""
    n = nshards()
    for i in range(1000):
        b = "{%s%d}" % (prefix_b, i)
        if n == 1 or cairn_test.shard_of(prefix_a.encode(), n) != cairn_test.shard_of(b.encode(), n):
            return prefix_a, b
    raise AssertionError("no key on another shard")


class TestLists(unittest.TestCase):
    def test_pipelined_lists(self):
        with cairn_test.cairn() as srv:
            r = srv.client()
            p = r.pipeline(transaction=False)
            for i in range(2000):
                p.rpush("list:%d" % i, "a%d" % i, i, "c")
                p.lpush("list:%d" % i, "first")
            self.assertEqual(p.execute(), [3, 4] * 2000)
            p = r.pipeline(transaction=False)
            for i in range(2000):
                p.lrange("list:%d" % i, 0, -1)
                p.lindex("list:%d" % i, 2)
            for i, (lst, idx) in enumerate(zip(*[iter(p.execute())] * 2)):
                self.assertEqual(lst, [b"first", b"a%d" % i, b"%d" % i, b"c"])
                self.assertEqual(idx, b"%d" % i)
            self.assertEqual(r.object("encoding", "list:7"), b"listpack")
            self.assertEqual(r.lpos("list:7", "c"), 3)
            self.assertEqual(r.lrem("list:7", 0, "c"), 1)
            self.assertEqual(r.linsert("list:7", "before", "first", "zero"), 4)
            r.lset("list:7", -1, "last")
            self.assertEqual(r.lrange("list:7", 0, -1), [b"zero", b"first", b"a7", b"last"])
            r.ltrim("list:7", 5, 10)
            self.assertEqual(r.exists("list:7"), 0)

    def test_queue(self):
        with cairn_test.cairn() as srv:
            r = srv.client()
            p = r.pipeline(transaction=False)
            for i in range(10000):
                p.lpush("queue", "job:%d" % i)
            p.execute()
            self.assertEqual(r.llen("queue"), 10000)
            self.assertEqual(r.object("encoding", "queue"), b"quicklist")
            got = []
            while True:
                batch = r.rpop("queue", 128)
                if batch is None:
                    break
                got.extend(batch)
            self.assertEqual(got, [b"job:%d" % i for i in range(10000)])
            self.assertEqual(r.exists("queue"), 0)
            self.assertIsNone(r.rpop("queue"))

    def test_big_list_and_conversions(self):
        with cairn_test.cairn() as srv:
            r = srv.client()
            r.config_set("list-compress-depth", 2)
            want = [b"element:%d" % i for i in range(100000)]
            p = r.pipeline(transaction=False)
            for i in range(0, len(want), 1000):
                p.rpush("big", *want[i:i + 1000])
            p.execute()
            self.assertEqual(r.lrange("big", 0, -1), want)
            self.assertEqual(r.lrange("big", 50000, 50009), want[50000:50010])
            self.assertEqual(r.lindex("big", 77777), want[77777])
            self.assertEqual(r.lpos("big", "element:99999"), 99999)
            r.linsert("big", "after", "element:50000", "inserted")
            self.assertEqual(r.lindex("big", 50001), b"inserted")
            self.assertEqual(r.lrem("big", 1, "inserted"), 1)
            r.ltrim("big", 10, 20)
            self.assertEqual(r.lrange("big", 0, -1), want[10:21])
            # One node under half the limit: back to a listpack.
            self.assertEqual(r.object("encoding", "big"), b"listpack")
            r.config_set("list-max-listpack-size", 4)
            r.rpush("big", "x")
            self.assertEqual(r.object("encoding", "big"), b"quicklist")
            r.config_set("list-max-listpack-size", -2)
            r.config_set("list-compress-depth", 0)

    def test_unlink_frees_in_background(self):
        with cairn_test.cairn() as srv:
            r = srv.client()
            base = r.info("memory")["used_memory"]
            p = r.pipeline(transaction=False)
            for i in range(0, 100000, 1000):
                p.rpush("{u}big", *["element:%d" % j for j in range(i, i + 1000)])
            p.execute()
            before = r.info("memory")["used_memory"]
            freed = r.info("memory")["lazyfreed_objects"]
            self.assertEqual(r.unlink("{u}big", "{u}none"), 1)
            self.assertEqual(r.exists("{u}big"), 0)
            deadline = time.time() + 10
            while r.info("memory")["lazyfreed_objects"] == freed and time.time() < deadline:
                time.sleep(0.05)
            self.assertEqual(r.info("memory")["lazyfreed_objects"], freed + 1)
            self.assertEqual(r.info("memory")["lazyfree_pending_objects"], 0)
            # Most of what the list took is gone (the node's own fixed
            # memory, larger with more shards, stays).
            self.assertGreater(before - base, 1000 * 1000)
            self.assertLess(r.info("memory")["used_memory"] - base, (before - base) // 4)

    def test_big_element(self):
        with cairn_test.cairn() as srv:
            r = srv.client()
            big = bytes(range(256)) * 800  # 204,800 bytes: the big-bulk path
            self.assertEqual(r.rpush("l", "small", big, "after"), 3)
            self.assertEqual(r.object("encoding", "l"), b"quicklist")
            self.assertEqual(r.lindex("l", 1), big)
            self.assertEqual(r.lrange("l", 0, -1), [b"small", big, b"after"])
            self.assertEqual(r.lpos("l", big), 1)
            self.assertEqual(r.lmove("l", "l", "right", "left"), b"after")
            self.assertEqual(r.rpop("l"), big)
            self.assertEqual(r.lrange("l", 0, -1), [b"after", b"small"])

    def test_moves_across_shards(self):
        with cairn_test.cairn() as srv:
            r = srv.client()
            a, b = apart("{src}", "dst")
            r.rpush(a, *range(1000))
            for _ in range(300):
                r.lmove(a, b, "left", "right")
            for _ in range(200):
                r.rpoplpush(a, b)
            self.assertEqual(r.llen(a), 500)
            self.assertEqual(r.llen(b), 500)
            # b: RPOPLPUSH pushed 999, 998, ..., 800 at its head, LMOVE 0..299
            # at its tail.
            self.assertEqual(r.lrange(b, 0, 1), [b"800", b"801"])
            got = r.lmpop(2, "{nosuch}", b, direction="left", count=10)
            self.assertEqual(got, [b.encode(), [b"%d" % i for i in range(800, 810)]])
            # Two clients moving both ways at once: nothing lost or doubled.
            def mover(src, dst, n):
                c = srv.client()
                for _ in range(n):
                    c.lmove(src, dst, "left", "right")
            threads = [threading.Thread(target=mover, args=(a, b, 2000)),
                       threading.Thread(target=mover, args=(b, a, 2000))]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            left = r.lrange(a, 0, -1) + r.lrange(b, 0, -1)
            self.assertEqual(len(left), 990)
            self.assertEqual(sorted(int(x) for x in left),
                             list(range(0, 800)) + list(range(810, 1000)))
            r.set("{str}", "x")
            # The racing moves may have emptied either list, and LMOVE from
            # a missing key answers nil before it looks at the destination.
            src = a if r.llen(a) > 0 else b
            with self.assertRaises(Exception) as ctx:
                r.lmove(src, "{str}", "left", "left")
            self.assertIn("WRONGTYPE", str(ctx.exception))

    def test_benchmark(self):
        with cairn_test.cairn() as srv:
            out = subprocess.run(["redis-benchmark", "-p", str(srv.port), "-t",
                                  "lpush,lpop,lrange", "-n", "5000", "-P", "8", "-q", "-e"],
                                 capture_output=True, text=True, timeout=300)
            self.assertEqual(out.returncode, 0, out.stderr)
            self.assertNotIn("ERR", out.stdout + out.stderr)
            self.assertNotIn("WRONGTYPE", out.stdout + out.stderr)
            info = srv.client().info("commandstats")
            # LPUSH twice (its own test, and the fill before LRANGE), LPOP
            # once, LRANGE four times (100, 300, 500 and 600 elements).
            self.assertEqual(info["cmdstat_lpush"]["calls"], 10000)
            self.assertEqual(info["cmdstat_lpop"]["calls"], 5000)
            self.assertEqual(info["cmdstat_lrange"]["calls"], 20000)
            r = srv.client()
            self.assertEqual(r.llen("mylist"), 5000)
            self.assertEqual(len(set(r.lrange("mylist", 0, -1))), 1)


if __name__ == "__main__":
    unittest.main()
