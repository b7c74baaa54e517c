#!/usr/bin/python3
"""Pub/sub through real clients: redis-py's PubSub, raw RESP2 and RESP3
sockets, and redis-cli, as Redis 7.0 behaves.

Goal: a message published on any connection reaches every subscriber of its
channel and of every matching pattern, on whichever shard the subscriber's
connection lives, exactly once; PUBLISH answers the node's count of
receivers; messages from one publisher arrive in publish order; shard
channels are their own namespace; a RESP3 subscriber gets push messages and
may run any command; PUBSUB, INFO and CLIENT LIST see the subscriptions; a
closed subscriber leaves nothing behind; and a subscriber that cannot keep
up is disconnected alone by client-output-buffer-limit's pubsub class.

Method: each test starts its own server on a free loopback port (through
cairn_test), with several connections so that a node of several shards
spreads them over its shards (ctest runs every variant, 1 and 4 shards).
The server under test is cairn-node by default (flags from
$CAIRN_NODE_ARGS); with PUBSUB_TEST_TARGET=redis it is redis-server 7.0, and
every test must pass there too. Exits 77 (skip) when redis-py is missing.

    /usr/bin/python3 tests/integration/test_pubsub.py -v
    PUBSUB_TEST_TARGET=redis /usr/bin/python3 tests/integration/test_pubsub.py -v
"""
import os
import socket
import subprocess
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

TARGET = os.environ.get("PUBSUB_TEST_TARGET", "cairn")
if TARGET not in ("cairn", "redis"):
    print("PUBSUB_TEST_TARGET must be cairn or redis, not %r" % TARGET)
    sys.exit(2)
ON_REDIS = TARGET == "redis"

# Subscriber connections per test: enough that 4 shards all get some.
SUBSCRIBERS = 8
# Messages one publisher sends in the ordering test.
ORDERED = 3000
# How long a reader waits for what it expects, at most (a loaded machine).
PATIENCE = 20.0


def server(*args):
    return cairn_test.redis_server(*args) if ON_REDIS else cairn_test.cairn(*args)


cmd = cairn_test.encode


class Reader(cairn_test.RespReader):
    """cairn_test's reader, as patient as this file's tests."""

    def __init__(self, sock):
        super().__init__(sock, PATIENCE)


def raw_client(srv, resp3=False):
    s = srv.raw(timeout=PATIENCE)
    rd = Reader(s)
    if resp3:
        s.sendall(cmd("HELLO", "3"))
        rd.read()
    return s, rd


def messages(ps, n, timeout=PATIENCE):
    """n messages (not confirmations) from a redis-py PubSub, in order."""
    out, deadline = [], time.time() + timeout
    while len(out) < n and time.time() < deadline:
        m = ps.get_message(timeout=0.5)
        if m is not None and m["type"] in ("message", "pmessage"):
            out.append(m)
    return out


def confirmed(ps, n):
    """Reads n subscription confirmations."""
    got, deadline = 0, time.time() + PATIENCE
    while got < n and time.time() < deadline:
        m = ps.get_message(timeout=0.5)
        if m is not None and m["type"].endswith("subscribe"):
            got += 1
    assert got == n, "%d of %d confirmations" % (got, n)


class PubSubTest(unittest.TestCase):
    def test_every_subscriber_on_every_shard(self):
        """PUBLISH reaches each channel and pattern subscriber once, wherever
        its connection lives, and counts them all."""
        with server() as srv:
            r = srv.client()
            subs = []
            for i in range(SUBSCRIBERS):
                ps = srv.client().pubsub()
                ps.subscribe("news")
                confirmed(ps, 1)
                subs.append(ps)
            pats = []
            for pat in ("n*", "ne?s", "other*"):
                ps = srv.client().pubsub()
                ps.psubscribe(pat)
                confirmed(ps, 1)
                pats.append(ps)
            both = srv.client().pubsub()
            both.subscribe("news")
            both.psubscribe("*")
            confirmed(both, 2)
            # 8 channel subscribers, n* and ne?s, and both's two.
            self.assertEqual(r.publish("news", "hello"), SUBSCRIBERS + 2 + 2)
            self.assertEqual(r.publish("nobody-listens", "x"), 2)  # n* and *
            for ps in subs:
                m = messages(ps, 1)
                self.assertEqual([(x["channel"], x["data"]) for x in m],
                                 [(b"news", b"hello")])
            self.assertEqual(messages(pats[0], 2),
                             [{"type": "pmessage", "pattern": b"n*", "channel": b"news",
                               "data": b"hello"},
                              {"type": "pmessage", "pattern": b"n*",
                               "channel": b"nobody-listens", "data": b"x"}])
            self.assertEqual(len(messages(pats[1], 1)), 1)
            self.assertEqual(messages(pats[2], 1, timeout=0.5), [])
            got = messages(both, 3)
            self.assertEqual(sorted((x["type"], x["channel"]) for x in got),
                             [("message", b"news"), ("pmessage", b"news"),
                              ("pmessage", b"nobody-listens")])
            for ps in subs + pats + [both]:
                ps.close()

    def test_publish_order(self):
        """Messages from one publisher arrive in publish order at every
        subscriber, pipelined or not, with two publishers interleaved."""
        with server() as srv:
            subs = []
            for _ in range(4):
                ps = srv.client().pubsub()
                ps.subscribe("seq")
                confirmed(ps, 1)
                subs.append(ps)
            pubs = [srv.client() for _ in range(2)]
            for start in range(0, ORDERED, 500):
                for p, pub in enumerate(pubs):
                    pipe = pub.pipeline(transaction=False)
                    for i in range(start, start + 500):
                        pipe.publish("seq", "%d:%d" % (p, i))
                    self.assertEqual(pipe.execute(), [4] * 500)
            for ps in subs:
                got = messages(ps, 2 * ORDERED)
                self.assertEqual(len(got), 2 * ORDERED)
                for p in range(2):
                    mine = [int(m["data"].split(b":")[1]) for m in got
                            if m["data"].startswith(b"%d:" % p)]
                    self.assertEqual(mine, list(range(ORDERED)))
                ps.close()

    def test_introspection(self):
        """PUBSUB CHANNELS/NUMSUB/NUMPAT, INFO's counts and CLIENT LIST's
        fields see the subscriptions of every connection, and a closed
        subscriber leaves nothing behind."""
        with server() as srv:
            r = srv.client()
            socks = []
            for i in range(SUBSCRIBERS):
                s, rd = raw_client(srv)
                s.sendall(cmd("SUBSCRIBE", "c%d" % (i % 3), "shared"))
                rd.read()
                rd.read()
                s.sendall(cmd("PSUBSCRIBE", "p%d*" % (i % 2)))
                rd.read()
                socks.append((s, rd))
            self.assertEqual(sorted(r.pubsub_channels()), [b"c0", b"c1", b"c2", b"shared"])
            self.assertEqual(sorted(r.pubsub_channels("c*")), [b"c0", b"c1", b"c2"])
            self.assertEqual(r.pubsub_numsub("shared", "c0", "none"),
                             [(b"shared", SUBSCRIBERS), (b"c0", 3), (b"none", 0)])
            self.assertEqual(r.pubsub_numpat(), 2)
            info = r.info("stats")
            self.assertEqual(info["pubsub_channels"], 4)
            self.assertEqual(info["pubsub_patterns"], 2)
            lines = [c for c in r.client_list() if "P" in c["flags"]]
            self.assertEqual(len(lines), SUBSCRIBERS)
            for c in lines:
                self.assertEqual((c["sub"], c["psub"], c["ssub"]), ("2", "1", "0"))
            args = cairn_test.NODE_ARGS
            if not ON_REDIS and "--shards" in args:
                # cairn's client ids are id * shards + shard: the subscribers
                # must live on more than one shard for this test to mean it.
                n = int(args[args.index("--shards") + 1])
                if n > 1:
                    self.assertGreater(len({int(c["id"]) % n for c in lines}), 1)
            self.assertEqual(len(r.client_list(_type="pubsub")), SUBSCRIBERS)
            self.assertEqual(len(r.client_list(_type="normal")), 1)
            for s, _ in socks:
                s.close()
            self.assertTrue(cairn_test.wait_until(lambda: r.pubsub_numsub("shared")
                                                  == [(b"shared", 0)], PATIENCE))
            self.assertEqual(r.pubsub_channels(), [])
            self.assertEqual(r.pubsub_numpat(), 0)
            self.assertEqual(r.info("stats")["pubsub_channels"], 0)

    def test_kill_type_pubsub(self):
        """CLIENT KILL TYPE pubsub closes the subscribers and no one else."""
        with server() as srv:
            r = srv.client()
            socks = []
            for _ in range(4):
                s, rd = raw_client(srv)
                s.sendall(cmd("SUBSCRIBE", "k"))
                rd.read()
                socks.append(rd)
            self.assertEqual(r.execute_command("CLIENT", "KILL", "TYPE", "pubsub"), 4)
            for rd in socks:
                self.assertRaises((EOFError, ConnectionError), rd.read)
            self.assertEqual(r.ping(), True)
            self.assertEqual(r.pubsub_numsub("k"), [(b"k", 0)])
            for rd in socks:
                rd.sock.close()

    def test_resp3_push(self):
        """A RESP3 subscriber receives pushes between its own replies and may
        run any command."""
        with server() as srv:
            s, rd = raw_client(srv, resp3=True)
            s.sendall(cmd("SUBSCRIBE", "r3"))
            self.assertEqual(rd.read(), ("push", [b"subscribe", b"r3", 1]))
            s.sendall(cmd("SET", "r3key", "v") + cmd("GET", "r3key"))
            self.assertEqual(rd.read(), (b"+", b"OK"))
            self.assertEqual(rd.read(), b"v")
            r = srv.client()
            self.assertEqual(r.publish("r3", "m1"), 1)
            s.sendall(cmd("PING"))
            self.assertEqual(rd.read(), ("push", [b"message", b"r3", b"m1"]))
            self.assertEqual(rd.read(), (b"+", b"PONG"))
            # Its own PUBLISH: the push comes before the count.
            s.sendall(cmd("PUBLISH", "r3", "m2"))
            self.assertEqual(rd.read(), ("push", [b"message", b"r3", b"m2"]))
            self.assertEqual(rd.read(), 1)
            s.close()

    def test_shard_channels(self):
        """SSUBSCRIBE and SPUBLISH are their own namespace."""
        with server() as srv:
            subs = []
            for _ in range(4):
                s, rd = raw_client(srv)
                s.sendall(cmd("SSUBSCRIBE", "sc"))
                self.assertEqual(rd.read(), [b"ssubscribe", b"sc", 1])
                subs.append(rd)
            r = srv.client()
            self.assertEqual(r.execute_command("SPUBLISH", "sc", "hi"), 4)
            self.assertEqual(r.publish("sc", "plain"), 0)
            for rd in subs:
                self.assertEqual(rd.read(), [b"smessage", b"sc", b"hi"])
            self.assertEqual(r.execute_command("PUBSUB", "SHARDNUMSUB", "sc"), [b"sc", 4])
            self.assertEqual(r.execute_command("PUBSUB", "SHARDCHANNELS"), [b"sc"])
            self.assertEqual(r.info("stats")["pubsubshard_channels"], 1)
            for rd in subs:
                rd.sock.close()

    def test_slow_subscriber_disconnected_alone(self):
        """A subscriber that reads nothing passes the pubsub output limit and
        is closed; a subscriber that reads, and the publisher, go on."""
        with server() as srv:
            r = srv.client()
            r.config_set("client-output-buffer-limit", "pubsub 1mb 256kb 60")
            slow = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            slow.connect(("127.0.0.1", srv.port))
            slow.sendall(cmd("SUBSCRIBE", "flood"))
            good = srv.client().pubsub()
            good.subscribe("flood")
            confirmed(good, 1)
            payload = "x" * 16384
            received, sent = 0, 0
            # The slow one's output passes 1 MB after about 64 messages
            # beyond what the kernel buffers take.
            for _ in range(40):
                pipe = r.pipeline(transaction=False)
                for _ in range(10):
                    pipe.publish("flood", payload)
                pipe.execute()
                sent += 10
                received += len(messages(good, 10))
                if len([c for c in r.client_list() if "P" in c["flags"]]) == 1:
                    break
            self.assertTrue(cairn_test.wait_until(
                lambda: len([c for c in r.client_list() if "P" in c["flags"]]) == 1,
                PATIENCE), "the slow subscriber is still connected")
            self.assertEqual(r.publish("flood", "after"), 1)
            received += len(messages(good, sent - received + 1))
            self.assertEqual(received, sent + 1)
            slow.close()
            good.close()

    def test_redis_cli_subscribe(self):
        """redis-cli's SUBSCRIBE mode prints what is published."""
        with server() as srv:
            proc = subprocess.Popen(["redis-cli", "-p", str(srv.port), "SUBSCRIBE", "cli"],
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            try:
                r = srv.client()
                self.assertTrue(cairn_test.wait_until(
                    lambda: r.pubsub_numsub("cli") == [(b"cli", 1)], PATIENCE))
                self.assertEqual(r.publish("cli", "from-test"), 1)
                time.sleep(0.3)
            finally:
                proc.terminate()
                out = proc.communicate(timeout=PATIENCE)[0]
            self.assertEqual(out.split(b"\n")[:6],
                             [b"subscribe", b"cli", b"1", b"message", b"cli", b"from-test"])


if __name__ == "__main__":
    unittest.main()
