"""Keyspace commands against a real node, at sizes the differential corpus
cannot reach.

Goal: the keyspace keeps its promises under load: active expiry reclaims keys
nobody touches; SCAN returns every key present for the whole iteration while
the table grows and shrinks under it; FLUSHALL ASYNC answers at once however
many keys there are; RENAME and COPY keep a big value's bytes exact.

Method: each test starts its own cairn-node (tests/integration/cairn_test.py)
and drives it with redis-py, pipelining bulk loads. TTLs are set with PEXPIRE
after a plain SET, which works whichever SET options the node has. Nothing
reads the node's internals: only replies are checked.
"""
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cairn_test  # noqa: E402

# Keys sent per pipeline round trip while loading.
BATCH = 5000


def load(r, names, value=b"v", pexpire_ms=None):
    """SETs every name (and PEXPIREs it if asked), in pipelined batches."""
    for i in range(0, len(names), BATCH):
        p = r.pipeline(transaction=False)
        for k in names[i:i + BATCH]:
            p.set(k, value)
            if pexpire_ms is not None:
                p.pexpire(k, pexpire_ms)
        p.execute()


def scan_while(r, count, between):
    """Runs a whole SCAN iteration with COUNT count, calling between(i)
    after each call; returns every key seen, with its repetitions."""
    seen, cursor, calls = [], 0, 0
    while True:
        cursor, keys = r.scan(cursor=cursor, count=count)
        seen.extend(keys)
        calls += 1
        between(calls)
        if cursor == 0:
            return seen, calls
        # A bound far above any honest iteration of these tables.
        assert calls < 1000000, "SCAN did not finish"


class TestActiveExpiry(unittest.TestCase):
    def test_untouched_keys_expire(self):
        with cairn_test.cairn() as srv:
            r = srv.client()
            volatile = ["vol:%d" % i for i in range(10000)]
            stable = ["keep:%d" % i for i in range(1000)]
            load(r, stable)
            load(r, volatile, pexpire_ms=100)
            # Nothing touches the volatile keys from here: only the timer's
            # active expiry may remove them (DBSIZE does not look at keys).
            deadline = time.time() + 1.5
            size = r.dbsize()
            while time.time() < deadline and size != 1000:
                time.sleep(0.1)
                size = r.dbsize()
            self.assertEqual(size, 1000)
            p = r.pipeline(transaction=False)
            for k in stable:
                p.exists(k)
            self.assertEqual(sum(p.execute()), 1000)
            self.assertEqual(r.ttl(stable[0]), -1)
            self.assertEqual(r.keys("vol:*"), [])


class TestScanGuarantee(unittest.TestCase):
    def test_scan_while_growing(self):
        """Inserts between SCAN calls force the table to grow (and rehash
        incrementally) mid-iteration."""
        with cairn_test.cairn() as srv:
            r = srv.client()
            first = ["a:%d" % i for i in range(20000)]
            more = ["b:%d" % i for i in range(20000)]
            load(r, first)
            pending = list(more)

            def insert(_calls):
                batch, pending[:] = pending[:10], pending[10:]
                if batch:
                    load(r, batch)

            seen, calls = scan_while(r, 10, insert)
            got = set(k.decode() for k in seen)
            missing = [k for k in first if k not in got]
            self.assertEqual(missing, [], "%d keys never returned" % len(missing))
            self.assertEqual(r.dbsize(), 20000 + len(more) - len(pending))
            self.assertGreater(calls, 100)

    def test_scan_while_shrinking(self):
        """Deleting unrelated keys between SCAN calls leaves the table under
        10% full, so the timer shrinks it and the iteration spans the shrink
        and its incremental rehash."""
        with cairn_test.cairn() as srv:
            r = srv.client()
            kept = ["k:%d" % i for i in range(5000)]
            doomed = ["d:%d" % i for i in range(75000)]
            load(r, kept)
            load(r, doomed)
            pending = list(doomed)

            def delete(calls):
                batch, pending[:] = pending[:1000], pending[1000:]
                if batch:
                    r.delete(*batch)
                elif calls % 50 == 0:
                    # Let timer ticks shrink the table and rehash part of it.
                    time.sleep(0.12)

            seen, _ = scan_while(r, 10, delete)
            got = set(k.decode() for k in seen)
            missing = [k for k in kept if k not in got]
            self.assertEqual(missing, [], "%d keys never returned" % len(missing))
            self.assertEqual(r.dbsize(), len(kept) + len(pending))

    def test_scan_grow_and_shrink_with_match(self):
        """MATCH filters after the walk, so a sparse match still visits the
        whole table; both resizes happen during one iteration."""
        with cairn_test.cairn() as srv:
            r = srv.client()
            first = ["m:%d" % i for i in range(3000)]
            extra = ["x:%d" % i for i in range(30000)]
            load(r, first)
            state = {"phase": 0, "next": 0}

            def churn(_calls):
                # Grow with 300 keys per call, then take them all away again.
                if state["phase"] == 0:
                    batch = extra[state["next"]:state["next"] + 300]
                    load(r, batch)
                    state["next"] += len(batch)
                    if state["next"] >= len(extra):
                        state["phase"], state["next"] = 1, 0
                elif state["phase"] == 1:
                    batch = extra[state["next"]:state["next"] + 600]
                    if batch:
                        r.delete(*batch)
                    state["next"] += len(batch)
                    if state["next"] >= len(extra):
                        state["phase"] = 2
                        time.sleep(0.12)

            seen, cursor = [], 0
            while True:
                cursor, keys = r.scan(cursor=cursor, match="m:*", count=10)
                seen.extend(keys)
                churn(None)
                if cursor == 0:
                    break
            got = set(k.decode() for k in seen)
            self.assertTrue(all(k.startswith("m:") for k in got))
            self.assertEqual([k for k in first if k not in got], [])


class TestFlushAsync(unittest.TestCase):
    def test_flushall_async_answers_at_once(self):
        with cairn_test.cairn() as srv:
            r = srv.client()
            load(r, ["f:%d" % i for i in range(200000)], value=b"x" * 100)
            self.assertEqual(r.dbsize(), 200000)
            t0 = time.monotonic()
            self.assertTrue(r.flushall(asynchronous=True))
            elapsed = time.monotonic() - t0
            self.assertEqual(r.dbsize(), 0)
            self.assertEqual(r.keys("*"), [])
            self.assertIsNone(r.randomkey())
            self.assertEqual(r.scan(0), (0, []))
            # The old entries are freed in the background, so the reply does
            # not wait for 200,000 frees.
            self.assertLess(elapsed, 0.25)
            # The node keeps serving while it frees.
            t0 = time.monotonic()
            for i in range(100):
                r.set("after:%d" % i, i)
            self.assertLess(time.monotonic() - t0, 2.0)
            self.assertEqual(r.dbsize(), 100)
            self.assertEqual(r.get("after:42"), b"42")

    def test_flushdb_sync_and_default(self):
        with cairn_test.cairn() as srv:
            r = srv.client()
            load(r, ["g:%d" % i for i in range(20000)])
            self.assertTrue(r.flushdb(asynchronous=False))
            self.assertEqual(r.dbsize(), 0)
            load(r, ["g:%d" % i for i in range(20000)])
            self.assertTrue(r.flushdb())
            self.assertEqual(r.dbsize(), 0)


class TestBigValues(unittest.TestCase):
    def test_rename_and_copy_keep_bytes(self):
        with cairn_test.cairn() as srv:
            r = srv.client()
            data = os.urandom(1024 * 1024)
            self.assertTrue(r.set("big", data))
            self.assertTrue(r.rename("big", "big2"))
            self.assertIsNone(r.get("big"))
            self.assertEqual(r.get("big2"), data)
            self.assertTrue(r.copy("big2", "big3"))
            self.assertEqual(r.get("big3"), data)
            # The copy owns its bytes: overwriting the source leaves it.
            self.assertTrue(r.set("big2", b"small"))
            self.assertEqual(r.get("big3"), data)
            # RENAME over an existing key, and with a TTL that must follow.
            self.assertTrue(r.set("dst", b"old"))
            self.assertTrue(r.expire("big3", 100))
            self.assertTrue(r.rename("big3", "dst"))
            self.assertEqual(r.get("dst"), data)
            self.assertEqual(r.ttl("dst"), 100)
            self.assertTrue(r.persist("dst"))
            self.assertEqual(r.get("dst"), data)
            self.assertTrue(r.copy("dst", "big2", replace=True))
            self.assertEqual(r.get("big2"), data)
            self.assertEqual(r.renamenx("big2", "fresh"), True)
            self.assertEqual(r.get("fresh"), data)
            self.assertEqual(r.object("encoding", "fresh"), b"raw")
            self.assertGreater(r.memory_usage("fresh"), 1024 * 1024)
            self.assertEqual(r.delete("fresh", "dst"), 2)
            self.assertEqual(r.dbsize(), 0)

    def test_rename_while_reply_in_flight(self):
        """A GET reply references the value; renaming and overwriting the
        key right behind it in the same pipeline must not change the bytes
        already promised."""
        with cairn_test.cairn() as srv:
            r = srv.client()
            data = os.urandom(1024 * 1024)
            r.set("v", data)
            p = r.pipeline(transaction=False)
            p.get("v")
            p.rename("v", "w")
            p.set("w", b"overwritten")
            p.get("w")
            out = p.execute()
            self.assertEqual(out[0], data)
            self.assertEqual(out[3], b"overwritten")

    def test_long_keys_and_fields(self):
        """Keys and hash fields around the entry's one-byte length escape
        (255 bytes and more take four more bytes) keep their bytes through
        TTLs, APPEND, RENAME, DUMP/RESTORE, SCAN and a big hash's table."""
        with cairn_test.cairn() as srv:
            r = srv.client()
            for n in (254, 255, 256, 1000, 70000):
                k = bytes((i * 7 + n) % 251 for i in range(n))
                r.set(k, b"12")
                self.assertTrue(r.pexpire(k, 100000))
                self.assertEqual(r.append(k, b"x" * 300), 302)
                self.assertTrue(r.persist(k))
                self.assertEqual(r.ttl(k), -1)
                r.rename(k, k + b"!")
                self.assertEqual(r.get(k + b"!"), b"12" + b"x" * 300)
                dump = r.dump(k + b"!")
                r.restore(k, 0, dump)
                self.assertEqual(r.get(k), b"12" + b"x" * 300)
                seen = set()
                cursor = 0
                while True:
                    cursor, keys = r.scan(cursor=cursor, count=100)
                    seen.update(keys)
                    if cursor == 0:
                        break
                self.assertIn(k, seen)
                self.assertIn(k + b"!", seen)
                self.assertEqual(r.delete(k, k + b"!"), 2)
                # A big hash (more than 128 fields) with the long field.
                fields = {k: b"long"}
                fields.update({b"f%d" % i: b"%d" % i for i in range(200)})
                r.hset("h", mapping=fields)
                self.assertEqual(r.object("encoding", "h"), b"hashtable")
                self.assertEqual(r.hget("h", k), b"long")
                self.assertEqual(r.hgetall("h"), fields)
                self.assertEqual(r.hdel("h", k), 1)
                self.assertIsNone(r.hget("h", k))
                self.assertEqual(r.delete("h"), 1)
            self.assertEqual(r.dbsize(), 0)


if __name__ == "__main__":
    unittest.main()
