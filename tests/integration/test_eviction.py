#!/usr/bin/python3
"""Eviction under maxmemory: the node stays within its memory limit by
removing keys as its policy says, as Redis 7.0 does.

Goal: under every maxmemory-policy, writing well past maxmemory keeps
used_memory near the limit, counts evicted_keys and removes keys; volatile-*
policies remove only keys with a TTL and answer OOM once none is left;
noeviction refuses writes but not reads or deletes; LRU, LFU and SIEVE keep
the keys that are read; lowering maxmemory at run time shrinks a full node
without stalling other clients; OBJECT FREQ/IDLETIME and the eviction tuning
parameters behave as in Redis. cairn's own policies (allkeys-sieve,
volatile-sieve, its default) are tested on cairn only.

Method: each test starts its own server on a free loopback port (through
cairn_test), sets maxmemory and maxmemory-policy with CONFIG SET, writes
1 KB values with pipelined SETs and reads INFO, DBSIZE and EXISTS. The
server under test is cairn-node by default (flags from $CAIRN_NODE_ARGS);
with EVICT_TEST_TARGET=redis it is redis-server 7.0, and the cairn-only tests
are skipped: every other test must pass there too. Exits 77 (skip) when
redis-py is missing.

    /usr/bin/python3 tests/integration/test_eviction.py -v
    EVICT_TEST_TARGET=redis /usr/bin/python3 tests/integration/test_eviction.py -v
"""
import os
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

TARGET = os.environ.get("EVICT_TEST_TARGET", "cairn")
if TARGET not in ("cairn", "redis"):
    print("EVICT_TEST_TARGET must be cairn or redis, not %r" % TARGET)
    sys.exit(2)
ON_REDIS = TARGET == "redis"
# A cairn node of several shards: each shard's keyspace holds a share of
# maxmemory (the README's "Memory and eviction"), so a refusal is per shard.
SHARDED = not ON_REDIS and "--shards" in cairn_test.NODE_ARGS and \
    cairn_test.NODE_ARGS[cairn_test.NODE_ARGS.index("--shards") + 1] != "1"
# RSS figures are the allocator's: ASan's says nothing of cairn's.
rss_meaningful = unittest.skipIf(not ON_REDIS and cairn_test.node_sanitized(),
                                 "RSS under AddressSanitizer is its allocator's")
cairn_only = unittest.skipIf(ON_REDIS, "cairn-only (EVICT_TEST_TARGET=redis)")

KB = 1024
MB = 1024 * 1024
VALUE = b"v" * KB
# Keys sent per pipeline round trip while loading: 200 KB, under the
# margin below, since what a node may pass maxmemory by is what its shards
# take in one step, and a loaded machine lets one step take a whole round
# trip (500 at a time passed the margin by 0.6% now and then on 2 busy
# cores, also before the pub/sub work).
BATCH = 200
# Room above the used_memory of an empty server given as maxmemory.
HEADROOM = 2 * MB

# How far used_memory may be above maxmemory when looked at: the larger of
# 10% of maxmemory and 256 KB, the allowance cairn documents. A shard sees
# the other shards' memory as they last published it, and memory in flight
# (query buffers, messages between shards, values freed in the background)
# may be counted before eviction catches up. redis-server, which evicts
# before every command, needed none of it: at most 56 bytes over here.
MARGIN = (0.10, 256 * KB)  # (fraction of maxmemory, floor in bytes)

# Redis 7.0's texts, checked on redis-server 7.0.15.
OOM = "OOM command not allowed when used memory > 'maxmemory'."
ERR_NO_LFU = ("An LFU maxmemory policy is not selected, access frequency not tracked. "
              "Please note that when switching between policies at runtime LRU and LFU "
              "data will take some time to adjust.")
ERR_LFU_IDLE = ("An LFU maxmemory policy is selected, idle time not tracked. Please note "
                "that when switching between policies at runtime LRU and LFU data will "
                "take some time to adjust.")


def allowed(maxmemory):
    """The most used_memory may show under a limit of maxmemory."""
    return maxmemory + max(int(maxmemory * MARGIN[0]), MARGIN[1])


def server(*args):
    """Starts the server under test."""
    return cairn_test.redis_server(*args) if ON_REDIS else cairn_test.cairn(*args)


def used(r):
    return r.info("memory")["used_memory"]


def evicted(r):
    return r.info("stats")["evicted_keys"]


def expires(r):
    """Keys with a TTL, from INFO keyspace (db0 is absent when empty)."""
    return r.info("keyspace").get("db0", {}).get("expires", 0)


def limit_to(r, policy, headroom=HEADROOM):
    """Sets policy, then maxmemory = used_memory + headroom; returns it."""
    r.config_set("maxmemory-policy", policy)
    limit = used(r) + headroom
    r.config_set("maxmemory", limit)
    return limit


def load(r, names, ex=None, check=None):
    """SETs every name to VALUE (with EX ex if given), in pipelined batches;
    calls check() after each batch. Any error reply raises."""
    for i in range(0, len(names), BATCH):
        p = r.pipeline(transaction=False)
        for k in names[i:i + BATCH]:
            p.set(k, VALUE, ex=ex)
        p.execute()
        if check is not None:
            check()


def load_until_error(r, prefix, limit_keys, batch=20, ex=None):
    """SETs prefix:0, prefix:1, ... in small pipelined batches until one is
    refused; returns (the names stored before it, the first error, the
    names of its batch stored after it). Fails past limit_keys."""
    stored = []
    while len(stored) < limit_keys:
        names = ["%s:%d" % (prefix, len(stored) + j) for j in range(batch)]
        p = r.pipeline(transaction=False)
        for k in names:
            p.set(k, VALUE, ex=ex)
        res = p.execute(raise_on_error=False)
        for i, (k, v) in enumerate(zip(names, res)):
            if isinstance(v, Exception):
                later = [n for n, w in zip(names[i:], res[i:]) if not isinstance(w, Exception)]
                return stored, v, later
            stored.append(k)
    raise AssertionError("%d keys were stored and none was refused" % len(stored))


def load_big(r, n):
    """SETs big:0 .. big:n-1 to 20 KB values, 100 to a pipeline."""
    big = b"x" * (20 * KB)
    for i in range(0, n, 100):
        p = r.pipeline(transaction=False)
        for j in range(i, min(i + 100, n)):
            p.set("big:%d" % j, big)
        p.execute()


def present(r, names):
    """Which of names exist (EXISTS, one per key, pipelined)."""
    out = []
    for i in range(0, len(names), 2000):
        p = r.pipeline(transaction=False)
        for k in names[i:i + 2000]:
            p.exists(k)
        out.extend(k for k, n in zip(names[i:i + 2000], p.execute()) if n)
    return out


def raw_set(srv, key):
    """The raw reply to one SET of VALUE, read off a socket of its own."""
    s = srv.raw()
    try:
        s.sendall(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n"
                  % (len(key), key.encode(), len(VALUE), VALUE))
        return cairn_test.recv_reply(s)
    finally:
        s.close()


class Base(unittest.TestCase):
    def assert_oom(self, err):
        """err is the OOM error as redis-py raises it: a ResponseError
        (redis-py 4) or OutOfMemoryError (redis-py 5, which strips "OOM ")."""
        self.assertIsInstance(err, redis.exceptions.ResponseError)
        text = str(err)
        if type(err).__name__ == "OutOfMemoryError":
            text = "OOM " + text
        self.assertEqual(text, OOM)

    def assert_within(self, r, limit, when=""):
        u = used(r)
        self.assertLessEqual(u, allowed(limit), "used_memory %d over maxmemory %d + margin%s"
                             % (u, limit, when))


class TestPoliciesStayWithinLimit(Base):
    """Writes three times maxmemory in 1 KB values under each policy."""

    def check_fill(self, policy):
        with server() as srv:
            r = srv.client()
            limit = limit_to(r, policy)
            n = 3 * limit // KB
            names = ["k:%d" % i for i in range(n)]
            # Volatile policies can only evict keys with a TTL.
            ex = 10000 if policy.startswith("volatile") else None
            load(r, names, ex=ex, check=lambda: self.assert_within(r, limit, " while writing"))
            info = r.info("everything")
            self.assertEqual(info["maxmemory"], limit)
            self.assertEqual(info["maxmemory_policy"], policy)
            self.assertLessEqual(info["used_memory"], allowed(limit))
            self.assertGreater(info["evicted_keys"], 0)
            # Each key written is there or was evicted. A shard may still
            # evict in the background (its share follows the others' use,
            # read each step), so the two are read until they agree.
            for _ in range(50):
                size = r.dbsize()
                evicted_now = evicted(r)
                if r.dbsize() == size:
                    break
                time.sleep(0.05)
            self.assertLess(size, n)
            self.assertGreater(size, 0)
            self.assertEqual(n - size, evicted_now)
            # The node still takes writes and serves reads.
            self.assertTrue(r.set("after", VALUE, ex=ex))
            self.assertEqual(r.get("after"), VALUE)

    def test_allkeys_lru(self):
        self.check_fill("allkeys-lru")

    def test_allkeys_lfu(self):
        self.check_fill("allkeys-lfu")

    def test_allkeys_random(self):
        self.check_fill("allkeys-random")

    def test_volatile_lru(self):
        self.check_fill("volatile-lru")

    def test_volatile_lfu(self):
        self.check_fill("volatile-lfu")

    def test_volatile_random(self):
        self.check_fill("volatile-random")

    def test_volatile_ttl(self):
        self.check_fill("volatile-ttl")

    @cairn_only
    def test_allkeys_sieve(self):
        self.check_fill("allkeys-sieve")

    @cairn_only
    def test_volatile_sieve(self):
        self.check_fill("volatile-sieve")


class TestVolatileOnlyEvictsTTLKeys(Base):
    """Half the keys have a TTL: only those are evicted, and once none is
    left a write that needs memory gets OOM."""

    def check_volatile(self, policy):
        with server() as srv:
            r = srv.client()
            limit = limit_to(r, policy)
            # Together 1.0 x HEADROOM of values (past the limit with the
            # keys' overhead), the persistent half alone well under it.
            pairs = HEADROOM // (2 * KB)
            persistent = ["p:%d" % i for i in range(pairs)]
            volatile = ["v:%d" % i for i in range(pairs)]
            for i in range(0, pairs, BATCH // 2):
                p = r.pipeline(transaction=False)
                for a, b in zip(persistent[i:i + BATCH // 2], volatile[i:i + BATCH // 2]):
                    p.set(a, VALUE)
                    p.set(b, VALUE, ex=10000)
                p.execute()
                self.assert_within(r, limit, " while writing")
            self.assertGreater(evicted(r), 0)
            self.assertEqual(len(present(r, persistent)), pairs)
            self.assertLess(len(present(r, volatile)), pairs)

            # More keys without a TTL: each evicts keys with a TTL while any
            # is left; the first one refused finds none left.
            more, err, later = load_until_error(r, "q", 4 * HEADROOM // KB)
            self.assert_oom(err)
            self.assertEqual(later, [], "writes after the first OOM were stored")
            self.assertEqual(present(r, volatile), [])
            self.assertEqual(expires(r), 0)
            self.assertEqual(len(present(r, persistent)), pairs)
            self.assertEqual(len(present(r, more)), len(more))
            self.assertEqual(r.dbsize(), pairs + len(more))
            self.assertEqual(evicted(r), pairs)
            if SHARDED:
                # A shard whose keyspace is under its share of the room
                # still takes a write (the node is then within maxmemory);
                # refusals come back once the node is full again.
                extra, err, _ = load_until_error(r, "one-more", 4 * HEADROOM // KB)
                self.assert_oom(err)
                self.assertEqual(expires(r), 0)
                self.assert_within(r, limit, " after the last refusal")
            # And so is every later write that needs memory, to the byte.
            with self.assertRaises(redis.exceptions.ResponseError) as cm:
                r.set("one-more", VALUE)
            self.assert_oom(cm.exception)
            if not SHARDED:
                # (A new connection may be served by another shard.)
                self.assertEqual(raw_set(srv, "one-more"), ("-%s\r\n" % OOM).encode())
            # A key with a TTL is refused as well: nothing can be evicted.
            with self.assertRaises(redis.exceptions.ResponseError) as cm:
                r.set("one-more-volatile", VALUE, ex=10000)
            self.assert_oom(cm.exception)
            self.assertEqual(r.get(persistent[0]), VALUE)

    def test_volatile_lru(self):
        self.check_volatile("volatile-lru")

    def test_volatile_lfu(self):
        self.check_volatile("volatile-lfu")

    def test_volatile_random(self):
        self.check_volatile("volatile-random")

    def test_volatile_ttl(self):
        self.check_volatile("volatile-ttl")

    @cairn_only
    def test_volatile_sieve(self):
        self.check_volatile("volatile-sieve")


class TestNoEviction(Base):
    def test_oom_then_reads_and_deletes_work(self):
        with server() as srv:
            r = srv.client()
            limit = limit_to(r, "noeviction")
            stored, err, later = load_until_error(r, "k", 4 * HEADROOM // KB)
            self.assert_oom(err)
            self.assertEqual(later, [], "writes after the first OOM were stored")
            # Refusing writes keeps the node within the same margin as
            # eviction does.
            self.assert_within(r, limit, " when the first write was refused")
            if not SHARDED:
                # (A new connection may be served by another shard, which
                # sees the others' memory as they last published it.)
                self.assertEqual(raw_set(srv, "refused"), ("-%s\r\n" % OOM).encode())
            self.assertEqual(evicted(r), 0)
            self.assertEqual(r.dbsize(), len(stored))
            # Reads, and commands that free memory, are not refused.
            self.assertEqual(r.get(stored[0]), VALUE)
            self.assertEqual(r.exists(*stored[:10]), 10)
            self.assertIsNone(r.get("refused"))
            # Deleting 1 MB of values brings used_memory back under maxmemory
            # (allowing a moment for memory freed in the background).
            gone = stored[:MB // KB]
            self.assertEqual(r.delete(*gone), len(gone))
            self.assertTrue(cairn_test.wait_until(lambda: used(r) <= limit, 5.0),
                            "used_memory %d still over maxmemory %d" % (used(r), limit))
            self.assertTrue(r.set("again", VALUE))
            self.assertEqual(r.get("again"), VALUE)
            self.assertEqual(r.dbsize(), len(stored) - len(gone) + 1)


class TestKeepsKeysThatAreRead(Base):
    """Fills to just under the limit with keys A, reads a fifth of them (the
    hot ones), then writes new keys until half the cold keys' number has been
    evicted. Most hot keys must survive; clearly fewer cold ones."""

    NKEYS = 2000

    def check_hot(self, policy, reads, settle=0.0):
        with server() as srv:
            r = srv.client()
            r.config_set("maxmemory-policy", policy)
            # A limit far off while filling and reading, so that no node may
            # skip tracking accesses for want of one.
            r.config_set("maxmemory", 1024 * MB)
            names = ["a:%d" % i for i in range(self.NKEYS)]
            load(r, names)
            hot = names[::5]
            cold = [k for i, k in enumerate(names) if i % 5]
            # Redis's LRU clock counts whole seconds: the reads must come at
            # least a tick after the writes to make the hot keys younger.
            time.sleep(settle)
            order = hot * reads
            for i in range(0, len(order), 100):
                p = r.pipeline(transaction=False)
                for k in order[i:i + 100]:
                    p.get(k)
                self.assertTrue(all(v == VALUE for v in p.execute()))
            # The real limit comes after the reads: replies waiting in an
            # output buffer count in used_memory, and Redis evicts for them.
            limit = used(r) + 256 * KB
            r.config_set("maxmemory", limit)
            target = len(cold) // 2
            written = 0
            while evicted(r) < target:
                self.assertLess(written, 4 * self.NKEYS, "too few evictions")
                load(r, ["b:%d" % (written + j) for j in range(50)])
                written += 50
            self.assert_within(r, limit)
            hot_left = len(present(r, hot)) / len(hot)
            cold_left = len(present(r, cold)) / len(cold)
            msg = "%s: %.0f%% of hot keys left, %.0f%% of cold" % (
                policy, 100 * hot_left, 100 * cold_left)
            if os.environ.get("EVICT_TEST_VERBOSE"):
                print(msg, file=sys.stderr)
            self.assertGreaterEqual(hot_left, 0.80, msg)
            self.assertLessEqual(cold_left, 0.75, msg)
            self.assertLessEqual(cold_left, hot_left - 0.25, msg)

    def test_allkeys_lru(self):
        self.check_hot("allkeys-lru", reads=3, settle=1.2)

    def test_allkeys_lfu(self):
        self.check_hot("allkeys-lfu", reads=20)

    @cairn_only
    def test_allkeys_sieve(self):
        self.check_hot("allkeys-sieve", reads=1)


class TestShrink(Base):
    def test_lowering_maxmemory_evicts_and_stays_responsive(self):
        with server() as srv:
            r = srv.client()
            r.config_set("maxmemory-policy", "allkeys-lru")
            load(r, ["k:%d" % i for i in range(16000)])
            full = used(r)
            n = r.dbsize()
            self.assertEqual(evicted(r), 0)

            lat, stop = [], threading.Event()

            def pinger():
                c = srv.client(socket_timeout=10)
                while not stop.is_set():
                    t = time.monotonic()
                    c.ping()
                    lat.append(time.monotonic() - t)
                    time.sleep(0.005)

            th = threading.Thread(target=pinger, daemon=True)
            th.start()
            try:
                cairn_test.wait_until(lambda: len(lat) > 0, 5.0)
                limit = full // 2
                self.assertTrue(r.config_set("maxmemory", limit))
                self.assertTrue(cairn_test.wait_until(lambda: used(r) <= allowed(limit), 5.0,
                                                      interval=0.01),
                                "used_memory %d still over %d + margin" % (used(r), limit))
                time.sleep(0.1)  # a few more PINGs once it is done
            finally:
                stop.set()
                th.join(15)
            self.assertFalse(th.is_alive(), "a PING went unanswered")
            self.assertGreater(len(lat), 5)
            self.assertLess(max(lat), 1.0, "slowest PING %.3f s" % max(lat))
            self.assertGreater(evicted(r), 0)
            self.assertLess(r.dbsize(), n)
            self.assertEqual(r.dbsize() + evicted(r), n)
            self.assertEqual(r.info("memory")["maxmemory"], limit)


class TestObjectFreqIdletime(Base):
    def test_freq_under_lfu(self):
        with server() as srv:
            r = srv.client()
            r.config_set("maxmemory", 100 * MB)
            for policy in ("allkeys-lfu", "volatile-lfu"):
                r.config_set("maxmemory-policy", policy)
                key = "f:" + policy
                r.set(key, VALUE)  # made under the LFU policy
                f0 = r.object("freq", key)
                self.assertIsInstance(f0, int)
                p = r.pipeline(transaction=False)
                for _ in range(300):
                    p.get(key)
                p.execute()
                f1 = r.object("freq", key)
                self.assertIsInstance(f1, int)
                self.assertGreater(f1, f0)
                self.assertLessEqual(f1, 255)
                self.assertIsNone(r.object("freq", "no-such-key"))
                with self.assertRaises(redis.exceptions.ResponseError) as cm:
                    r.object("idletime", key)
                self.assertEqual(str(cm.exception), ERR_LFU_IDLE)

    def test_freq_errors_without_lfu(self):
        with server() as srv:
            r = srv.client()
            r.config_set("maxmemory", 100 * MB)
            r.set("k", VALUE)
            for policy in ("noeviction", "allkeys-lru", "volatile-ttl", "allkeys-random"):
                r.config_set("maxmemory-policy", policy)
                with self.assertRaises(redis.exceptions.ResponseError) as cm:
                    r.object("freq", "k")
                self.assertEqual(str(cm.exception), ERR_NO_LFU, policy)
                self.assertIsInstance(r.object("idletime", "k"), int)
            self.assertIsNone(r.object("freq", "no-such-key"))


class TestTuningParameters(Base):
    PARAMS = [  # name, Redis 7.0's default, another value, an out-of-range value
        ("maxmemory-samples", "5", "10", "0"),
        ("maxmemory-eviction-tenacity", "10", "50", "101"),
        ("lfu-log-factor", "10", "20", "-1"),
        ("lfu-decay-time", "1", "5", "-1"),
    ]

    def test_config_round_trip(self):
        with server() as srv:
            r = srv.client()
            for name, default, other, bad in self.PARAMS:
                self.assertEqual(r.config_get(name), {name: default})
                self.assertTrue(r.config_set(name, other))
                self.assertEqual(r.config_get(name), {name: other})
                with self.assertRaises(redis.exceptions.ResponseError) as cm:
                    r.config_set(name, bad)
                self.assertIn("argument '%s'" % name, str(cm.exception))
                self.assertEqual(r.config_get(name), {name: other})
                self.assertTrue(r.config_set(name, default))
                self.assertEqual(r.config_get(name), {name: default})


@rss_meaningful
class TestMemoryReturns(Base):
    """After a large flush, RSS follows used_memory down: the allocator's
    free pages go back to the system (cairn trims after a shard's memory
    falls well under its peak; Redis's jemalloc purges in the background)."""

    def test_flush_returns_rss(self):
        with server() as srv:
            r = srv.client()
            load_big(r, 3000)
            loaded = r.info("memory")["used_memory_rss"]
            self.assertGreater(loaded, 45 * MB)
            r.flushall()
            self.assertTrue(
                cairn_test.wait_until(
                    lambda: r.info("memory")["used_memory_rss"] < loaded // 2, 5),
                "RSS %d after FLUSHALL of %d" % (r.info("memory")["used_memory_rss"], loaded))


@rss_meaningful
class TestMemoryDoctor(Base):
    """MEMORY DOCTOR's reports follow Redis's thresholds: nothing to say on a
    node of some megabytes (cairn), and the peak report once the node holds
    less than two thirds of its peak (both servers)."""

    def test_fine_then_peak(self):
        with server() as srv:
            r = srv.client()
            load_big(r, 1500)
            doc = r.execute_command("MEMORY", "DOCTOR")
            doc = doc.decode() if isinstance(doc, bytes) else str(doc)
            if not ON_REDIS:
                # (jemalloc's RSS for 20 KB values may pass Redis's 1.4.)
                self.assertTrue(doc.startswith("Hi Sam, I can't find any memory issue"), doc)
            stats = r.execute_command("MEMORY", "STATS")
            stats = dict(zip(stats[::2], stats[1::2])) if isinstance(stats, list) else stats
            self.assertEqual(stats[b"keys.count"], 1500)
            self.assertGreater(stats[b"total.allocated"], 25 * MB)
            r.delete(*["big:%d" % j for j in range(1000)])
            doc = r.execute_command("MEMORY", "DOCTOR")
            doc = doc.decode() if isinstance(doc, bytes) else str(doc)
            self.assertTrue(doc.startswith("Sam, I detected a few issues"), doc)
            self.assertIn(" * Peak memory: In the past this instance used more than 150%", doc)
            self.assertTrue(doc.endswith("I'm here to keep you safe, Sam. I want to help you.\n"))
            self.assertTrue(r.execute_command("MEMORY", "PURGE"))


@cairn_only
class TestCairnPolicies(Base):
    def test_default_policy_is_allkeys_sieve(self):
        with server("--maxmemory", "64mb") as srv:
            r = srv.client()
            self.assertEqual(r.config_get("maxmemory-policy"),
                             {"maxmemory-policy": "allkeys-sieve"})
            self.assertEqual(r.info("memory")["maxmemory_policy"], "allkeys-sieve")
            self.assertTrue(r.config_set("maxmemory-policy", "volatile-sieve"))
            self.assertEqual(r.config_get("maxmemory-policy"),
                             {"maxmemory-policy": "volatile-sieve"})
            self.assertEqual(r.info("memory")["maxmemory_policy"], "volatile-sieve")
            self.assertTrue(r.config_set("maxmemory-policy", "allkeys-sieve"))
            self.assertEqual(r.info("memory")["maxmemory_policy"], "allkeys-sieve")

    def test_default_policy_when_maxmemory_set_at_run_time(self):
        with server() as srv:
            r = srv.client()
            self.assertTrue(r.config_set("maxmemory", 64 * MB))
            self.assertEqual(r.config_get("maxmemory-policy"),
                             {"maxmemory-policy": "allkeys-sieve"})
            self.assertEqual(r.info("memory")["maxmemory_policy"], "allkeys-sieve")


if __name__ == "__main__":
    unittest.main(verbosity=2)
