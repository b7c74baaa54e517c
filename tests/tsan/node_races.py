#!/usr/bin/python3
"""A node of four shards under ThreadSanitizer, driven across shards.

Goal: the cross-shard paths of a real node (a span holding frozen shards
while they drain messages and defer completions; INFO reading every shard's
accounts; transactions, WATCH, cross-shard MSET, PUBLISH, blocking pops
served from another shard, CLIENT UNBLOCK, KEYS) show no data race.
ThreadSanitizer's unit tests cover the rings alone; this covers the node.

Method: the TSan build's cairn-node (CAIRN_NODE; tools/test builds it in
build-tsan) on 4 shards, once per backend, with several redis-py clients at
once; then the node is stopped and must exit 0 with no ThreadSanitizer
report in its log (TSAN_OPTIONS may also halt it at the first report).
Exits 77 (skip) without redis-py.
"""
import os
import sys
import threading
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                                "integration"))
import cairn_test  # noqa: E402

try:
    import redis
except ImportError:
    print("redis-py is not installed (apt-get install python3-redis): skipped")
    sys.exit(77)

ROUNDS = 300


def writer(port, n, errors):
    try:
        c = redis.Redis(port=port)
        for i in range(ROUNDS):
            c.mset({"a%d:%d" % (n, i): 1, "b%d:%d" % (n, i): 2, "c%d:%d" % (n, i): 3})
            p = c.pipeline(transaction=True)
            p.set("x%d" % i, n)
            p.incr("y%d" % i)
            p.get("z%d" % i)
            p.execute()
            c.info("memory")
            c.dbsize()
            if i % 10 == 0:
                c.publish("ch", "m")
                c.keys("a%d:1*" % n)
                c.client_list()
                c.lpush("q%d" % (i % 7), i)
    except Exception as e:  # reported by the test
        errors.append(repr(e))


def popper(port, errors):
    try:
        c = redis.Redis(port=port)
        for i in range(ROUNDS // 5):
            c.blpop(["q%d" % (i % 7), "q%d" % ((i + 3) % 7)], timeout=0.05)
            w = c.pipeline(transaction=True)
            w.watch("x1")
            w.multi()
            w.set("x1", i)
            try:
                w.execute()
            except redis.WatchError:
                pass
    except Exception as e:
        errors.append(repr(e))


def unblocker(port, errors):
    try:
        c = redis.Redis(port=port)
        for _ in range(ROUNDS // 5):
            for line in c.client_list():
                if line.get("cmd") == "blpop":
                    c.client_unblock(int(line["id"]))
    except Exception as e:
        errors.append(repr(e))


class NodeRaces(unittest.TestCase):
    def run_on(self, io):
        with cairn_test.cairn("--shards", "4", "--io", io) as srv:
            errors = []
            ts = [threading.Thread(target=writer, args=(srv.port, n, errors)) for n in range(3)]
            ts += [threading.Thread(target=popper, args=(srv.port, errors)) for _ in range(2)]
            ts.append(threading.Thread(target=unblocker, args=(srv.port, errors)))
            for t in ts:
                t.start()
            for t in ts:
                t.join()
            self.assertEqual(errors, [])
            self.assertTrue(srv.alive(), srv.log_text())
            srv.client().flushall()
            code = srv.stop(check=False)
            log = srv.log_text()
            at = log.find("WARNING: ThreadSanitizer")
            self.assertEqual(at, -1, log[at:at + 4000])
            self.assertEqual(code, 0, log[-3000:])

    def test_epoll(self):
        self.run_on("epoll")

    def test_uring(self):
        self.run_on("uring")


if __name__ == "__main__":
    unittest.main()
