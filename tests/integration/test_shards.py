#!/usr/bin/python3
"""Cross-shard semantics of a multi-shard node.

Goal: with the keyspace split over four shards, a client cannot tell the
node from a single-threaded Redis. Multi-key commands whose keys span
shards (MSETNX, MSET, MGET, DEL, RENAME, RENAMENX, COPY) are atomic and
isolated; a pipeline that mixes local, forwarded and cross-shard commands
gets every reply in request order; keyspace-wide commands (DBSIZE, KEYS,
RANDOMKEY, SCAN, FLUSHALL, INFO keyspace) see and change every shard;
CLIENT LIST/KILL and CONFIG SET/GET/RESETSTAT act on the connections and
settings of every shard; and a client that leaves while its cross-shard
transaction waits for locks leaves the node healthy, with the write done.

Method: every test starts its own cairn-node with "--shards 4" appended
after $CAIRN_NODE_ARGS (the later flag wins), so all four ctest variants
run multi-shard, on io_uring and on epoll. Keys are chosen by computing
their slot (CRC16-XMODEM with hash tags, as the node does) so that each
test knows which shard owns each key and spreads its keys over all four
(some sets are groups of keys under one {hash tag}, which share a shard).
A connection's shard is its CLIENT ID modulo 4 (ids are handed out per
shard as n * shards + shard). Clients are redis-py (one connection per
thread for concurrency) and raw sockets where the exact bytes matter.
Expected results come from a model of the commands, never from the node.
"""
import os
import random
import socket
import sys
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import cairn_test  # noqa: E402
import redis  # noqa: E402

NSHARDS = 4
SHARD_ARGS = ("--shards", str(NSHARDS))
# Generous bounds for things that must happen (a loaded 2-core machine,
# maybe under ASan): they only limit how long a failing test waits.
WAIT = 20.0


# ---- keys and shards ----

def shard_of(key, n=NSHARDS):
    return cairn_test.shard_of(key, n)


def keys_per_shard(prefix, per_shard, n=NSHARDS):
    """{shard: [key, ...]} with per_shard keys named prefix:<i> on each."""
    out = {s: [] for s in range(n)}
    i = 0
    while any(len(v) < per_shard for v in out.values()):
        k = "%s:%d" % (prefix, i)
        s = shard_of(k, n)
        if len(out[s]) < per_shard:
            out[s].append(k)
        i += 1
    return out


def tagged_keys(prefix, per_shard, n=NSHARDS):
    """Keys {tag}.<j>, per_shard of them for one hash tag on each shard: keys
    that share a tag share a shard, so these come in groups."""
    out = []
    for s in range(n):
        tag = keys_per_shard(prefix, 1, n)[s][0]
        group = ["{%s}.%d" % (tag, j) for j in range(per_shard)]
        assert {shard_of(k, n) for k in group} == {s}
        out += group
    return out


def spread_keys(prefix, count, n=NSHARDS):
    """count keys that cycle over the shards (shard 0, 1, 2, 3, 0, ...)."""
    by = keys_per_shard(prefix, (count + n - 1) // n, n)
    return [by[i % n][i // n] for i in range(count)]


# ---- RESP on raw sockets ----

def enc(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        if not isinstance(a, bytes):
            a = str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


def reply_end(buf, pos=0):
    """End offset of the complete reply at pos, or None if incomplete."""
    nl = buf.find(b"\r\n", pos)
    if nl < 0:
        return None
    t = buf[pos:pos + 1]
    if t in (b"+", b"-", b":", b"_", b",", b"#"):
        return nl + 2
    n = int(buf[pos + 1:nl])
    if t in (b"$", b"="):
        if n < 0:
            return nl + 2
        end = nl + 2 + n + 2
        return end if len(buf) >= end else None
    if t in (b"*", b"%", b"~"):
        if t == b"%":
            n *= 2
        p = nl + 2
        for _ in range(max(n, 0)):
            p = reply_end(buf, p)
            if p is None:
                return None
        return p
    raise AssertionError("bad reply at %d: %r" % (pos, buf[pos:pos + 40]))


class Raw:
    """A raw RESP connection that reads one reply at a time."""

    def __init__(self, port, timeout=WAIT):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""

    def send(self, data):
        self.sock.sendall(data)

    def read(self):
        while True:
            end = reply_end(self.buf) if self.buf else None
            if end is not None:
                r, self.buf = self.buf[:end], self.buf[end:]
                return r
            chunk = self.sock.recv(1 << 16)
            if not chunk:
                raise ConnectionError("closed by the server")
            self.buf += chunk

    def call(self, *args):
        self.send(enc(*args))
        return self.read()

    def closed_within(self, wait):
        """Whether the server closes this connection (EOF or reset) within wait."""
        deadline = time.time() + wait
        while time.time() < deadline:
            self.sock.settimeout(max(0.05, deadline - time.time()))
            try:
                if not self.sock.recv(1 << 16):
                    return True
            except socket.timeout:
                return False
            except OSError:
                return True
        return False

    def close(self):
        self.sock.close()


def r_bulk(v):
    return b"$-1\r\n" if v is None else b"$%d\r\n%s\r\n" % (len(v), v)


def r_int(n):
    return b":%d\r\n" % n


def bulk_text(raw):
    assert raw[:1] in (b"$", b"="), raw[:80]
    body = raw.split(b"\r\n", 1)[1][:-2]
    if raw[:1] == b"=":
        body = body[4:]
    return body.decode()


def int_of(raw):
    assert raw[:1] == b":", raw
    return int(raw[1:-2])


def wait_until(pred, timeout=WAIT, interval=0.05):
    return cairn_test.wait_until(pred, timeout, interval)


class ShardTest(unittest.TestCase):
    """One four-shard node per test."""

    def setUp(self):
        self.node = cairn_test.cairn(*SHARD_ARGS)
        self.r = self.node.client()
        self.to_close = []

    def tearDown(self):
        for c in self.to_close:
            try:
                c.close()
            except Exception:
                pass
        self.r.close()
        self.node.__exit__(*sys.exc_info())

    def client(self):
        c = self.node.client(socket_timeout=WAIT)
        self.to_close.append(c)
        return c

    def client_on(self, shard, tries=2000):
        """A redis-py client whose connection lives on the given shard."""
        for _ in range(tries):
            c = self.node.client(socket_timeout=WAIT)
            if c.client_id() % NSHARDS == shard:
                self.to_close.append(c)
                return c
            c.close()
        self.fail("no connection landed on shard %d" % shard)

    def used_memory(self):
        return self.r.info("memory")["used_memory"]


class Atomicity(ShardTest):
    def test_msetnx_all_or_nothing_under_concurrency(self):
        """16 threads race MSETNX over the same keys: one winner per key set."""
        nthreads, rounds, attempts = 16, 12, 3
        # The full set: three keys under one hash tag on each shard.
        full = {r: tagged_keys("nx%d" % r, 3) for r in range(rounds)}
        subk = {r: spread_keys("ns%d" % r, 12) for r in range(rounds)}
        for r in range(rounds):
            self.assertEqual({shard_of(k) for k in full[r]}, set(range(NSHARDS)))

        def window(r, t):
            # Overlapping subsets: 4 consecutive keys (cyclic), 3 shards
            # or more each; threads 12..15 repeat windows 0..3.
            return [subk[r][(t + j) % 12] for j in range(4)]

        results = []  # (round, kind, thread, attempt, ok)
        errors = []
        lock = threading.Lock()
        barrier = threading.Barrier(nthreads, timeout=60)
        clients = [self.client() for _ in range(nthreads)]
        for c in clients:
            c.ping()

        def worker(t):
            c = clients[t]
            try:
                for r in range(rounds):
                    barrier.wait()
                    for a in range(attempts):
                        order = ("full", "sub") if (t + a) % 2 == 0 else ("sub", "full")
                        for kind in order:
                            if kind == "full":
                                ok = c.msetnx({k: "T%d" % t for k in full[r]})
                            else:
                                ok = c.msetnx({k: "S%d.%d" % (t, a) for k in window(r, t)})
                            with lock:
                                results.append((r, kind, t, a, bool(ok)))
            except Exception as e:  # reported below, not lost in the thread
                errors.append(repr(e))
                barrier.abort()

        threads = [threading.Thread(target=worker, args=(t,)) for t in range(nthreads)]
        for th in threads:
            th.start()
        for th in threads:
            th.join(120)
        self.assertFalse(any(th.is_alive() for th in threads), "workers hung")
        self.assertEqual(errors, [])
        self.assertEqual(len(results), rounds * nthreads * attempts * 2)

        for r in range(rounds):
            wins = [t for (rr, kind, t, a, ok) in results if rr == r and kind == "full" and ok]
            self.assertEqual(len(wins), 1, "round %d: full-set MSETNX winners %r" % (r, wins))
            vals = self.r.mget(full[r])
            self.assertEqual(vals, [b"T%d" % wins[0]] * 12,
                             "round %d: keys of the full set hold %r" % (r, vals))

            sub = [(t, a) for (rr, kind, t, a, ok) in results if rr == r and kind == "sub"]
            won = [(t, a) for (rr, kind, t, a, ok) in results
                   if rr == r and kind == "sub" and ok]
            self.assertGreaterEqual(len(won), 1)
            covered = {}
            for t, a in won:
                for k in window(r, t):
                    self.assertNotIn(k, covered, "round %d: two MSETNX won key %s" % (r, k))
                    covered[k] = b"S%d.%d" % (t, a)
            # A failed MSETNX failed because a key of a winner existed.
            for t, a in sub:
                if (t, a) not in won:
                    self.assertTrue(set(window(r, t)) & set(covered),
                                    "round %d: MSETNX %d.%d failed with no key taken" % (r, t, a))
            vals = dict(zip(subk[r], self.r.mget(subk[r])))
            for k in subk[r]:
                # Winners' values on their keys; nothing (no loser's
                # value, no partial write) anywhere else.
                self.assertEqual(vals[k], covered.get(k), "round %d key %s" % (r, k))

    def test_mset_mget_isolation(self):
        """MGET never sees a half-applied MSET across shards."""
        keys = ["k%d" % i for i in range(1, 21)]
        self.assertEqual({shard_of(k) for k in keys}, set(range(NSHARDS)))
        self.r.mset({k: 0 for k in keys})
        stop = threading.Event()
        errors, torn = [], []
        stats = {"w": 0, "r": 0, "seen": set()}
        lock = threading.Lock()
        nwriters, nreaders = 2, 3
        wclients = [self.client() for _ in range(nwriters)]
        rclients = [self.client() for _ in range(nreaders)]

        def writer(w):
            c, i, n = wclients[w], w + 1, 0
            try:
                while not stop.is_set():
                    c.mset({k: i for k in keys})
                    i += nwriters
                    n += 1
            except Exception as e:
                errors.append(repr(e))
            with lock:
                stats["w"] += n

        def reader(x):
            c, n, seen = rclients[x], 0, set()
            try:
                while not stop.is_set():
                    vals = c.mget(keys)
                    n += 1
                    if len(set(vals)) != 1:
                        torn.append(vals)
                        break
                    seen.add(vals[0])
            except Exception as e:
                errors.append(repr(e))
            with lock:
                stats["r"] += n
                stats["seen"] |= seen

        threads = [threading.Thread(target=writer, args=(w,)) for w in range(nwriters)]
        threads += [threading.Thread(target=reader, args=(x,)) for x in range(nreaders)]
        for th in threads:
            th.start()
        time.sleep(2.0)
        stop.set()
        for th in threads:
            th.join(60)
        self.assertEqual(errors, [])
        self.assertEqual(torn[:1], [], "an MGET saw a torn MSET")
        # The test means something only if both sides really ran.
        self.assertGreater(stats["w"], 20)
        self.assertGreater(stats["r"], 20)
        self.assertGreater(len(stats["seen"]), 2, "readers saw no MSET land")
        final = self.r.mget(keys)
        self.assertEqual(len(set(final)), 1)


class Pipelining(ShardTest):
    N = 5000

    def build(self, seed, n=None):
        """5,000 mixed commands (SET, GET, INCR, APPEND, DEL, EXISTS, MGET and
        a few DBSIZE) and, for each, its exact reply and the value redis-py
        returns for it."""
        rnd = random.Random(seed)
        data = spread_keys("p%d" % seed, 24)
        ctrs = spread_keys("c%d" % seed, 8)
        model = {}
        cmds, raw, py = [], [], []
        for _ in range(n or self.N):
            op = rnd.choice("SSGGGIAADMMX") if rnd.random() > 0.01 else "Z"
            if op == "S":
                k = rnd.choice(data)
                size = rnd.choice((1, 5, 20, 20, 20, 100, 5000)) if rnd.random() > 0.01 else 40000
                v = ((b"%016x" % rnd.getrandbits(64)) * (size // 16 + 1))[:size]
                model[k] = v
                cmds.append(("SET", k, v))
                raw.append(b"+OK\r\n")
                py.append(True)
            elif op == "G":
                k = rnd.choice(data)
                cmds.append(("GET", k))
                raw.append(r_bulk(model.get(k)))
                py.append(model.get(k))
            elif op == "I":
                k = rnd.choice(ctrs)
                model[k] = model.get(k, 0) + 1
                cmds.append(("INCR", k))
                raw.append(r_int(model[k]))
                py.append(model[k])
            elif op == "A":
                k = rnd.choice(data)
                v = b"+%d" % rnd.randrange(1000)
                model[k] = model.get(k, b"") + v
                cmds.append(("APPEND", k, v))
                raw.append(r_int(len(model[k])))
                py.append(len(model[k]))
            elif op == "D":
                ks = rnd.sample(data, rnd.choice((1, 2, 3)))
                n = sum(1 for k in ks if k in model)
                for k in ks:
                    model.pop(k, None)
                cmds.append(("DEL",) + tuple(ks))
                raw.append(r_int(n))
                py.append(n)
            elif op == "X":
                ks = rnd.sample(data, rnd.choice((1, 2, 4)))
                n = sum(1 for k in ks if k in model)
                cmds.append(("EXISTS",) + tuple(ks))
                raw.append(r_int(n))
                py.append(n)
            elif op == "Z":
                # Keyspace-wide: a transaction over every shard.
                cmds.append(("DBSIZE",))
                raw.append(r_int(len(model)))
                py.append(len(model))
            else:
                ks = rnd.sample(data, rnd.choice((2, 3, 5)))
                vals = [model.get(k) for k in ks]
                cmds.append(("MGET",) + tuple(ks))
                raw.append(b"*%d\r\n" % len(ks) + b"".join(r_bulk(v) for v in vals))
                py.append(vals)
        # The mix must really cross shards: forwarded single-key commands
        # and transactions over several shards.
        self.assertTrue(any(c[0] == "MGET" and len({shard_of(k) for k in c[1:]}) > 1
                            for c in cmds))
        self.assertTrue(any(c[0] == "DEL" and len({shard_of(k) for k in c[1:]}) > 1
                            for c in cmds))
        return cmds, raw, py

    def test_pipeline_redis_py(self):
        """5,000 mixed commands through redis-py's pipeline(transaction=False)."""
        cmds, _, py = self.build(1)
        pipe = self.r.pipeline(transaction=False)
        for c in cmds:
            pipe.execute_command(*c)
        got = pipe.execute()
        self.assertEqual(len(got), len(py))
        for i, (g, e) in enumerate(zip(got, py)):
            self.assertEqual(g, e, "reply %d to %r" % (i, cmds[i][:3]))

    def test_pipeline_raw_one_sendall(self):
        """The same kind of pipeline written with one sendall; the reply
        stream must be byte for byte the model's."""
        cmds, raw, _ = self.build(2)
        payload = b"".join(enc(*c) for c in cmds)
        expected = b"".join(raw)
        conn = Raw(self.node.port)
        self.to_close.append(conn)
        sent = []
        # One sendall of the whole pipeline; a thread, so that reading
        # replies meanwhile cannot deadlock on full socket buffers.
        th = threading.Thread(target=lambda: sent.append(conn.sock.sendall(payload) is None))
        th.start()
        got = []
        try:
            for _ in cmds:
                got.append(conn.read())
        finally:
            th.join(60)
        self.assertEqual(sent, [True])
        for i, (g, e) in enumerate(zip(got, raw)):
            self.assertEqual(g, e, "reply %d to %r" % (i, cmds[i][:3]))
        self.assertEqual(b"".join(got), expected)
        # Nothing extra follows.
        self.assertEqual(conn.call("PING"), b"+PONG\r\n")

    def test_pipelines_concurrent(self):
        """Six connections pipeline at once (disjoint keys): their
        transactions contend for the shard locks, and each connection's
        replies must still reflect its own requests in order."""
        nconn, errors = 6, []
        work = []
        for n in range(nconn):
            cmds, raw, _ = self.build(10 + n, 2000)
            # DBSIZE counts the other connections' keys too: not modelled.
            keep = [i for i, c in enumerate(cmds) if c[0] != "DBSIZE"]
            work.append(([cmds[i] for i in keep], [raw[i] for i in keep]))
        conns = [Raw(self.node.port) for _ in range(nconn)]
        self.to_close.extend(conns)

        def run(n):
            cmds, raw = work[n]
            conn = conns[n]
            payload = b"".join(enc(*c) for c in cmds)
            th = threading.Thread(target=conn.sock.sendall, args=(payload,))
            th.start()
            try:
                for i, e in enumerate(raw):
                    g = conn.read()
                    if g != e:
                        errors.append("connection %d, reply %d to %r: got %r, want %r"
                                      % (n, i, cmds[i][:3], g[:60], e[:60]))
                        return
            except Exception as ex:
                errors.append("connection %d: %r" % (n, ex))
            finally:
                th.join(60)

        threads = [threading.Thread(target=run, args=(n,)) for n in range(nconn)]
        for th in threads:
            th.start()
        for th in threads:
            th.join(120)
        self.assertEqual(errors, [])

    def test_forwarded_write_then_transaction(self):
        """SET k (forwarded to shard 0) then MGET k k2 (locks shard 0 first)
        in one pipeline, while other transactions keep the locks busy: the
        MGET must see the SET the same connection sent before it."""
        by = keys_per_shard("fw", 2)
        while True:
            conn = Raw(self.node.port)
            self.to_close.append(conn)
            mine = int_of(conn.call("CLIENT", "ID")) % NSHARDS
            if mine != 0:
                break
        k, k2 = by[0][0], by[mine][0]
        stop = threading.Event()
        errors = []

        def busy():
            c = self.node.client(socket_timeout=WAIT)
            try:
                while not stop.is_set():
                    c.mget([by[s][1] for s in range(NSHARDS)])
            except Exception as e:
                errors.append(repr(e))
            finally:
                c.close()

        threads = [threading.Thread(target=busy) for _ in range(2)]
        for th in threads:
            th.start()
        stale = []
        try:
            for i in range(2000):
                conn.send(enc("SET", k, i) + enc("MGET", k, k2))
                self.assertEqual(conn.read(), b"+OK\r\n")
                got = conn.read()
                if got != b"*2\r\n" + r_bulk(b"%d" % i) + b"$-1\r\n":
                    stale.append((i, got))
        finally:
            stop.set()
            for th in threads:
                th.join(60)
        self.assertEqual(errors, [])
        self.assertEqual(stale[:3], [], "%d of 2000 MGETs missed the SET before them"
                         % len(stale))


class RenameCopy(ShardTest):
    PAIRS = ((0, 1), (1, 0), (3, 2), (0, 3))

    def check_pair(self, src, dst, val, val2, same_shard=False):
        r = self.r
        self.assertEqual(shard_of(src) == shard_of(dst), same_shard)
        # RENAME keeps the TTL and removes the source.
        self.assertTrue(r.set(src, val, ex=1000))
        self.assertTrue(r.rename(src, dst))
        self.assertEqual(r.exists(src), 0)
        self.assertEqual(r.get(dst), val)
        self.assertTrue(990 <= r.ttl(dst) <= 1000, r.ttl(dst))
        # RENAME over an existing key with a TTL: the source's (none) wins.
        self.assertTrue(r.set(src, val2))
        self.assertTrue(r.rename(src, dst))
        self.assertEqual(r.exists(src), 0)
        self.assertEqual(r.get(dst), val2)
        self.assertEqual(r.ttl(dst), -1)
        # RENAMENX onto an existing key changes nothing.
        self.assertTrue(r.set(src, val, px=500000))
        self.assertFalse(r.renamenx(src, dst))
        self.assertEqual(r.get(src), val)
        self.assertTrue(0 < r.pttl(src) <= 500000)
        self.assertEqual(r.get(dst), val2)
        self.assertEqual(r.ttl(dst), -1)
        # RENAMENX onto a free name moves it, TTL included.
        self.assertEqual(r.delete(dst), 1)
        self.assertTrue(r.renamenx(src, dst))
        self.assertEqual(r.exists(src), 0)
        self.assertEqual(r.get(dst), val)
        self.assertTrue(0 < r.pttl(dst) <= 500000, r.pttl(dst))
        # A missing source is an error for both, and nothing appears.
        for cmd in ("RENAME", "RENAMENX"):
            with self.assertRaisesRegex(redis.ResponseError, "^no such key$"):
                r.execute_command(cmd, src, dst)
        self.assertEqual(r.exists(src), 0)
        self.assertEqual(r.get(dst), val)
        # COPY never removes its source, and copies the TTL.
        self.assertEqual(r.execute_command("COPY", dst, src), 1)
        self.assertEqual(r.get(dst), val)
        self.assertEqual(r.get(src), val)
        self.assertTrue(0 < r.pttl(src) <= 500000)
        self.assertEqual(r.execute_command("COPY", dst, src), 0)
        self.assertTrue(r.set(src, val2))
        self.assertEqual(r.execute_command("COPY", dst, src), 0)
        self.assertEqual(r.get(src), val2)
        self.assertEqual(r.ttl(src), -1)
        self.assertEqual(r.execute_command("COPY", dst, src, "REPLACE"), 1)
        self.assertEqual(r.get(src), val)
        self.assertTrue(0 < r.pttl(src) <= 500000)
        self.assertEqual(r.get(dst), val)
        # A copy is independent of its source.
        self.assertEqual(r.append(src, b"!"), len(val) + 1)
        self.assertEqual(r.get(dst), val)
        self.assertEqual(r.delete(src), 1)
        self.assertEqual(r.execute_command("COPY", src, dst, "REPLACE"), 0)
        self.assertEqual(r.get(dst), val)
        self.assertEqual(r.delete(src, dst), 1)

    def test_rename_renamenx_copy_across_shards(self):
        """RENAME, RENAMENX and COPY between shards (both lock orders), small
        and 1 MB values, TTLs carried, the source gone exactly when Redis
        says; memory back to its baseline afterwards."""
        base = self.used_memory()
        by = keys_per_shard("rc", 8)
        big = os.urandom(1 << 20)
        big2 = os.urandom(1 << 20) + b"x"
        i = 0
        for a, b in self.PAIRS:
            for val, val2 in ((b"small-value", b"other"), (big, big2), (b"s", big), (big, b"12")):
                with self.subTest(src_shard=a, dst_shard=b, size=len(val)):
                    self.check_pair(by[a][i % 8], by[b][i % 8], val, val2)
                i += 1
        # The control: names under one hash tag share a shard, so this runs
        # on one shard, with the same results.
        for val, val2 in ((b"small-value", b"other"), (big, big2)):
            with self.subTest(same_tag=True, size=len(val)):
                src, dst = "{rc-tag}.src", "{rc-tag}.dst"
                self.assertEqual(shard_of(src), shard_of(dst))
                self.check_pair(src, dst, val, val2, same_shard=True)
        self.assertEqual(self.r.dbsize(), 0)
        # Values moved between shards are accounted where they went: once
        # all are gone, memory is back where it started.
        self.assertTrue(wait_until(lambda: abs(self.used_memory() - base) < 256 * 1024),
                        "used_memory %d, baseline %d" % (self.used_memory(), base))


class Keyspace(ShardTest):
    def fill(self, prefix, n):
        pipe = self.r.pipeline(transaction=False)
        keys = ["%s:%d" % (prefix, i) for i in range(n)]
        for k in keys:
            pipe.set(k, "v")
        pipe.execute()
        counts = [0] * NSHARDS
        for k in keys:
            counts[shard_of(k)] += 1
        self.assertTrue(all(c > n // 8 for c in counts), counts)
        return set(k.encode() for k in keys)

    def full_scan(self, *args, r=None, between=None):
        r = r or self.r
        cursor, seen, calls = 0, [], 0
        while True:
            cursor, keys = r.scan(cursor, *args)
            seen.extend(keys)
            calls += 1
            self.assertLess(calls, 200000, "SCAN does not end")
            if cursor == 0:
                return seen
            if between:
                between()

    def test_dbsize_keys_randomkey_info(self):
        """DBSIZE, KEYS, RANDOMKEY and INFO keyspace see every shard."""
        keys = self.fill("key", 2000)
        self.assertEqual(self.r.dbsize(), 2000)
        self.assertEqual(set(self.r.keys("*")), keys)
        self.assertEqual(len(self.r.keys("*")), 2000)
        want = {k for k in keys if k.startswith(b"key:1")}
        self.assertEqual(set(self.r.keys("key:1*")), want)
        self.assertEqual(len(self.r.keys("key:1*")), len(want))
        self.assertEqual(self.r.keys("nomatch*"), [])
        self.assertEqual(self.r.info("keyspace")["db0"]["keys"], self.r.dbsize())
        shards = set()
        for _ in range(300):
            k = self.r.randomkey()
            self.assertIn(k, keys)
            shards.add(shard_of(k))
        self.assertEqual(shards, set(range(NSHARDS)), "RANDOMKEY kept to some shards")
        # Keys of every shard go, and DBSIZE, INFO agree.
        self.r.delete(*list(keys)[:500])
        self.assertEqual(self.r.dbsize(), 1500)
        self.assertEqual(self.r.info("keyspace")["db0"]["keys"], 1500)

    def test_flushall_sync_and_async(self):
        """FLUSHALL and FLUSHALL ASYNC empty every shard at once; keys written
        afterwards survive the lazy free."""
        base = self.used_memory()
        for mode in ("sync", "async"):
            with self.subTest(mode=mode):
                keys = self.fill("f" + mode, 3000)
                self.assertEqual(self.r.dbsize(), 3000)
                self.assertTrue(self.r.flushall(asynchronous=(mode == "async")))
                self.assertEqual(self.r.dbsize(), 0)
                self.assertEqual(self.r.keys("*"), [])
                self.assertIsNone(self.r.randomkey())
                self.assertEqual(self.full_scan(), [])
                self.assertNotIn("db0", self.r.info("keyspace"))
                sample = sorted(keys)[:200]
                self.assertEqual(self.r.mget(sample), [None] * 200)
                self.assertEqual(self.r.exists(*sample), 0)
                # Keys written after the flush are kept (a lazy free must
                # not take them).
                self.r.mset({k: "new" for k in sample})
                time.sleep(0.3)
                self.assertEqual(self.r.mget(sample), [b"new"] * 200)
                self.assertEqual(self.r.dbsize(), 200)
                self.r.delete(*sample)
                self.assertTrue(wait_until(lambda: abs(self.used_memory() - base) < 512 * 1024),
                                "used_memory %d, baseline %d" % (self.used_memory(), base))

    def test_scan_counts_match_type(self):
        """A full SCAN (COUNT 1, 10, 1000; MATCH; TYPE) returns every key."""
        keys = self.fill("s", 2000)
        for count in (1, 10, 1000):
            with self.subTest(count=count):
                seen = self.full_scan("*", count)
                self.assertEqual(set(seen), keys)
                self.assertLessEqual(set(seen), keys)
        m = self.full_scan("s:1*", 10)
        self.assertEqual(set(m), {k for k in keys if k.startswith(b"s:1")})
        # redis-py's scan(cursor, match, count, _type)
        self.assertEqual(set(self.full_scan(None, 100, "string")), keys)
        self.assertEqual(self.full_scan(None, 100, "hash"), [])
        self.assertEqual(set(self.full_scan("s:2*", 7, "STRING")),
                         {k for k in keys if k.startswith(b"s:2")})

    def test_scan_while_inserting(self):
        """Keys present from start to end are all returned while another
        client inserts between SCAN calls (tables grow and rehash)."""
        keys = self.fill("pre", 5000)
        writer = self.client()
        n = [0]

        def insert():
            pipe = writer.pipeline(transaction=False)
            for _ in range(25):
                pipe.set("new:%d" % n[0], "x")
                n[0] += 1
            pipe.execute()

        for count in (10, 1000):
            with self.subTest(count=count):
                seen = set(self.full_scan("*", count, between=insert))
                missing = keys - seen
                self.assertEqual(len(missing), 0, "never returned: %r" % sorted(missing)[:10])
        self.assertGreater(n[0], 5000, "the keyspace hardly grew during SCAN")
        self.assertEqual(self.r.dbsize(), 5000 + n[0])


class Clients(ShardTest):
    def open_named(self, n, first=0):
        conns = []
        for i in range(first, first + n):
            c = Raw(self.node.port)
            self.to_close.append(c)
            self.assertEqual(c.call("CLIENT", "SETNAME", "c%d" % i), b"+OK\r\n")
            c.id = int_of(c.call("CLIENT", "ID"))
            c.name = "c%d" % i
            conns.append(c)
        return conns

    def listed(self, conn, field="name"):
        out = {}
        for line in bulk_text(conn.call("CLIENT", "LIST")).splitlines():
            f = dict(kv.split("=", 1) for kv in line.split(" "))
            out[int(f["id"])] = f[field]
        return out

    def test_client_list_and_kill_across_shards(self):
        """CLIENT LIST lists the clients of every shard; CLIENT KILL (ip:port,
        ID, SKIPME yes) closes connections that live on other shards."""
        conns = self.open_named(40)
        shards = {c.id % NSHARDS for c in conns}
        # 40 connections over 4 reuseport listeners: missing a shard has
        # odds of about 4e-5; open more rather than be flaky.
        while shards != set(range(NSHARDS)) and len(conns) < 400:
            conns += self.open_named(1, len(conns))
            shards = {c.id % NSHARDS for c in conns}
        self.assertEqual(shards, set(range(NSHARDS)))
        me = conns[0]
        ids = {c.id for c in conns}
        # Only the test's own sockets (a probe of the harness may still be
        # closing when the test starts).
        self.assertTrue(wait_until(lambda: set(self.listed(me)) == ids), self.listed(me))
        listed = self.listed(me)
        addrs = self.listed(me, "addr")
        for c in conns:
            self.assertEqual(listed[c.id], c.name)
            # The owner shard's socket, read by the listing shard.
            self.assertEqual(addrs[c.id], "%s:%d" % c.sock.getsockname())

        # The old form, CLIENT KILL ip:port, on a connection of another shard.
        gone = next(c for c in reversed(conns) if c.id % NSHARDS != me.id % NSHARDS)
        self.assertEqual(me.call("CLIENT", "KILL", "%s:%d" % gone.sock.getsockname()),
                         b"+OK\r\n")
        self.assertTrue(gone.closed_within(WAIT), "killed connection stayed open")
        conns.remove(gone)
        ids.discard(gone.id)

        # KILL ID of a connection on another shard.
        victim = next(c for c in conns if c.id % NSHARDS != me.id % NSHARDS)
        self.assertEqual(me.call("CLIENT", "KILL", "ID", victim.id), b":1\r\n")
        self.assertTrue(victim.closed_within(WAIT), "killed connection stayed open")
        self.assertTrue(wait_until(lambda: set(self.listed(me)) == ids - {victim.id}),
                        self.listed(me))
        self.assertEqual(me.call("CLIENT", "KILL", "ID", victim.id), b":0\r\n")
        others = [c for c in conns if c is not me and c is not victim]
        for c in others:
            self.assertEqual(c.call("PING"), b"+PONG\r\n")

        # SKIPME yes alone: every other connection, of every shard.
        self.assertEqual(me.call("CLIENT", "KILL", "SKIPME", "yes"), r_int(len(others)))
        for c in others:
            self.assertTrue(c.closed_within(WAIT), "connection %d stayed open" % c.id)
        self.assertEqual(me.call("PING"), b"+PONG\r\n")
        self.assertTrue(wait_until(lambda: list(self.listed(me)) == [me.id]), self.listed(me))


class Config(ShardTest):
    def test_config_set_seen_by_every_shard(self):
        """CONFIG SET from one shard's client is what CONFIG GET says on all."""
        per = [self.client_on(s) for s in range(NSHARDS)]
        for setter, (mm, to, hz) in ((0, (123456789, 321, 17)), (3, (987654321, 45, 33))):
            self.assertTrue(per[setter].config_set("maxmemory", mm))
            self.assertTrue(per[setter].config_set("timeout", to))
            self.assertTrue(per[setter].config_set("hz", hz))
            for s, c in enumerate(per):
                got = c.config_get("*")
                self.assertEqual(
                    (got["maxmemory"], got["timeout"], got["hz"]), (str(mm), str(to), str(hz)),
                    "shard %d after CONFIG SET on shard %d" % (s, setter))
        # Several pairs at once, all or nothing, on every shard.
        with self.assertRaises(redis.ResponseError):
            per[1].execute_command("CONFIG", "SET", "timeout", "7", "hz", "notanumber")
        for c in per:
            self.assertEqual(c.config_get("timeout")["timeout"], "45")
        self.assertTrue(per[2].execute_command("CONFIG", "SET", "timeout", "0", "maxmemory", "0"))
        for c in per:
            got = c.config_get("*")
            self.assertEqual((got["timeout"], got["maxmemory"]), ("0", "0"))

    def test_config_resetstat_every_shard(self):
        """INFO commandstats sums every shard; CONFIG RESETSTAT zeroes all."""
        per = [self.client_on(s) for s in range(NSHARDS)]
        keys = spread_keys("st", 8)
        for c in per:
            for k in keys:  # local on one shard, forwarded to the others
                c.set(k, "1")
                c.get(k)
            c.get("missing-key")
        stats = self.r.info("commandstats")
        self.assertEqual(stats["cmdstat_set"]["calls"], 4 * 8)
        self.assertEqual(stats["cmdstat_get"]["calls"], 4 * 9)
        info = self.r.info("stats")
        self.assertGreaterEqual(info["keyspace_hits"], 32)
        self.assertGreaterEqual(info["keyspace_misses"], 4)
        self.assertTrue(per[1].config_resetstat())
        for c in per:
            stats = c.info("commandstats")
            self.assertEqual(set(stats) - {"cmdstat_config|resetstat", "cmdstat_info"}, set(),
                             stats)
            info = c.info("stats")
            self.assertEqual(info["keyspace_hits"], 0)
            self.assertEqual(info["keyspace_misses"], 0)
            self.assertLess(info["total_commands_processed"], 10)
        # Counting starts again on every shard.
        for c in per:
            for k in keys:
                c.get(k)
        self.assertEqual(self.r.info("commandstats")["cmdstat_get"]["calls"], 32)


class Disconnect(ShardTest):
    def test_disconnect_while_transaction_waits(self):
        """200 clients send an MSET over every shard and close at once, while
        other transactions keep the locks busy: every write still happens,
        and the node stays healthy."""
        # Contention: other transactions keep the shard locks busy, so the
        # MSETs below often wait for theirs.
        stop = threading.Event()
        errors = []
        spread = spread_keys("busy", 16)

        def busy():
            c = self.node.client(socket_timeout=WAIT)
            try:
                while not stop.is_set():
                    c.mget(spread)
                    c.mset({k: "b" for k in spread[:8]})
            except Exception as e:
                errors.append(repr(e))
            finally:
                c.close()

        threads = [threading.Thread(target=busy) for _ in range(2)]
        for th in threads:
            th.start()
        expect = {}
        try:
            for i in range(200):
                ks = spread_keys("dc%d" % i, 8)
                args = []
                for j, k in enumerate(ks):
                    v = b"%d.%d" % (i, j)
                    if i % 10 == 0 and j == 1:
                        v *= 40000  # a big bulk argument, held by reference
                    args += [k, v]
                    expect[k] = v
                s = socket.create_connection(("127.0.0.1", self.node.port), timeout=WAIT)
                # Sometimes more requests queued behind it, sometimes a
                # half request: all of it is dropped with the client.
                tail = (b"", enc("GET", ks[0]), b"*3\r\n$3\r\nSET\r\n")[i % 3]
                s.sendall(enc("MSET", *args) + tail)
                s.close()
        finally:
            stop.set()
            for th in threads:
                th.join(60)
        self.assertEqual(errors, [])
        keys = list(expect)

        def all_written():
            return self.r.mget(keys) == [expect[k] for k in keys]

        self.assertTrue(wait_until(all_written), "some MSETs of departed clients were lost")
        self.assertEqual(self.r.dbsize(), len(keys) + 8)
        info = self.r.info()
        self.assertEqual(info["db0"]["keys"], len(keys) + 8)
        self.assertTrue(wait_until(lambda: self.r.info("clients")["connected_clients"] == 1))
        self.assertEqual(self.r.ping(), True)


if __name__ == "__main__":
    unittest.main()
