#!/usr/bin/python3
"""Keyspace notifications through real clients, on a node of several
shards, under load.

Goal: with notify-keyspace-events set, every event of every key reaches
every subscriber, whichever shard its connection and the key live on, and
the events of one key arrive in the order the key changed; active expiry of
many keys publishes one "expired" per key; eviction under maxmemory
publishes one "evicted" per key INFO counts in evicted_keys; and with
notify-keyspace-events "" nothing at all is published.

Method: each test starts its own node with four shards (the --shards 4
given after $CAIRN_NODE_ARGS wins), several subscriber connections (so that
they spread over the shards) on raw sockets, and writers on redis-py. The
per-key order test has each writer cycle its own keys through commands of
distinct events (SET, EXPIRE, PERSIST, DEL), pipelined, from several
threads at once, and checks each subscriber saw exactly that sequence per
key. Exits 77 (skip) when redis-py is missing.

    /usr/bin/python3 tests/integration/test_notify.py -v
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

SHARDS = 4
# Subscriber connections per test: enough that every shard gets some.
SUBSCRIBERS = 8
# The per-key order test: writers, keys per writer, rounds per key.
WRITERS = 6
KEYS_PER_WRITER = 10
ROUNDS = 40
ROUND = [b"set", b"expire", b"persist", b"del"]
# Keys active expiry must report.
EXPIRING = 1000
# How long a reader waits for what it expects, at most (a loaded machine).
PATIENCE = 30.0


def cmd(*args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out


class Subscriber:
    """A raw RESP2 subscriber: (channel, message) pairs of every message
    and pmessage, in arrival order."""

    def __init__(self, srv, kind, *names):
        self.sock = srv.raw(timeout=PATIENCE)
        self.buf = b""
        self.sock.sendall(cmd(kind, *names))
        for _ in names:
            reply = self.read()
            assert reply[0] == kind.lower().encode(), reply

    def _fill(self, deadline):
        self.sock.settimeout(max(0.05, deadline - time.time()))
        chunk = self.sock.recv(1 << 20)
        if not chunk:
            raise EOFError("subscriber closed")
        self.buf += chunk

    def _parse(self, pos):
        """One reply (an array of bulks and ints) at pos: (value, end) or
        None when incomplete."""
        eol = self.buf.find(b"\r\n", pos)
        if eol < 0:
            return None
        t, rest = self.buf[pos:pos + 1], self.buf[pos + 1:eol]
        if t == b":":
            return int(rest), eol + 2
        if t == b"$":
            n = int(rest)
            if len(self.buf) < eol + 2 + n + 2:
                return None
            return self.buf[eol + 2:eol + 2 + n], eol + 4 + n
        assert t == b"*", self.buf[pos:pos + 40]
        items, p = [], eol + 2
        for _ in range(int(rest)):
            r = self._parse(p)
            if r is None:
                return None
            items.append(r[0])
            p = r[1]
        return items, p

    def read(self, timeout=PATIENCE):
        deadline = time.time() + timeout
        while True:
            r = self._parse(0)
            if r is not None:
                self.buf = self.buf[r[1]:]
                return r[0]
            self._fill(deadline)

    def messages(self, n, timeout=PATIENCE):
        """Up to n messages, waiting at most timeout for them."""
        out, deadline = [], time.time() + timeout
        while len(out) < n and time.time() < deadline:
            try:
                m = self.read(timeout=deadline - time.time())
            except socket.timeout:
                break
            if m[0] == b"message":
                out.append((m[1], m[2]))
            elif m[0] == b"pmessage":
                out.append((m[2], m[3]))
        return out

    def close(self):
        self.sock.close()


def node():
    srv = cairn_test.cairn("--shards", str(SHARDS))
    said = "shards=%d)" % SHARDS
    assert cairn_test.wait_until(lambda: said in srv.log_text(), 10), srv.log_text()
    return srv


def writer_keys(w):
    return [("nt:w%d:k%d" % (w, k)).encode() for k in range(KEYS_PER_WRITER)]


class NotifyTest(unittest.TestCase):

    def test_per_key_order_on_every_shard_under_load(self):
        with node() as srv:
            r = srv.client()
            r.config_set("notify-keyspace-events", "Kg$")
            subs = [Subscriber(srv, "PSUBSCRIBE", "__keyspace@0__:nt:*")
                    for _ in range(SUBSCRIBERS)]
            keys = [writer_keys(w) for w in range(WRITERS)]
            shards = {cairn_test.shard_of(k, SHARDS) for ks in keys for k in ks}
            self.assertEqual(shards, set(range(SHARDS)), "keys on every shard")
            errors = []

            def write(w):
                try:
                    c = srv.client()
                    for _ in range(ROUNDS):
                        p = c.pipeline(transaction=False)
                        for k in keys[w]:
                            p.set(k, "v")
                            p.expire(k, 100)
                            p.persist(k)
                            p.delete(k)
                        p.execute()
                except Exception as e:  # noqa: BLE001 (reported below)
                    errors.append(e)

            threads = [threading.Thread(target=write, args=(w,)) for w in range(WRITERS)]
            for t in threads:
                t.start()
            total = WRITERS * KEYS_PER_WRITER * ROUNDS * len(ROUND)
            got = [s.messages(total) for s in subs]
            for t in threads:
                t.join()
            self.assertEqual(errors, [])
            expected = ROUND * ROUNDS
            for i, msgs in enumerate(got):
                self.assertEqual(len(msgs), total, "subscriber %d" % i)
                per_key = {}
                for ch, ev in msgs:
                    per_key.setdefault(ch, []).append(ev)
                self.assertEqual(len(per_key), WRITERS * KEYS_PER_WRITER)
                for ch, evs in per_key.items():
                    self.assertEqual(evs, expected, "subscriber %d, %r" % (i, ch))
            for s in subs:
                s.close()

    def test_active_expiry_reports_every_key(self):
        with node() as srv:
            r = srv.client()
            r.config_set("notify-keyspace-events", "Ex")
            subs = [Subscriber(srv, "SUBSCRIBE", "__keyevent@0__:expired")
                    for _ in range(SUBSCRIBERS)]
            p = r.pipeline(transaction=False)
            for i in range(EXPIRING):
                p.set("ex:%d" % i, "v", px=20 + i % 200)
            p.execute()
            want = {("ex:%d" % i).encode() for i in range(EXPIRING)}
            # Nothing reads the keys: only active expiry deletes them.
            for i, s in enumerate(subs):
                msgs = s.messages(EXPIRING)
                self.assertEqual({m for _, m in msgs}, want, "subscriber %d" % i)
                self.assertEqual(len(msgs), EXPIRING, "subscriber %d" % i)
            self.assertEqual(r.dbsize(), 0)
            self.assertEqual(r.info("stats")["expired_keys"], EXPIRING)
            for s in subs:
                s.close()

    def test_evicted_events_count_as_info(self):
        with node() as srv:
            r = srv.client()
            r.config_set("notify-keyspace-events", "Ee")
            subs = [Subscriber(srv, "SUBSCRIBE", "__keyevent@0__:evicted")
                    for _ in range(2)]
            got = [[] for _ in subs]
            stop = threading.Event()

            def drain(i):
                while not stop.is_set():
                    got[i].extend(subs[i].messages(1 << 30, timeout=0.2))

            readers = [threading.Thread(target=drain, args=(i,)) for i in range(len(subs))]
            for t in readers:
                t.start()
            r.config_set("maxmemory-policy", "allkeys-random")
            r.config_set("maxmemory", r.info("memory")["used_memory"] + 4 * 1024 * 1024)
            value = "x" * 200
            for batch in range(40):
                p = r.pipeline(transaction=False)
                for i in range(1000):
                    p.set("ev:%d:%d" % (batch, i), value)
                p.execute(raise_on_error=False)
            # Eviction may go on for a few steps after the last write:
            # counted once it stops.
            evicted, deadline = -1, time.time() + PATIENCE
            while time.time() < deadline:
                now = r.info("stats")["evicted_keys"]
                if now == evicted:
                    break
                evicted = now
                cairn_test.wait_until(lambda: all(len(g) >= now for g in got), PATIENCE)
                time.sleep(0.3)
            self.assertGreater(evicted, 1000)
            # The subscribers' own output counts as memory and may evict a
            # few more: no limit any more, then the final count, then every
            # event it owes.
            r.config_set("maxmemory", 0)
            evicted = r.info("stats")["evicted_keys"]
            cairn_test.wait_until(lambda: all(len(g) >= evicted for g in got), PATIENCE)
            time.sleep(0.3)
            stop.set()
            for t in readers:
                t.join()
            for i, g in enumerate(got):
                self.assertEqual(len(g), evicted, "subscriber %d" % i)
                self.assertEqual(len({m for _, m in g}), evicted, "subscriber %d" % i)
            for s in subs:
                s.close()

    def test_nothing_published_when_off(self):
        with node() as srv:
            r = srv.client()
            r.config_set("notify-keyspace-events", "")
            subs = [Subscriber(srv, "PSUBSCRIBE", "__key*__:*", "marker")
                    for _ in range(SUBSCRIBERS)]
            p = r.pipeline(transaction=False)
            for i in range(200):
                k = "off:%d" % i
                p.set(k, "v", px=10)
                p.rpush(k + ":l", "a")
                p.lpop(k + ":l")
                p.hset(k + ":h", "f", "v")
                p.get(k + ":missing")
                p.delete(k + ":h")
            p.execute()
            time.sleep(0.3)
            r.mget(["off:%d" % i for i in range(200)])
            r.publish("marker", "end")
            for i, s in enumerate(subs):
                self.assertEqual(s.messages(1), [(b"marker", b"end")], "subscriber %d" % i)
            for s in subs:
                s.close()


if __name__ == "__main__":
    unittest.main()
