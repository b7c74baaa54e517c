"""DUMP and RESTORE between redis-server 7.0 and cairn-node.

Goal: a payload redis-server DUMPs RESTOREs into cairn holding the same
value, and cairn's DUMP RESTOREs into redis-server the same way back, for
every type in small and large encodings (a 1000-field hash, 1000-member
sets of integers and of strings, 1000-member sorted set, 1000-element
lists with and without compressed nodes, strings of every RDB form: small
integers, 64-bit integers, a megabyte of random bytes, a compressible
100 KB); where the encoding keeps its own order the payloads are the same
bytes. RESTORE's TTL, ABSTTL, IDLETIME and FREQ take effect; a RESTORE
fails a WATCH on its key, wakes a client blocked on it and invalidates a
client-side cache of it (DUMP counts as a read there); and a stream of
corrupt payloads (random bytes, bit flips, truncations, with the CRC made
right so the decoder sees them) each get an error or decode into a value
redis-server also accepts, and the node stays healthy.

Method: one redis-server and one cairn-node per test (the variant's
backend and shard count), driven with redis-py; values compared in Python.
The corrupt payloads come from a fixed-seed generator.
"""
import os
import random
import socket
import sys
import threading
import time
import unittest

import redis

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cairn_test  # noqa: E402

POLY = 0x95AC9329AC4BC9B5  # Redis's CRC64 (Jones), reflected
CRC_TABLE = []
for _i in range(256):
    _c = _i
    for _ in range(8):
        _c = (_c >> 1) ^ POLY if _c & 1 else _c >> 1
    CRC_TABLE.append(_c)


def crc64(data):
    c = 0
    for b in data:
        c = CRC_TABLE[(c ^ b) & 0xFF] ^ (c >> 8)
    return c


def seal(body, version=10):
    """A payload: body, the RDB version, the CRC64 of both."""
    b = body + version.to_bytes(2, "little")
    return b + crc64(b).to_bytes(8, "little")


def read(r, key):
    """The value at key as a Python value, whatever its type."""
    t = r.type(key)
    if t == b"string":
        return r.get(key)
    if t == b"hash":
        return r.hgetall(key)
    if t == b"list":
        return r.lrange(key, 0, -1)
    if t == b"set":
        return r.smembers(key)
    if t == b"zset":
        return r.zrange(key, 0, -1, withscores=True)
    raise AssertionError("type %r" % t)


def fill(r, rnd):
    """Every type, small and large, on r; returns key -> whether its DUMP
    is the same bytes on both servers (its order is the encoding's)."""
    r.set("int8", "-12")
    r.set("int32", "2000000000")
    r.set("int64", "9223372036854775807")
    r.set("text", "hello world")
    r.set("compressible", "abc" * 34000)
    r.set("random", bytes(rnd.getrandbits(8) for _ in range(1 << 20)))
    r.hset("hash_small", mapping={"a": "1", "b": "two", "c": "-3"})
    r.hset("hash_big", mapping={"f%d" % i: "v%d" % (i * 7) for i in range(1000)})
    r.rpush("list_small", "a", "b", "1", "-2")
    r.rpush("list_big", *["element:%d" % i for i in range(1000)])
    r.lpush("list_lpush", *[str(i) for i in range(1000)])
    r.sadd("set_ints", *range(-50, 450))
    r.sadd("set_ints_big", *range(0, 3000, 3))
    r.sadd("set_small", "x", "y", "z")
    r.sadd("set_big", *["member:%d" % i for i in range(1000)])
    r.zadd("zset_small", {"a": 1, "b": 2.5, "c": float("inf")})
    r.zadd("zset_big", {"m%d" % i: i * 0.25 - 100 for i in range(1000)})
    exact = {"int8", "int32", "int64", "text", "compressible", "random", "hash_small",
             "list_small", "list_big", "list_lpush", "set_ints", "zset_small", "zset_big"}
    return {k.decode(): k.decode() in exact for k in r.keys("*")}


class TestDump(unittest.TestCase):
    def test_redis_to_cairn_and_back(self):
        rnd = random.Random(11)
        for depth in (0, 1):
            with cairn_test.redis_server() as rs, cairn_test.cairn() as cs:
                r, c = rs.client(), cs.client()
                r.config_set("list-compress-depth", depth)
                c.config_set("list-compress-depth", depth)
                keys = fill(r, rnd)
                if depth:
                    r.rpush("list_compressed", *["%06d" % (i % 50) for i in range(5000)])
                    keys["list_compressed"] = True
                for key, exact in sorted(keys.items()):
                    payload = r.dump(key)
                    self.assertTrue(c.restore(key, 0, payload), key)
                    self.assertEqual(read(c, key), read(r, key), key)
                    back = c.dump(key)
                    if exact:
                        self.assertEqual(back, payload, key)
                    self.assertTrue(r.restore(key + ":back", 0, back), key)
                    self.assertEqual(read(r, key + ":back"), read(r, key), key)
                self.assertEqual(c.dbsize(), len(keys))

    def test_options(self):
        with cairn_test.redis_server() as rs, cairn_test.cairn() as cs:
            r, c = rs.client(), cs.client()
            r.set("s", "v")
            payload = r.dump("s")
            c.restore("ttl", 5000, payload)
            self.assertTrue(4000 < c.pttl("ttl") <= 5000)
            when = int(time.time() * 1000) + 60000
            c.restore("abs", when, payload, absttl=True)
            self.assertEqual(c.pexpiretime("abs"), when)
            self.assertTrue(c.restore("past", 1, payload, absttl=True))
            self.assertEqual(c.exists("past"), 0)
            c.restore("idle", 0, payload, idletime=3600)
            self.assertTrue(3600 <= c.object("idletime", "idle") <= 3602)
            with self.assertRaisesRegex(redis.ResponseError, "BUSYKEY"):
                c.restore("idle", 0, payload)
            c.config_set("maxmemory-policy", "allkeys-lfu")
            c.restore("freq", 0, payload, frequency=200)
            self.assertIn(c.object("freq", "freq"), (199, 200))
            c.config_set("maxmemory-policy", "noeviction")

    def test_watch_and_blocked(self):
        with cairn_test.redis_server() as rs, cairn_test.cairn() as cs:
            r, c = rs.client(), cs.client()
            r.rpush("l", "first", "second")
            payload = r.dump("l")
            c.set("w", "old")
            p = c.pipeline()
            p.watch("w")
            c.restore("w", 0, payload, replace=True)
            p.multi()
            p.set("w", "mine")
            with self.assertRaises(redis.WatchError):
                p.execute()
            self.assertEqual(c.lrange("w", 0, -1), [b"first", b"second"])
            got = []
            blocked = cs.client()
            t = threading.Thread(target=lambda: got.append(blocked.blpop("wake", 10)))
            t.start()
            cairn_test.wait_until(lambda: c.info("clients")["blocked_clients"] == 1, 5)
            c.restore("wake", 0, payload)
            t.join(10)
            self.assertEqual(got, [(b"wake", b"first")])
            self.assertEqual(c.lrange("wake", 0, -1), [b"second"])

    def test_tracking(self):
        """DUMP is a read client-side caching remembers; RESTORE a write
        that invalidates it."""
        with cairn_test.cairn() as cs:
            reader, writer = cs.client(), cs.client()
            writer.set("k", "v")
            payload = writer.dump("k")
            sub = cs.client().pubsub()
            sub.subscribe("__redis__:invalidate")
            self.assertEqual(sub.get_message(timeout=2)["type"], "subscribe")
            sid = [cl["id"] for cl in writer.client_list() if cl["cmd"] == "subscribe"][0]
            reader.execute_command("CLIENT", "TRACKING", "ON", "REDIRECT", sid)
            for read in (reader.get, reader.dump):
                read("k")
                writer.restore("k", 0, payload, replace=True)
                msg = sub.get_message(timeout=2)
                self.assertEqual((msg["type"], msg["data"]), ("message", [b"k"]))
            sub.close()

    def test_corrupt_payloads(self):
        rnd = random.Random(5)
        with cairn_test.redis_server() as rs, cairn_test.cairn() as cs:
            r, c = rs.client(), cs.client()
            fill(r, rnd)
            r.delete("random", "compressible")
            seeds = [r.dump(k) for k in sorted(r.keys("*"))]
            errors = (b"Bad data format", b"DUMP payload version or checksum are wrong")
            decoded = refused = 0
            for i in range(3000):
                base = rnd.choice(seeds)[:-10]
                kind = i % 4
                if kind == 0:
                    body = bytes(rnd.getrandbits(8) for _ in range(rnd.randrange(1, 40)))
                elif kind == 1:
                    body = bytearray(base)
                    for _ in range(rnd.randrange(1, 4)):
                        body[rnd.randrange(len(body))] ^= 1 << rnd.randrange(8)
                    body = bytes(body)
                elif kind == 2:
                    body = base[:rnd.randrange(len(base))]
                else:
                    at = rnd.randrange(len(base))
                    body = base[:at] + bytes([rnd.getrandbits(8)]) + base[at:]
                payload = seal(body) if i % 50 else body + b"\x0a\x00" + b"x" * 8
                try:
                    c.restore("k", 0, payload, replace=True)
                except redis.ResponseError as e:
                    self.assertIn(str(e).encode(), errors)
                    refused += 1
                    continue
                decoded += 1
                # What cairn took, redis-server takes from cairn's DUMP.
                value = read(c, "k")
                self.assertTrue(r.restore("check", 0, c.dump("k"), replace=True))
                self.assertEqual(read(r, "check"), value)
            self.assertGreater(refused, 1000)
            self.assertGreater(decoded, 10)
            self.assertTrue(cs.alive())
            self.assertTrue(c.ping())
            c.set("after", "fine")
            self.assertEqual(c.get("after"), b"fine")


if __name__ == "__main__":
    unittest.main()
