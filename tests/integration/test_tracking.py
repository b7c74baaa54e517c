#!/usr/bin/python3
"""Client-side caching (CLIENT TRACKING) through real connections, as Redis
7.0 behaves, on whichever shards the clients and keys live.

Goal: a client that read a key hears of its next change exactly once,
wherever in the node the key and the client live: as a RESP3 push, or
through a redirection to another client (a push to a RESP3 one, a message
on __redis__:invalidate to a subscribed RESP2 one), and that redirection
breaking is reported; BCAST clients hear of every key under their prefixes;
tracking-table-max-keys bounds the remembered keys and announces the ones
it drops; once a write has answered, the invalidation is already ahead of
the tracking client's next reply; and a client-side cache kept by those
rules never serves a stale value, under concurrent writers.

Method: each test starts its own server on a free loopback port (through
cairn_test), with many keys and several connections so that a node of
several shards spreads them (ctest runs every variant, 1 and 4 shards).
The server under test is cairn-node by default (flags from
$CAIRN_NODE_ARGS); with TRACKING_TEST_TARGET=redis it is redis-server 7.0,
and every test must pass there too. Exits 77 (skip) when redis-py is
missing (it is the writer).

    /usr/bin/python3 tests/integration/test_tracking.py -v
    TRACKING_TEST_TARGET=redis /usr/bin/python3 tests/integration/test_tracking.py -v
"""
import os
import random
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

TARGET = os.environ.get("TRACKING_TEST_TARGET", "cairn")
if TARGET not in ("cairn", "redis"):
    print("TRACKING_TEST_TARGET must be cairn or redis, not %r" % TARGET)
    sys.exit(2)
ON_REDIS = TARGET == "redis"

# Keys per test: enough that every shard of 4 holds many.
KEYS = 200
# Tracking connections in the redirection test.
TRACKERS = 8
# How long the cache test's writers run (s).
CACHE_RUN = 3.0
PATIENCE = 20.0

cmd = cairn_test.encode


def server(*args):
    return cairn_test.redis_server(*args) if ON_REDIS else cairn_test.cairn(*args)


class Conn:
    """A raw connection: requests, replies, and the pushes that come
    before a reply (kept in self.pushes, in order)."""

    def __init__(self, srv, resp3=True):
        self.sock = srv.raw(timeout=PATIENCE)
        self.rd = cairn_test.RespReader(self.sock, PATIENCE)
        self.pushes = []
        if resp3:
            self.call("HELLO", "3")

    def call(self, *args):
        self.sock.sendall(cmd(*args))
        return self.reply()

    def reply(self):
        while True:
            r = self.rd.read()
            if isinstance(r, tuple) and r[0] == "push":
                self.pushes.append(r[1])
                continue
            if isinstance(r, list) and len(r) == 3 and r[0] == b"message":
                self.pushes.append(r)
                continue
            return r

    def sync(self):
        """Everything sent to this connection before now: pushes read."""
        self.assert_ok(self.call("PING"), b"PONG")

    @staticmethod
    def assert_ok(r, text=b"OK"):
        assert r == (b"+", text), r

    def close(self):
        self.sock.close()


def invalidated(pushes):
    """The keys named by invalidation pushes (or messages), in order; None
    for a flush."""
    keys = []
    for p in pushes:
        if p[0] == b"invalidate":
            keys.extend(p[1] if p[1] is not None else [None])
        elif p[0] == b"message" and p[1] == b"__redis__:invalidate":
            keys.extend(p[2] if p[2] is not None else [None])
    return keys


def names(n, prefix="tk:"):
    return ["%s%d" % (prefix, i) for i in range(n)]


class TrackingTest(unittest.TestCase):
    def test_every_key_once_across_shards(self):
        """A RESP3 client that read KEYS keys hears of each write once; the
        writer's reply means the pushes are ahead of the next reply."""
        with server() as srv:
            w = srv.client()
            keys = names(KEYS)
            w.mset({k: "v0" for k in keys})
            t = Conn(srv)
            Conn.assert_ok(t.call("CLIENT", "TRACKING", "on"))
            for k in keys:
                self.assertEqual(t.call("GET", k), b"v0")
            w.mset({k: "v1" for k in keys})
            for k in keys[: KEYS // 2]:
                w.set(k, "v2")  # not read again: no second push
            t.sync()
            got = invalidated(t.pushes)
            self.assertEqual(sorted(got), sorted(k.encode() for k in keys))
            t.pushes.clear()
            # Read again, then changed one by one: each push is there
            # before the tracking client's next reply.
            for k in keys[:20]:
                t.call("GET", k)
                w.incr("tk:counter")  # another key: nothing for t
                w.set(k, "v3")
                t.sync()
                self.assertEqual(invalidated(t.pushes), [k.encode()])
                t.pushes.clear()
            t.close()

    def test_sort_store_source_is_not_invalidated(self):
        """SORT ... STORE only reads its source: a client tracking the
        source hears nothing, one tracking the destination hears of it."""
        with server() as srv:
            w = srv.client()
            w.rpush("{ts}src", 3, 1, 2)
            w.rpush("{ts}dst", 9)
            t = Conn(srv)
            Conn.assert_ok(t.call("CLIENT", "TRACKING", "on"))
            t.call("LRANGE", "{ts}src", "0", "-1")
            t.call("LRANGE", "{ts}dst", "0", "-1")
            self.assertEqual(w.sort("{ts}src", store="{ts}dst"), 3)
            t.sync()
            self.assertEqual(invalidated(t.pushes), [b"{ts}dst"])
            t.close()

    def test_redirect_to_subscribed_resp2(self):
        """RESP2 trackers redirect to one RESP2 client subscribed to
        __redis__:invalidate: it gets one message per (tracker, key)."""
        with server() as srv:
            w = srv.client()
            keys = names(KEYS)
            w.mset({k: "v" for k in keys})
            sink = Conn(srv, resp3=False)
            sink_id = sink.call("CLIENT", "ID")
            sink.sock.sendall(cmd("SUBSCRIBE", "__redis__:invalidate"))
            self.assertEqual(sink.reply(), [b"subscribe", b"__redis__:invalidate", 1])
            trackers = [Conn(srv, resp3=False) for _ in range(TRACKERS)]
            mine = {}
            for i, t in enumerate(trackers):
                Conn.assert_ok(t.call("CLIENT", "TRACKING", "on", "REDIRECT", sink_id))
                self.assertEqual(t.call("CLIENT", "GETREDIR"), sink_id)
                mine[i] = keys[i::TRACKERS]
                for k in mine[i]:
                    t.call("GET", k)
                    self.assertEqual(t.pushes, [])
            w.delete(*keys)
            want = sorted(k.encode() for k in keys)
            deadline = time.time() + PATIENCE
            while len(invalidated(sink.pushes)) < len(want) and time.time() < deadline:
                sink.pushes.append(sink.rd.read())
            self.assertEqual(sorted(invalidated(sink.pushes)), want)
            # A flush: a null for each tracker, through its redirection.
            sink.pushes.clear()
            w.flushall()
            deadline = time.time() + PATIENCE
            while len(sink.pushes) < TRACKERS and time.time() < deadline:
                sink.pushes.append(sink.rd.read())
            self.assertEqual(sink.pushes, [[b"message", b"__redis__:invalidate", None]] * TRACKERS)
            for t in trackers:
                t.close()
            sink.close()

    def test_redirect_to_resp3_and_broken(self):
        """A redirection to a RESP3 client (not subscribed) gets pushes;
        once that client is gone, the tracker is told its redirection broke,
        and says so in TRACKINGINFO and CLIENT INFO."""
        with server() as srv:
            w = srv.client()
            sinks = [Conn(srv) for _ in range(4)]
            sink = sinks[-1]
            sink_id = sink.call("CLIENT", "ID")
            t = Conn(srv)
            Conn.assert_ok(t.call("CLIENT", "TRACKING", "on", "REDIRECT", sink_id))
            keys = names(40)
            for k in keys:
                t.call("GET", k)
            w.mset({k: "x" for k in keys})
            deadline = time.time() + PATIENCE
            while len(invalidated(sink.pushes)) < len(keys) and time.time() < deadline:
                sink.pushes.append(sink.rd.read()[1])
            self.assertEqual(sorted(invalidated(sink.pushes)), sorted(k.encode() for k in keys))
            t.sync()
            self.assertEqual(t.pushes, [])
            for s in sinks:
                s.close()
            cairn_test.wait_until(
                lambda: b"id=%d " % sink_id not in w.execute_command("CLIENT", "LIST"), PATIENCE)
            t.call("GET", keys[0])
            w.set(keys[0], "y")
            # With several shards, the redirection's absence is learnt on
            # its shard and comes back: a hop later than the next reply.
            deadline = time.time() + PATIENCE
            while not t.pushes and time.time() < deadline:
                t.sync()
            self.assertEqual(t.pushes, [[b"tracking-redir-broken", sink_id]])
            info = t.call("CLIENT", "TRACKINGINFO")
            self.assertEqual(info[1], [b"on", b"broken_redirect"])
            flags = t.call("CLIENT", "INFO").split(b" flags=")[1].split(b" ")[0]
            self.assertEqual(flags, b"tR")
            t.close()

    def test_bcast_across_shards(self):
        """A BCAST client hears of every key under its prefixes, written
        anywhere in the node, and of none other; NOLOOP leaves out its own."""
        with server() as srv:
            w = srv.client()
            t = Conn(srv)
            Conn.assert_ok(t.call("CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "p:",
                                  "PREFIX", "r:", "NOLOOP"))
            ours = names(KEYS, "p:") + names(10, "r:")
            for k in ours + names(KEYS, "q:"):
                w.set(k, "1")
            Conn.assert_ok(t.call("SET", "p:mine", "1"))
            t.sync()
            got = invalidated(t.pushes)
            self.assertEqual(sorted(set(got)), sorted(k.encode() for k in ours))
            self.assertEqual(len(got), len(ours), "each key once: written once")
            info = w.info("stats")
            self.assertEqual(info["tracking_total_prefixes"], 2)
            self.assertEqual(w.info("clients")["tracking_clients"], 1)
            t.close()

    def test_table_bound_announces_what_it_drops(self):
        """tracking-table-max-keys bounds the remembered keys; a key dropped
        from the table is announced, so no read key goes unannounced."""
        with server() as srv:
            w = srv.client()
            w.config_set("tracking-table-max-keys", 20)
            t = Conn(srv)
            Conn.assert_ok(t.call("CLIENT", "TRACKING", "on"))
            keys = names(KEYS)
            for k in keys:
                t.call("GET", k)
            self.assertTrue(cairn_test.wait_until(
                lambda: w.info("stats")["tracking_total_keys"] <= 20, PATIENCE),
                w.info("stats")["tracking_total_keys"])
            for k in keys:
                w.set(k, "1")
            t.sync()
            self.assertEqual(sorted(set(invalidated(t.pushes))), sorted(k.encode() for k in keys))
            self.assertEqual(w.info("stats")["tracking_total_keys"], 0)
            w.config_set("tracking-table-max-keys", 0)
            for k in keys:
                t.call("GET", k)
            self.assertEqual(w.info("stats")["tracking_total_keys"], KEYS)
            self.assertEqual(w.info("stats")["tracking_total_items"], KEYS)
            t.close()

    def test_client_side_cache_never_stale(self):
        """A cache kept by the protocol's rules (store a GET's reply, drop a
        key on its invalidation, all in stream order) holds only current
        values once the writers stop, while writers race its reads."""
        with server() as srv:
            keys = names(64, "cc:")
            srv.client().mset({k: "0" for k in keys})
            stop = threading.Event()
            errors = []

            def writer(seed):
                r = srv.client()
                rnd = random.Random(seed)
                try:
                    while not stop.is_set():
                        k = rnd.choice(keys)
                        if rnd.random() < 0.5:
                            r.incr(k)
                        else:
                            r.mset({k: rnd.randrange(1000), rnd.choice(keys): rnd.randrange(9)})
                except Exception as e:  # noqa: BLE001 - reported below
                    errors.append(e)

            t = Conn(srv)
            Conn.assert_ok(t.call("CLIENT", "TRACKING", "on"))
            cache, hits = {}, 0
            threads = [threading.Thread(target=writer, args=(s,)) for s in range(3)]
            for th in threads:
                th.start()
            rnd = random.Random(7)
            end = time.time() + CACHE_RUN
            while time.time() < end:
                k = rnd.choice(keys).encode()
                self.apply(t, cache)
                if k in cache:
                    hits += 1
                    continue
                v = t.call("GET", k)
                # Only the pushes that came before the reply, then the
                # value: a later push is for a later write.
                self.forget(t, cache)
                cache[k] = v
            stop.set()
            for th in threads:
                th.join()
            self.assertEqual(errors, [])
            t.sync()
            self.apply(t, cache)
            fresh = srv.client()
            stale = {k: (v, fresh.get(k)) for k, v in cache.items() if fresh.get(k) != v}
            self.assertEqual(stale, {})
            self.assertGreater(hits, 0)
            t.close()

    @classmethod
    def apply(cls, t, cache):
        while t.rd.pending():
            t.pushes.append(t.rd.read()[1])
        cls.forget(t, cache)

    @staticmethod
    def forget(t, cache):
        for k in invalidated(t.pushes):
            if k is None:
                cache.clear()
            else:
                cache.pop(k, None)
        t.pushes.clear()


if __name__ == "__main__":
    unittest.main()
