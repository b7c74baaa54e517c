"""HyperLogLog commands against a real node, through redis-py's API.

Goal: what a unique-visitor counter does works with an unchanged client:
PFADD reports whether the sketch changed, PFCOUNT stays within HyperLogLog's
error (0.81% standard error; we allow 3%) from a few elements through the
sparse-to-dense promotion to 100,000, PFCOUNT and PFMERGE across keys that
land on different shards give the union, and a plain string is refused with
Redis's error.

Method: each test starts its own cairn-node (the variant's backend and shard
count) and checks replies against exact counts computed in Python.
"""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cairn_test  # noqa: E402


def close(test, got, want):
    test.assertLessEqual(abs(got - want), max(1, want * 0.03), (got, want))


class TestHyperLogLog(unittest.TestCase):
    def test_counts(self):
        with cairn_test.cairn() as srv:
            r = srv.client()
            self.assertEqual(r.pfadd("visits", "a", "b", "c"), 1)
            self.assertEqual(r.pfadd("visits", "a", "b"), 0)
            self.assertEqual(r.pfcount("visits"), 3)
            self.assertEqual(r.object("encoding", "visits"), b"raw")
            start = 0
            for stop in (30, 1000, 10000, 100000):
                p = r.pipeline(transaction=False)
                for i in range(start, stop, 500):
                    p.pfadd("visits", *["user:%d" % j for j in range(i, min(i + 500, stop))])
                p.execute()
                start = stop
                close(self, r.pfcount("visits"), 3 + stop)
            self.assertEqual(r.pfcount("nothing"), 0)

    def test_union_across_shards(self):
        with cairn_test.cairn() as srv:
            r = srv.client()
            keys = ["day:%d" % d for d in range(7)]
            for d, k in enumerate(keys):
                r.pfadd(k, *["u%d" % i for i in range(d * 100, d * 100 + 300)])
            close(self, r.pfcount(*keys), 900)
            self.assertEqual(r.pfmerge("week", *keys), True)
            close(self, r.pfcount("week"), 900)
            # The union did not change its sources.
            close(self, r.pfcount("day:0"), 300)

    def test_wrong_kind(self):
        with cairn_test.cairn() as srv:
            r = srv.client()
            r.set("plain", "not a sketch")
            with self.assertRaises(Exception) as ctx:
                r.pfadd("plain", "x")
            self.assertIn("WRONGTYPE Key is not a valid HyperLogLog string value.",
                          str(ctx.exception))
            r.hset("h", "f", "v")
            with self.assertRaises(Exception) as ctx:
                r.pfcount("h")
            self.assertIn("WRONGTYPE Operation against a key", str(ctx.exception))
            self.assertEqual(r.get("plain"), b"not a sketch")


if __name__ == "__main__":
    unittest.main()
