"""Sorted sets against a real node, with real clients, at sizes the
differential corpus does not reach.

Goal: redis-py's sorted set API works unchanged; a leaderboard of 100,000
members built and updated through pipelines answers ZRANK, ZREVRANK,
ZRANGE (by rank, by score with LIMIT, reversed, WITHSCORES), ZCOUNT,
ZSCORE, ZMSCORE and ZSCAN exactly as a Python model of it, also after
ZINCRBY moves members around and ZREMRANGEBY*/ZPOP* take some away; many
small sets stay listpacks and turn big at zset-max-listpack-entries and
-value; ZUNIONSTORE, ZINTERSTORE, ZDIFFSTORE, ZRANGESTORE and ZMPOP over keys
of different hash tags (on different shards when the node has several, so
they run with those shards locked) give the model's answers, sets count as
sources, and COPY and RENAME move a big set between shards; UNLINK leaves a
big set to the shard's background free, which gives its memory back; a huge
ZRANDMEMBER count stops at the client's output limit; and redis-benchmark's
ZADD and ZPOPMIN workloads, and a ZADD of random members, run clean and are
counted.

Method: each test starts its own cairn-node (tests/integration/cairn_test.py,
the variant's backend and shard count) and drives it with redis-py and
redis-benchmark; replies are checked against a model kept by the test: a
dict of member -> score and its (score, member) order. Scores are integers
and halves, so every sum is exact in Python and in the node.
"""
import bisect
import os
import random
import subprocess
import sys
import time
import unittest

import redis

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cairn_test  # noqa: E402


class Model:
    """A sorted set: member (bytes) -> score, and the order on demand."""

    def __init__(self):
        self.score = {}
        self._order = None

    def add(self, m, s):
        self.score[m] = s
        self._order = None

    def incr(self, m, d):
        self.add(m, self.score.get(m, 0) + d)
        return self.score[m]

    def remove(self, m):
        del self.score[m]
        self._order = None

    def order(self):
        if self._order is None:
            self._order = sorted(self.score.items(), key=lambda kv: (kv[1], kv[0]))
        return self._order

    def by_score(self, lo, hi):
        keys = [s for _, s in self.order()]
        return self.order()[bisect.bisect_left(keys, lo):bisect.bisect_right(keys, hi)]


def member(i):
    return b"player:%d" % i


class TestZsets(unittest.TestCase):
    def build_leaderboard(self, r, key, n, rng):
        model = Model()
        p = r.pipeline(transaction=False)
        for start in range(0, n, 1000):
            batch = {}
            for i in range(start, start + 1000):
                s = rng.randrange(50000) / 2  # ties and halves
                batch[member(i)] = s
                model.add(member(i), s)
            p.zadd(key, batch)
        self.assertEqual(p.execute(), [1000] * (n // 1000))
        return model

    def check_against(self, r, key, model, rng):
        order = model.order()
        n = len(order)
        self.assertEqual(r.zcard(key), n)
        sample = rng.sample(sorted(model.score), 2000)
        p = r.pipeline(transaction=False)
        for m in sample:
            p.zrank(key, m)
            p.zrevrank(key, m)
            p.zscore(key, m)
        got = p.execute()
        rank = {m: i for i, (m, _) in enumerate(order)}
        for j, m in enumerate(sample):
            self.assertEqual(got[3 * j], rank[m], m)
            self.assertEqual(got[3 * j + 1], n - 1 - rank[m], m)
            self.assertEqual(got[3 * j + 2], model.score[m], m)
        for start in (0, 1, n // 3, n // 2, n - 100, n - 1):
            self.assertEqual(r.zrange(key, start, start + 99, withscores=True),
                             [(m, s) for m, s in order[start:start + 100]])
        self.assertEqual(r.zrange(key, -50, -1), [m for m, _ in order[-50:]])
        self.assertEqual(r.zrange(key, 0, 49, desc=True), [m for m, _ in order[::-1][:50]])
        self.assertEqual(r.zrevrange(key, 10, 19, withscores=True), order[::-1][10:20])
        for lo, hi in ((0, 10), (1000, 1000.5), (12345.5, 12400), (24990, 30000)):
            want = model.by_score(lo, hi)
            self.assertEqual(r.zcount(key, lo, hi), len(want))
            self.assertEqual(r.zrangebyscore(key, lo, hi, start=3, num=40, withscores=True),
                             want[3:43])
            self.assertEqual(r.zrevrangebyscore(key, hi, lo, start=0, num=25),
                             [m for m, _ in want[::-1][:25]])
        ms = sample[:100] + [b"nobody"]
        self.assertEqual(r.zmscore(key, ms), [model.score.get(m) for m in ms])

    def test_leaderboard(self):
        with cairn_test.cairn() as srv:
            r = srv.client()
            rng = random.Random(42)
            n = 100000
            model = self.build_leaderboard(r, "lb", n, rng)
            self.assertEqual(r.object("encoding", "lb"), b"skiplist")
            self.check_against(r, "lb", model, rng)
            # Pipelined increments move members about, ranks follow.
            p = r.pipeline(transaction=False)
            want = []
            for _ in range(20000):
                m = member(rng.randrange(n))
                d = rng.randrange(-2000, 2000) / 2
                p.zincrby("lb", d, m)
                want.append(model.incr(m, d))
            self.assertEqual(p.execute(), want)
            self.check_against(r, "lb", model, rng)
            # New members through ZADD's options.
            self.assertEqual(r.zadd("lb", {member(n): 1.5, member(0): 99999}, nx=True), 1)
            model.add(member(n), 1.5)
            self.assertEqual(r.zadd("lb", {member(1): -1, member(n + 1): 5}, xx=True, ch=True), 1)
            model.add(member(1), -1)
            old = model.score[member(2)]
            self.assertEqual(r.zadd("lb", {member(2): old + 10}, gt=True, ch=True), 1)
            model.add(member(2), old + 10)
            self.assertEqual(r.zadd("lb", {member(2): old}, gt=True, ch=True), 0)
            # Removals: by rank, by score, pops at both ends.
            order = model.order()
            self.assertEqual(r.zremrangebyrank("lb", 100, 199), 100)
            for m, _ in order[100:200]:
                model.remove(m)
            gone = model.by_score(20000, 20100)
            self.assertEqual(r.zremrangebyscore("lb", 20000, 20100), len(gone))
            for m, _ in gone:
                model.remove(m)
            lowest = model.order()[:5]
            self.assertEqual(r.zpopmin("lb", 5), lowest)
            for m, _ in lowest:
                model.remove(m)
            highest = model.order()[::-1][:3]
            self.assertEqual(r.zpopmax("lb", 3), highest)
            for m, _ in highest:
                model.remove(m)
            self.assertEqual(r.zrem("lb", member(7), member(8), b"nobody"),
                             len({member(7), member(8)} & set(model.score)))
            model.score.pop(member(7), None)
            model.score.pop(member(8), None)
            model._order = None
            self.check_against(r, "lb", model, rng)
            # A full scan returns every member once with its score.
            seen = dict(r.zscan_iter("lb", count=500))
            self.assertEqual(seen, model.score)
            self.assertEqual(dict(r.zscan_iter("lb", match="player:1234*")),
                             {m: s for m, s in model.score.items()
                              if m.startswith(b"player:1234")})

    def test_small_sets_and_conversions(self):
        with cairn_test.cairn() as srv:
            r = srv.client()
            p = r.pipeline(transaction=False)
            for i in range(5000):
                p.zadd("small:%d" % i, {"a": i, "b": i + 0.5, "c%d" % i: -i})
            self.assertEqual(p.execute(), [3] * 5000)
            p = r.pipeline(transaction=False)
            for i in range(5000):
                p.zrange("small:%d" % i, 0, -1, withscores=True)
            for i, got in enumerate(p.execute()):
                want = sorted([(b"a", i), (b"b", i + 0.5), (b"c%d" % i, -i)],
                              key=lambda kv: (kv[1], kv[0]))
                self.assertEqual(got, want)
            self.assertEqual(r.object("encoding", "small:7"), b"listpack")
            # 128 members stay a listpack, the 129th converts.
            r.zadd("e", {"m%d" % i: i for i in range(128)})
            self.assertEqual(r.object("encoding", "e"), b"listpack")
            r.zadd("e", {"m128": 128})
            self.assertEqual(r.object("encoding", "e"), b"skiplist")
            self.assertEqual(r.zrange("e", 0, -1), [b"m%d" % i for i in range(129)])
            # A 64-byte member stays, a 65-byte one converts.
            r.zadd("v", {"x" * 64: 1})
            self.assertEqual(r.object("encoding", "v"), b"listpack")
            r.zadd("v", {"y" * 65: 2})
            self.assertEqual(r.object("encoding", "v"), b"skiplist")
            self.assertEqual(r.zrange("v", 0, -1), [b"x" * 64, b"y" * 65])
            # The directives move the thresholds.
            r.config_set("zset-max-listpack-entries", 4)
            r.zadd("f", {"a": 1, "b": 2, "c": 3, "d": 4})
            self.assertEqual(r.object("encoding", "f"), b"listpack")
            r.zadd("f", {"e": 5})
            self.assertEqual(r.object("encoding", "f"), b"skiplist")
            # A result small enough goes back to a listpack.
            r.config_set("zset-max-listpack-entries", 128)
            self.assertEqual(r.zunionstore("f2", ["f"]), 5)
            self.assertEqual(r.object("encoding", "f2"), b"listpack")
            self.assertEqual(r.zrangestore("e2", "e", 0, 9), 10)
            self.assertEqual(r.object("encoding", "e2"), b"listpack")

    def test_algebra_across_shards(self):
        with cairn_test.cairn() as srv:
            r = srv.client()
            rng = random.Random(9)
            # Tags a, b, c and d land on four different shards of four.
            keys = ["{a}x", "{b}y", "{c}z"]
            self.assertEqual(len({cairn_test.shard_of(k, 4) for k in keys + ["{d}o"]}), 4)
            models = []
            for k in keys:
                m = {b"m%d" % rng.randrange(3000): rng.randrange(1000) / 2 for _ in range(2000)}
                r.zadd(k, m)
                models.append(m)
            a, b, c = models
            w = [2, 0.5, -1]

            def union(aggr):
                out = {}
                for src, wt in zip(models, w):
                    for m, s in src.items():
                        v = s * wt
                        out[m] = v if m not in out else aggr(out[m], v)
                return out

            def ordered(d):
                return sorted(d.items(), key=lambda kv: (kv[1], kv[0]))

            self.assertEqual(r.zunionstore("{d}o", dict(zip(keys, w))), len(union(min)))
            self.assertEqual(r.zrange("{d}o", 0, -1, withscores=True),
                             ordered(union(lambda p, q: p + q)))
            self.assertEqual(r.zunionstore("{d}o", dict(zip(keys, w)), aggregate="MAX"),
                             len(union(max)))
            self.assertEqual(r.zrange("{d}o", 0, -1, withscores=True), ordered(union(max)))
            inter = {m: a[m] + b[m] for m in a.keys() & b.keys()}
            self.assertEqual(r.zinterstore("{d}o", keys[:2]), len(inter))
            self.assertEqual(r.zrange("{d}o", 0, -1, withscores=True), ordered(inter))
            self.assertEqual(r.zinter(keys[:2], withscores=True), ordered(inter))
            self.assertEqual(r.zintercard(3, keys), len(a.keys() & b.keys() & c.keys()))
            diff = {m: s for m, s in a.items() if m not in b and m not in c}
            self.assertEqual(r.zdiffstore("{d}o", keys), len(diff))
            self.assertEqual(r.zrange("{d}o", 0, -1, withscores=True), ordered(diff))
            # redis-py 4.3 leaves ZDIFF's WITHSCORES reply flat.
            flat = r.zdiff(keys, withscores=True)
            self.assertEqual(list(zip(flat[::2], map(float, flat[1::2]))), ordered(diff))
            # A plain set counts, each member scoring 1.
            r.sadd("{d}set", *[b"m%d" % i for i in range(0, 3000, 7)])
            sset = {b"m%d" % i: 1 for i in range(0, 3000, 7)}
            want = {m: s + 1 for m, s in a.items() if m in sset}
            self.assertEqual(r.zinterstore("{b}o", ["{a}x", "{d}set"]), len(want))
            self.assertEqual(r.zrange("{b}o", 0, -1, withscores=True), ordered(want))
            # The destination among the sources.
            self.assertEqual(r.zunionstore("{a}x", ["{a}x", "{c}z"], aggregate="MIN"),
                             len(a.keys() | c.keys()))
            ax = {m: min(a.get(m, c.get(m)), c.get(m, a.get(m))) for m in a.keys() | c.keys()}
            self.assertEqual(r.zrange("{a}x", 0, -1, withscores=True), ordered(ax))
            # ZRANGESTORE across shards.
            self.assertEqual(r.zrangestore("{c}r", "{b}y", 10, 200, byscore=True, offset=5,
                                           num=50), len(ordered(
                                               {m: s for m, s in b.items()
                                                if 10 <= s <= 200})[5:55]))
            # COPY and RENAME of a big set between shards.
            self.assertTrue(r.copy("{b}y", "{a}copy"))
            self.assertTrue(r.rename("{b}y", "{c}moved"))
            r.zadd("{c}moved", {"after": 0.5})
            self.assertEqual(r.zrange("{a}copy", 0, -1, withscores=True), ordered(b))
            self.assertEqual(r.zrange("{c}moved", 0, -1, withscores=True),
                             ordered({**b, b"after": 0.5}))
            self.assertEqual(r.object("encoding", "{c}moved"), b"skiplist")
            # ZMPOP takes from the first non-empty key, wherever it lives.
            self.assertEqual(r.zmpop(3, ["{d}none", "{c}moved", "{a}copy"], min=True, count=2),
                             [b"{c}moved", [[m, b"%g" % s]
                                            for m, s in ordered({**b, b"after": 0.5})[:2]]])
            r.set("{e}str", "x")
            with self.assertRaises(redis.ResponseError):
                r.zunionstore("{d}o", ["{a}copy", "{e}str"])
            self.assertEqual(r.zrange("{a}copy", 0, -1, withscores=True), ordered(b))

    def test_unlink_frees_in_background(self):
        with cairn_test.cairn() as srv:
            r = srv.client()
            base = r.info("memory")["used_memory"]
            p = r.pipeline(transaction=False)
            for i in range(0, 200000, 1000):
                p.zadd("{u}big", {"member:%d" % j: j for j in range(i, i + 1000)})
            p.execute()
            r.zadd("{u}small", {"a": 1})
            before = r.info("memory")["used_memory"]
            freed = r.info("memory")["lazyfreed_objects"]
            self.assertEqual(r.unlink("{u}big", "{u}small", "{u}none"), 2)
            self.assertEqual(r.exists("{u}big", "{u}small"), 0)
            # The big set goes to the shard's background free; the timer
            # frees it within a few ticks.
            deadline = time.time() + 10
            while r.info("memory")["lazyfreed_objects"] == freed and time.time() < deadline:
                time.sleep(0.05)
            self.assertEqual(r.info("memory")["lazyfreed_objects"], freed + 1)
            self.assertEqual(r.info("memory")["lazyfree_pending_objects"], 0)
            self.assertGreater(before - base, 5 * 1000 * 1000)
            self.assertLess(r.info("memory")["used_memory"] - base, (before - base) // 4)
            # DEL does the same under lazyfree-lazy-user-del.
            r.config_set("lazyfree-lazy-user-del", "yes")
            r.zadd("{u}again", {"m%d" % j: j for j in range(1000)})
            self.assertEqual(r.delete("{u}again"), 1)
            deadline = time.time() + 10
            while r.info("memory")["lazyfreed_objects"] == freed + 1 and time.time() < deadline:
                time.sleep(0.05)
            self.assertEqual(r.info("memory")["lazyfreed_objects"], freed + 2)

    def test_huge_count_stops_at_output_limit(self):
        with cairn_test.cairn("--client-output-buffer-limit", "normal 1mb 0 0") as srv:
            r = srv.client()
            r.zadd("z", {"m%d" % i: i for i in range(1000)})
            before = r.info("memory")["used_memory"]
            c = srv.client()
            with self.assertRaises(redis.ConnectionError):
                c.zrandmember("z", -(1 << 61), withscores=True)
            self.assertTrue(srv.alive())
            self.assertEqual(r.zcard("z"), 1000)
            after = cairn_test.wait_until(
                lambda: r.info("memory")["used_memory"] < before + (1 << 20), 5)
            self.assertTrue(after, "memory not given back after the disconnection")

    def test_benchmark_zadd_zpopmin(self):
        with cairn_test.cairn() as srv:
            out = subprocess.run(["redis-benchmark", "-p", str(srv.port), "-t", "zadd,zpopmin",
                                  "-n", "20000", "-r", "1000", "-P", "8", "-q"],
                                 capture_output=True, text=True, timeout=120)
            self.assertEqual(out.returncode, 0, out.stderr)
            r = srv.client()
            info = r.info("commandstats")
            self.assertEqual(info["cmdstat_zadd"]["calls"], 20000)
            self.assertEqual(info["cmdstat_zpopmin"]["calls"], 20000)
            self.assertEqual(info["cmdstat_zadd"].get("failed_calls", 0), 0)
            # A ZADD of random members and scores: at most 1000 members.
            out = subprocess.run(["redis-benchmark", "-p", str(srv.port), "-n", "20000",
                                  "-r", "1000", "-P", "16", "-q", "ZADD", "bz", "__rand_int__",
                                  "member:__rand_int__"],
                                 capture_output=True, text=True, timeout=120)
            self.assertEqual(out.returncode, 0, out.stderr)
            self.assertEqual(r.info("commandstats")["cmdstat_zadd"]["calls"], 40000)
            n = r.zcard("bz")
            self.assertTrue(600 < n <= 1000, n)
            self.assertEqual(r.object("encoding", "bz"), b"skiplist")
            got = r.zrange("bz", 0, -1, withscores=True)
            self.assertEqual(got, sorted(got, key=lambda kv: (kv[1], kv[0])))
            self.assertTrue(all(m.startswith(b"member:") for m, _ in got))


if __name__ == "__main__":
    unittest.main()
