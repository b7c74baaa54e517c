#!/usr/bin/python3
"""Transactions through a real client: MULTI, EXEC, DISCARD, WATCH and
UNWATCH as redis-py uses them, alone and under contention, as Redis 7.0 does.

Goal: a transactional pipeline returns each command's reply in order, with a
runtime error in its place and the other commands run; an error found while
queueing discards the whole transaction (EXECABORT); a WATCHed key written by
another client, deleted, flushed, or expired since WATCH makes EXEC fail
(WatchError); WATCH-based read-modify-write loops lose no update when several
processes contend for the same keys; and no client ever sees a transaction
half done, even when its keys live on different shards.

Method: each test starts its own server on a free loopback port (through
cairn_test) and talks to it with redis-py pipelines (transaction=True),
single-connection clients for the raw MULTI/EXEC sequence, and separate
processes (multiprocessing, fork) for contention: 4 processes incrementing
one counter with WATCH/GET/MULTI/SET/EXEC and retries, 4 moving units
between two accounts while a checker reads both inside MULTI, and one
process running MULTI INCR k1 .. INCR k8 EXEC while others read the eight
keys. The server under test is cairn-node by default (flags from
$CAIRN_NODE_ARGS); with TXN_TEST_TARGET=redis it is redis-server 7.0, and
every test must pass there too. Exits 77 (skip) when redis-py is missing.

    /usr/bin/python3 tests/integration/test_transactions.py -v
    TXN_TEST_TARGET=redis /usr/bin/python3 tests/integration/test_transactions.py -v
"""
import multiprocessing
import os
import random
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cairn_test  # noqa: E402

try:
    import redis
except ImportError:
    print("redis-py is not installed (apt-get install python3-redis): skipped")
    sys.exit(77)

TARGET = os.environ.get("TXN_TEST_TARGET", "cairn")
if TARGET not in ("cairn", "redis"):
    print("TXN_TEST_TARGET must be cairn or redis, not %r" % TARGET)
    sys.exit(2)
ON_REDIS = TARGET == "redis"

# Redis 7.0's texts, checked on redis-server 7.0.15.
EXECABORT = "Transaction discarded because of previous errors."
EXECABORT_EXEC_ARITY = ("Transaction discarded because of: "
                        "wrong number of arguments for 'exec' command")
EXEC_WITHOUT_MULTI = "EXEC without MULTI"
DISCARD_WITHOUT_MULTI = "DISCARD without MULTI"
NESTED = "MULTI calls can not be nested"
WATCH_IN_MULTI = "WATCH inside MULTI is not allowed"
NOT_INTEGER = "value is not an integer or out of range"
WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"

# Contention: processes, and successful transactions each.
PROCS = 4
INCREMENTS = 200
TRANSFERS = 150
# A WATCH loop gives up after this many attempts (a server that always
# aborts would otherwise spin forever).
MAX_ATTEMPTS = 20000
# Worker processes must be done within this many seconds.
JOIN_TIMEOUT = 60

MP = multiprocessing.get_context("fork")


def server(*args):
    """Starts the server under test."""
    return cairn_test.redis_server(*args) if ON_REDIS else cairn_test.cairn(*args)


def connect(port):
    return redis.Redis(host="127.0.0.1", port=port, socket_timeout=20)


def one_connection(srv):
    """A client on one connection that returns replies as parsed, without
    redis-py's per-command conversions (which would choke on QUEUED);
    error replies still raise, EXECABORT as ExecAbortError."""
    r = srv.client(single_connection_client=True)
    r.response_callbacks.clear()
    return r


# ---- worker processes (forked; each reports one result on a queue) ----

def run_worker(q, name, fn, *args):
    try:
        q.put((name, "ok", fn(*args)))
    except BaseException as e:  # reported to the test, which fails
        q.put((name, "error", "%s: %r" % (type(e).__name__, e)))


def incr_worker(port, key, n):
    """n increments of key by WATCH/GET/MULTI/SET/EXEC, retrying on
    WatchError; returns the number of aborted attempts."""
    r = connect(port)
    aborted = 0
    with r.pipeline() as p:
        for _ in range(n):
            for _ in range(MAX_ATTEMPTS):
                try:
                    p.watch(key)
                    v = int(p.get(key) or 0)
                    time.sleep(0.001)  # widen the window between read and write
                    p.multi()
                    p.set(key, v + 1)
                    p.execute()
                    break
                except redis.WatchError:
                    aborted += 1
            else:
                raise AssertionError("no increment went through in %d attempts" % MAX_ATTEMPTS)
    return aborted


def transfer_worker(port, a, b, n, seed):
    """n transfers of one unit between accounts a and b, in a random
    direction, each a WATCH-based transaction; returns (net units moved from
    a to b, aborted attempts)."""
    r = connect(port)
    rnd = random.Random(seed)
    net = aborted = 0
    with r.pipeline() as p:
        for _ in range(n):
            src, dst = (a, b) if rnd.random() < 0.5 else (b, a)
            for _ in range(MAX_ATTEMPTS):
                try:
                    p.watch(src, dst)
                    vs, vd = int(p.get(src)), int(p.get(dst))
                    p.multi()
                    p.set(src, vs - 1)
                    p.set(dst, vd + 1)
                    p.execute()
                    break
                except redis.WatchError:
                    aborted += 1
            else:
                raise AssertionError("no transfer went through in %d attempts" % MAX_ATTEMPTS)
            net += 1 if src == a else -1
    return net, aborted


def sum_checker(port, a, b, total, stop):
    """Reads a and b inside MULTI until stop is set; returns (reads, the
    sums that were not total)."""
    r = connect(port)
    reads, bad = 0, []
    while not stop.is_set() or reads == 0:
        p = r.pipeline(transaction=True)
        p.get(a)
        p.get(b)
        va, vb = p.execute()
        reads += 1
        if int(va) + int(vb) != total:
            bad.append((va, vb))
    return reads, bad[:10]


def multi_incr_writer(port, keys, n, ready, counts):
    """Waits for the readers, then runs MULTI; INCR each key; EXEC at least
    n times and until every reader has read 100 times meanwhile (at most
    20 s); returns (transactions run, the replies of the last EXEC)."""
    for ev in ready:
        if not ev.wait(JOIN_TIMEOUT):
            raise AssertionError("a reader did not start")
    r = connect(port)
    start = [c.value for c in counts]
    deadline = time.time() + 20
    done, last = 0, None
    while done < n or (any(c.value - s < 100 for c, s in zip(counts, start))
                       and time.time() < deadline):
        p = r.pipeline(transaction=True)
        for k in keys:
            p.incr(k)
        last = p.execute()
        done += 1
    return done, last


def mget_reader(port, keys, ready, stop, in_multi, count):
    """Reads all keys (one MGET, or GETs inside MULTI) until stop is set;
    returns (reads, distinct values seen, reads whose values differ)."""
    r = connect(port)
    ready.set()
    reads, seen, torn = 0, set(), []
    while not stop.is_set():
        if in_multi:
            p = r.pipeline(transaction=True)
            for k in keys:
                p.get(k)
            vals = p.execute()
        else:
            vals = r.mget(keys)
        reads += 1
        count.value = reads
        seen.add(vals[0])
        if len(set(vals)) != 1:
            torn.append(vals)
    return reads, len(seen), torn[:10]


class Workers:
    """Starts functions in forked processes and collects their results."""

    def __init__(self):
        self.q = MP.Queue()
        self.procs = []

    def start(self, name, fn, *args):
        p = MP.Process(target=run_worker, args=(self.q, name, fn) + args, daemon=True)
        p.start()
        self.procs.append(p)

    def results(self, test):
        """Waits for every process; returns {name: result}, failing the test
        on a worker's exception, a crash or a timeout."""
        out = {}
        deadline = time.time() + JOIN_TIMEOUT
        for _ in self.procs:
            try:
                name, status, value = self.q.get(timeout=max(0.1, deadline - time.time()))
            except Exception:
                break
            test.assertEqual(status, "ok", "worker %s: %s" % (name, value))
            out[name] = value
        for p in self.procs:
            p.join(max(0.1, deadline - time.time()))
            if p.is_alive():
                p.kill()
                p.join()
        test.assertEqual(len(out), len(self.procs), "a worker did not report")
        return out


class TestPipelineTransaction(unittest.TestCase):
    def test_mixed_commands(self):
        with server() as srv:
            r = srv.client()
            r.set("t:pre", "before")
            p = r.pipeline(transaction=True)
            p.set("t:a", "1")
            p.incrby("t:a", 41)
            p.get("t:a")
            p.get("t:nokey")
            p.mset({"t:b": "x", "t:c": "y", "t:d": "z"})
            p.mget(["t:b", "t:c", "t:d", "t:nokey"])
            p.append("t:pre", "+after")
            p.rpush("t:list", "a", "b", "c")
            p.lrange("t:list", 0, -1)
            p.hset("t:hash", mapping={"f": "v", "g": "w"})
            p.hgetall("t:hash")
            p.sadd("t:set", "m", "n")
            p.scard("t:set")
            p.zadd("t:zset", {"one": 1, "two": 2})
            p.zrange("t:zset", 0, -1, withscores=True)
            p.delete("t:b", "t:c", "t:nokey")
            p.exists("t:a", "t:b", "t:d")
            p.rename("t:d", "t:e")
            p.dbsize()
            self.assertEqual(p.execute(), [
                True, 42, b"42", None, True, [b"x", b"y", b"z", None], 12, 3,
                [b"a", b"b", b"c"], 2, {b"f": b"v", b"g": b"w"}, 2, 2, 2,
                [(b"one", 1.0), (b"two", 2.0)], 2, 2, True, 7])
            self.assertEqual(r.get("t:pre"), b"before+after")
            self.assertEqual(r.get("t:e"), b"z")
            self.assertEqual(r.exists("t:b", "t:c", "t:d"), 0)

    def test_runtime_error_in_place(self):
        with server() as srv:
            r = srv.client()
            r.set("t:str", "abc")
            p = r.pipeline(transaction=True)
            p.incr("t:str")
            p.incr("t:cnt")
            p.lpush("t:str", "x")
            p.set("t:after", "1")
            p.incr("t:cnt")
            res = p.execute(raise_on_error=False)
            self.assertEqual(len(res), 5)
            self.assertIsInstance(res[0], redis.exceptions.ResponseError)
            self.assertEqual(str(res[0]), NOT_INTEGER)
            self.assertEqual(res[1], 1)
            self.assertIsInstance(res[2], redis.exceptions.ResponseError)
            self.assertEqual(str(res[2]), WRONGTYPE)
            self.assertEqual(res[3:], [True, 2])
            self.assertEqual(r.get("t:str"), b"abc")
            self.assertEqual(r.get("t:cnt"), b"2")
            self.assertEqual(r.get("t:after"), b"1")

            # By default redis-py raises the first error, after EXEC: the
            # other commands have run all the same.
            p = r.pipeline(transaction=True)
            p.incr("t:cnt")
            p.incr("t:str")
            p.set("t:after", "2")
            with self.assertRaises(redis.exceptions.ResponseError) as cm:
                p.execute()
            self.assertIn(NOT_INTEGER, str(cm.exception))
            self.assertEqual(r.get("t:cnt"), b"3")
            self.assertEqual(r.get("t:after"), b"2")

    def test_thousand_commands(self):
        with server() as srv:
            r = srv.client()
            p = r.pipeline(transaction=True)
            want = []
            for i in range(1000):
                if i % 4 == 0:
                    p.incr("t:n")
                    want.append(i // 4 + 1)
                elif i % 4 == 1:
                    p.rpush("t:l", i)
                    want.append(i // 4 + 1)
                elif i % 4 == 2:
                    p.set("t:k%d" % i, i)
                    want.append(True)
                else:
                    p.get("t:k%d" % (i - 1))
                    want.append(str(i - 1).encode())
            res = p.execute()
            self.assertEqual(len(res), 1000)
            self.assertEqual(res, want)
            self.assertEqual(r.llen("t:l"), 250)
            self.assertEqual(r.lrange("t:l", 0, 2), [b"1", b"5", b"9"])
            self.assertEqual(r.dbsize(), 2 + 250)


class TestQueueingErrors(unittest.TestCase):
    def test_wrong_arity_aborts_pipeline(self):
        with server() as srv:
            r = srv.client()
            p = r.pipeline(transaction=True)
            p.set("t:a", "1")
            p.execute_command("GET")
            p.set("t:b", "2")
            # redis-py 4 reads EXECABORT (ExecAbortError) and raises the
            # queueing error that caused it, a ResponseError.
            with self.assertRaises(redis.exceptions.ResponseError) as cm:
                p.execute()
            self.assertIn("wrong number of arguments for 'get' command", str(cm.exception))
            self.assertEqual(r.exists("t:a", "t:b"), 0)
            # The pool's connection is usable, out of MULTI.
            self.assertTrue(r.set("t:c", "3"))
            p = r.pipeline(transaction=True)
            p.get("t:c")
            self.assertEqual(p.execute(), [b"3"])

    def test_execabort_on_one_connection(self):
        with server() as srv:
            r = one_connection(srv)
            self.assertEqual(r.execute_command("MULTI"), b"OK")
            self.assertEqual(r.execute_command("SET", "t:a", "1"), b"QUEUED")
            with self.assertRaises(redis.exceptions.ResponseError) as cm:
                r.execute_command("GET")
            self.assertEqual(str(cm.exception), "wrong number of arguments for 'get' command")
            with self.assertRaises(redis.exceptions.ResponseError) as cm:
                r.execute_command("NOSUCHCOMMAND", "t:a")
            self.assertTrue(str(cm.exception).startswith("unknown command 'NOSUCHCOMMAND'"))
            self.assertEqual(r.execute_command("SET", "t:b", "2"), b"QUEUED")
            with self.assertRaises(redis.exceptions.ExecAbortError) as cm:
                r.execute_command("EXEC")
            self.assertEqual(str(cm.exception), EXECABORT)
            # Out of MULTI: nothing ran, commands run at once.
            with self.assertRaises(redis.exceptions.ResponseError) as cm:
                r.execute_command("EXEC")
            self.assertEqual(str(cm.exception), EXEC_WITHOUT_MULTI)
            self.assertEqual(r.exists("t:a", "t:b"), 0)
            self.assertEqual(r.execute_command("SET", "t:a", "now"), b"OK")

            # EXEC with an argument ends the transaction at once.
            r.execute_command("MULTI")
            r.execute_command("SET", "t:c", "1")
            with self.assertRaises(redis.exceptions.ExecAbortError) as cm:
                r.execute_command("EXEC", "x")
            self.assertEqual(str(cm.exception), EXECABORT_EXEC_ARITY)
            with self.assertRaises(redis.exceptions.ResponseError) as cm:
                r.execute_command("DISCARD")
            self.assertEqual(str(cm.exception), DISCARD_WITHOUT_MULTI)
            self.assertEqual(r.exists("t:c"), 0)

    def test_nested_multi_and_watch_inside_multi_do_not_abort(self):
        with server() as srv:
            r = one_connection(srv)
            r.execute_command("MULTI")
            r.execute_command("SET", "t:a", "1")
            with self.assertRaises(redis.exceptions.ResponseError) as cm:
                r.execute_command("MULTI")
            self.assertEqual(str(cm.exception), NESTED)
            with self.assertRaises(redis.exceptions.ResponseError) as cm:
                r.execute_command("WATCH", "t:a")
            self.assertEqual(str(cm.exception), WATCH_IN_MULTI)
            self.assertEqual(r.execute_command("INCR", "t:a"), b"QUEUED")
            self.assertEqual(r.execute_command("EXEC"), [b"OK", 2])
            self.assertEqual(r.get("t:a"), b"2")

    def test_discard(self):
        with server() as srv:
            r = one_connection(srv)
            r.set("t:a", "1")
            r.execute_command("MULTI")
            r.execute_command("SET", "t:a", "2")
            r.execute_command("DEL", "t:a")
            self.assertEqual(r.execute_command("DISCARD"), b"OK")
            self.assertEqual(r.get("t:a"), b"1")
            with self.assertRaises(redis.exceptions.ResponseError) as cm:
                r.execute_command("DISCARD")
            self.assertEqual(str(cm.exception), DISCARD_WITHOUT_MULTI)


class TestWatch(unittest.TestCase):
    def watched_exec(self, r, key, between):
        """WATCH key, call between(), then MULTI; SET key; EXEC. Returns
        True if EXEC ran, False on WatchError."""
        with r.pipeline() as p:
            p.watch(key)
            between(p)
            p.multi()
            p.set(key, "mine")
            try:
                self.assertEqual(p.execute(), [True])
                return True
            except redis.WatchError:
                return False

    def test_other_client_write_aborts(self):
        with server() as srv:
            r, other = srv.client(), srv.client()
            r.set("t:w", "1")
            self.assertFalse(self.watched_exec(r, "t:w", lambda p: other.set("t:w", "2")))
            self.assertEqual(r.get("t:w"), b"2")
            # The same value is still a write.
            self.assertFalse(self.watched_exec(r, "t:w", lambda p: other.set("t:w", "2")))
            # A missing key another client creates.
            self.assertFalse(self.watched_exec(r, "t:new", lambda p: other.set("t:new", "x")))
            self.assertEqual(r.get("t:new"), b"x")
            # No write, or a write to another key: EXEC runs.
            self.assertTrue(self.watched_exec(r, "t:w", lambda p: other.get("t:w")))
            self.assertTrue(self.watched_exec(r, "t:w", lambda p: other.set("t:other", "1")))
            self.assertEqual(r.get("t:w"), b"mine")

    def test_own_write_before_multi_aborts(self):
        with server() as srv:
            r = srv.client()
            r.set("t:w", "1")
            self.assertFalse(self.watched_exec(r, "t:w", lambda p: p.set("t:w", "2")))
            self.assertEqual(r.get("t:w"), b"2")

    def test_del_by_other_aborts(self):
        with server() as srv:
            r, other = srv.client(), srv.client()
            r.set("t:w", "1")
            self.assertFalse(self.watched_exec(r, "t:w", lambda p: other.delete("t:w")))
            self.assertEqual(r.get("t:w"), None)
            # Deleting it again, now missing, changes nothing.
            self.assertTrue(self.watched_exec(r, "t:gone", lambda p: other.delete("t:gone")))

    def test_flushall_by_other_aborts(self):
        with server() as srv:
            r, other = srv.client(), srv.client()
            r.set("t:w", "1")
            self.assertFalse(self.watched_exec(r, "t:w", lambda p: other.flushall()))
            self.assertEqual(r.dbsize(), 0)
            r.set("t:w", "1")
            self.assertFalse(self.watched_exec(r, "t:w", lambda p: other.flushdb()))
            # Redis 7.0: a flush does not touch a watched key that did not exist.
            other.set("t:unrelated", "1")
            self.assertTrue(self.watched_exec(r, "t:w", lambda p: other.flushall()))
            self.assertEqual(r.get("t:w"), b"mine")

    def test_expire_by_other_aborts(self):
        with server() as srv:
            r, other = srv.client(), srv.client()
            r.set("t:w", "1")
            self.assertFalse(self.watched_exec(r, "t:w", lambda p: other.expire("t:w", 100)))
            self.assertEqual(r.ttl("t:w"), 100)
            self.assertFalse(self.watched_exec(r, "t:w", lambda p: other.persist("t:w")))
            # PERSIST of a key without a TTL changes nothing.
            r.set("t:w", "1")
            self.assertTrue(self.watched_exec(r, "t:w", lambda p: other.persist("t:w")))

    def test_eviction_aborts(self):
        """A watched key the node evicts (volatile-ttl takes the one key with
        a TTL once maxmemory is tiny) fails EXEC."""
        with server() as srv:
            r, other = srv.client(), srv.client()
            other.set("t:other", "x" * 1000)
            r.set("t:w", "v" * 1000, ex=1000)
            with r.pipeline() as p:
                p.watch("t:w")
                other.config_set("maxmemory-policy", "volatile-ttl")
                other.config_set("maxmemory", 1)
                self.assertTrue(cairn_test.wait_until(lambda: other.exists("t:w") == 0, 5))
                other.config_set("maxmemory", 0)
                self.assertEqual(other.get("t:other"), b"x" * 1000)
                p.multi()
                p.get("t:other")
                with self.assertRaises(redis.WatchError):
                    p.execute()

    def test_sort_store_reading_a_watched_key_is_no_change(self):
        """SORT ... STORE only reads its source: a WATCH of the source does
        not fail EXEC (Redis 7.0 looks the source up for writing, which marks
        nothing modified), while a WATCH of the destination does."""
        with server() as srv:
            r, other = srv.client(), srv.client()
            other.rpush("{s}src", 3, 1, 2)
            for watched, fails in (("{s}src", False), ("{s}dst", True)):
                with r.pipeline() as p:
                    p.watch(watched)
                    self.assertEqual(other.sort("{s}src", store="{s}dst"), 3)
                    p.multi()
                    p.get("{s}x")
                    if fails:
                        with self.assertRaises(redis.WatchError):
                            p.execute()
                    else:
                        self.assertEqual(p.execute(), [None])
            self.assertEqual(r.lrange("{s}dst", 0, -1), [b"1", b"2", b"3"])

    def test_key_expiring_after_watch_aborts(self):
        """Redis 7.0.15 fails EXEC when a key alive at WATCH has expired by
        EXEC, whether or not anything deleted it meanwhile."""
        with server() as srv:
            r = srv.client()
            for touch in (False, True):
                key = "t:exp:%s" % touch
                # The key must be alive when WATCH reaches the server: PTTL
                # after WATCH says so; a slow machine retries with more time.
                for ttl in (100, 400, 1600, 6400):
                    r.set(key, "v", px=ttl)
                    with r.pipeline() as p:
                        p.watch(key)
                        if p.pttl(key) <= 0:
                            continue
                        time.sleep(3 * ttl / 1000.0)
                        if touch:
                            self.assertEqual(srv.client().exists(key), 0)
                        p.multi()
                        p.set(key, "mine")
                        with self.assertRaises(redis.WatchError):
                            p.execute()
                        break
                else:
                    self.fail("could not WATCH %s while it was alive" % key)
                self.assertIsNone(r.get(key))

            # A key already expired when WATCHed is no change: EXEC runs.
            r.set("t:expired", "v", px=10)
            time.sleep(0.1)
            self.assertTrue(self.watched_exec(r, "t:expired", lambda p: None))
            self.assertEqual(r.get("t:expired"), b"mine")

    def test_unwatch_discard_and_exec_forget_keys(self):
        with server() as srv:
            r, other = srv.client(), srv.client()
            r.set("t:w", "1")

            def unwatch_then_write(p):
                p.unwatch()
                other.set("t:w", "2")
            self.assertTrue(self.watched_exec(r, "t:w", unwatch_then_write))

            # UNWATCH after the write also saves the transaction.
            def write_then_unwatch(p):
                other.set("t:w", "3")
                p.unwatch()
            self.assertTrue(self.watched_exec(r, "t:w", write_then_unwatch))

            # EXEC and DISCARD unwatch: on one connection, a second
            # transaction is not affected by a write after the first.
            c = one_connection(srv)
            c.execute_command("WATCH", "t:w")
            c.execute_command("MULTI")
            c.execute_command("GET", "t:w")
            self.assertEqual(c.execute_command("EXEC"), [b"mine"])
            other.set("t:w", "4")
            c.execute_command("MULTI")
            c.execute_command("GET", "t:w")
            self.assertEqual(c.execute_command("EXEC"), [b"4"])
            c.execute_command("WATCH", "t:w")
            c.execute_command("MULTI")
            self.assertEqual(c.execute_command("DISCARD"), b"OK")
            other.set("t:w", "5")
            c.execute_command("MULTI")
            c.execute_command("GET", "t:w")
            self.assertEqual(c.execute_command("EXEC"), [b"5"])
            # While an UNWATCH queued inside MULTI comes too late.
            c.execute_command("WATCH", "t:w")
            other.set("t:w", "6")
            c.execute_command("MULTI")
            self.assertEqual(c.execute_command("UNWATCH"), b"QUEUED")
            self.assertIsNone(c.execute_command("EXEC"))

    def test_watch_several_keys(self):
        with server() as srv:
            r, other = srv.client(), srv.client()
            keys = ["t:k%d" % i for i in range(16)]
            r.mset({k: "0" for k in keys})
            for victim in (keys[0], keys[7], keys[15]):
                with r.pipeline() as p:
                    p.watch(*keys)
                    other.incr(victim)
                    p.multi()
                    p.mset({k: "x" for k in keys})
                    with self.assertRaises(redis.WatchError):
                        p.execute()
            with r.pipeline() as p:
                p.watch(*keys)
                other.mget(keys)
                p.multi()
                p.mset({k: "x" for k in keys})
                self.assertEqual(p.execute(), [True])
            self.assertEqual(set(r.mget(keys)), {b"x"})


class TestContention(unittest.TestCase):
    def test_counter_no_lost_update(self):
        with server() as srv:
            w = Workers()
            for i in range(PROCS):
                w.start("incr%d" % i, incr_worker, srv.port, "t:counter", INCREMENTS)
            res = w.results(self)
            self.assertEqual(srv.client().get("t:counter"), str(PROCS * INCREMENTS).encode())
            # With a 1 ms window between GET and EXEC, some must have raced.
            self.assertGreater(sum(res.values()), 0, "no transaction was ever aborted")

    def test_transfers_keep_the_sum(self):
        with server() as srv:
            r = srv.client()
            total = 1000
            r.mset({"acct:1": total // 2, "acct:2": total // 2})
            stop = MP.Event()
            checker = Workers()
            checker.start("checker", sum_checker, srv.port, "acct:1", "acct:2", total, stop)
            w = Workers()
            for i in range(PROCS):
                w.start("move%d" % i, transfer_worker, srv.port, "acct:1", "acct:2",
                        TRANSFERS, 1000 + i)
            try:
                res = w.results(self)
            finally:
                stop.set()
            reads, bad = checker.results(self)["checker"]
            self.assertEqual(bad, [], "sums other than %d seen inside MULTI" % total)
            self.assertGreater(reads, 0)
            net = sum(n for n, _ in res.values())
            self.assertEqual(r.mget("acct:1", "acct:2"),
                             [str(total // 2 - net).encode(), str(total // 2 + net).encode()])


class TestIsolation(unittest.TestCase):
    def test_transaction_never_seen_half_done(self):
        with server() as srv:
            keys = ["iso:%s" % c for c in "abcdefgh"]
            stop = MP.Event()
            ready = [MP.Event(), MP.Event()]
            counts = [MP.Value("l", 0), MP.Value("l", 0)]
            readers = Workers()
            readers.start("mget", mget_reader, srv.port, keys, ready[0], stop, False, counts[0])
            readers.start("multi", mget_reader, srv.port, keys, ready[1], stop, True, counts[1])
            w = Workers()
            w.start("writer", multi_incr_writer, srv.port, keys, 1500, ready, counts)
            try:
                done, last = w.results(self)["writer"]
            finally:
                stop.set()
            self.assertGreaterEqual(done, 1500)
            self.assertEqual(last, [done] * len(keys))
            for name, (reads, distinct, torn) in readers.results(self).items():
                self.assertEqual(torn, [], "%s saw a transaction half done" % name)
                self.assertGreater(reads, 0)
                # The reader ran while the writer did (it saw several values).
                self.assertGreater(distinct, 1, "%s saw only one value" % name)
            self.assertEqual(srv.client().mget(keys), [str(done).encode()] * len(keys))


if __name__ == "__main__":
    unittest.main(verbosity=2)
