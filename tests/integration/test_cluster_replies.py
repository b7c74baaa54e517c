#!/usr/bin/python3
"""CLUSTER's replies and errors against redis-server 7.0 in cluster mode,
byte for byte, in RESP2 and RESP3.

Goal: one cairn-node and one redis-server, both `cluster-enabled yes` and
alone, given the same slot layout by the same commands, answer every
CLUSTER subcommand, every refusal (bad slots, busy or unassigned slots,
SETSLOT's, MEET's, FORGET's, RESET's, arity, unknown subcommands), and a
key's routing (CLUSTERDOWN, CROSSSLOT) with the same bytes once node ids,
ports and times are masked.

Method: the two servers run side by side on free loopback ports, each with
its nodes.conf in a temporary directory; each request goes to both over a
raw socket (RESP2, then again after HELLO 3) and the replies are compared
after masking. Exits 77 (skip) when redis-server is missing.
"""
import os
import re
import shutil
import socket
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cairn_test  # noqa: E402

if shutil.which("redis-server") is None:
    print("redis-server is not installed: skipped")
    sys.exit(77)


def free_pair():
    while True:
        p = cairn_test.free_port()
        if p + 10000 < 65536 and cairn_test.port_free(p + 10000):
            return p


class RawReader(cairn_test.RespReader):
    """Reads one reply and keeps its bytes (consumed)."""

    def __init__(self, sock, timeout):
        super().__init__(sock, timeout)
        self.consumed = b""

    def _line(self):
        line = super()._line()
        self.consumed += line + b"\r\n"
        return line

    def read(self):
        line = self._line()
        t, rest = line[:1], line[1:]
        if t in (b"$", b"=") and int(rest) >= 0:
            n = int(rest)
            while len(self.buf) < n + 2:
                self._fill()
            self.consumed += self.buf[:n + 2]
            data, self.buf = self.buf[:n], self.buf[n + 2:]
            return data
        if t in (b"*", b">", b"%", b"~") and int(rest) >= 0:
            n = int(rest) * (2 if t == b"%" else 1)
            return [self.read() for _ in range(n)]
        return line


class Conn:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.rd = RawReader(self.sock, 10)

    def raw(self, *args):
        """The reply's bytes, as sent."""
        self.sock.sendall(cairn_test.encode(*args))
        self.rd.read()
        raw, self.rd.consumed = self.rd.consumed, b""
        return raw


def mask(b, ids, ports):
    for i in ids:
        b = b.replace(i, b"<id>")
    for p in ports:
        b = re.sub(rb"(?<![0-9])%d(?![0-9])" % p, b"<port>", b)
    # ping_sent, pong_recv, link times, creation times: any 13-digit ms.
    b = re.sub(rb"\b1[0-9]{12}\b", b"<ms>", b)
    return b


class ClusterReplies(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="cairn-cluster-replies-")
        rp, cp = free_pair(), free_pair()
        cls.redis = cairn_test.Server(
            ["redis-server", "--port", str(rp), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--cluster-enabled", "yes", "--cluster-config-file",
             os.path.join(cls.dir, "redis-nodes.conf")], rp)
        cls.cairn = cairn_test.Server(
            [cairn_test.NODE, "--port", str(cp), "--bind", "127.0.0.1", "--cluster-enabled",
             "yes", "--cluster-config-file", os.path.join(cls.dir, "cairn-nodes.conf")] +
            cairn_test.NODE_ARGS, cp)
        cls.ports = [rp, cp, rp + 10000, cp + 10000]
        cls.conns = [Conn(rp), Conn(cp)]
        cls.ids = [c.raw("CLUSTER", "MYID").split(b"\r\n")[1] for c in cls.conns]
        # Redis's state stays as it started for its first 2 s
        # (CLUSTER_WRITABLE_DELAY: cluster_size 1 with no slot, say).
        time.sleep(2.2)

    @classmethod
    def tearDownClass(cls):
        for c in cls.conns:
            c.sock.close()
        cls.redis.stop()
        cls.cairn.stop()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def same(self, *args):
        """Sends args to both ("<myid>" becomes each server's own id)."""
        r, c = (mask(conn.raw(*[myid if a == "<myid>" else a for a in args]), self.ids,
                     self.ports) for conn, myid in zip(self.conns, self.ids))
        self.assertEqual(c, r, "%r" % (args,))
        return r

    def layout(self):
        for cmd in (("CLUSTER", "ADDSLOTSRANGE", "0", "100", "200", "300"),
                    ("CLUSTER", "ADDSLOTS", "5000", "5002", "16383"),
                    ("CLUSTER", "SET-CONFIG-EPOCH", "7")):
            self.same(*cmd)

    def test_replies_and_errors(self):
        s = self.same
        s("CLUSTER", "INFO")
        s("CLUSTER", "SLOTS")
        s("CLUSTER", "SHARDS")
        s("GET", "k")
        self.layout()
        for proto in ("2", "3"):
            if proto == "3":
                for c in self.conns:
                    c.raw("HELLO", "3")
            s("CLUSTER", "NODES")
            s("CLUSTER", "SLOTS")
            s("CLUSTER", "SHARDS")
            s("CLUSTER", "INFO")
            s("CLUSTER", "MYID")
            for key in ("k", "{user1000}.following", "foo{}{bar}", "{}a", "a{b", ""):
                s("CLUSTER", "KEYSLOT", key)
            s("CLUSTER", "COUNTKEYSINSLOT", "0")
            s("CLUSTER", "GETKEYSINSLOT", "0", "10")
            s("CLUSTER", "COUNT-FAILURE-REPORTS", "<myid>")
            s("CLUSTER", "LINKS")
        for args in (
                ("CLUSTER", "ADDSLOTS", "0"),
                ("CLUSTER", "ADDSLOTS", "16384"),
                ("CLUSTER", "ADDSLOTS", "-1"),
                ("CLUSTER", "ADDSLOTS", "x"),
                ("CLUSTER", "ADDSLOTS", "6000", "6000"),
                ("CLUSTER", "DELSLOTS", "7000"),
                ("CLUSTER", "ADDSLOTSRANGE", "10", "5"),
                ("CLUSTER", "ADDSLOTSRANGE", "1", "2", "3"),
                ("CLUSTER", "DELSLOTSRANGE", "9000", "9001"),
                ("CLUSTER", "SETSLOT", "1", "bogus"),
                ("CLUSTER", "SETSLOT", "1", "node", "0" * 40),
                ("CLUSTER", "SETSLOT", "99999", "stable"),
                ("CLUSTER", "SETSLOT", "1", "migrating", "0" * 40),
                ("CLUSTER", "SETSLOT", "7000", "migrating", "0" * 40),
                ("CLUSTER", "SETSLOT", "1", "importing", "0" * 40),
                ("CLUSTER", "MEET", "not-an-ip", "7000"),
                ("CLUSTER", "MEET", "127.0.0.1", "notaport"),
                ("CLUSTER", "MEET", "1.2.3.4", "7000", "17000", "extra"),
                ("CLUSTER", "DELSLOTSRANGE", "1", "2", "3"),
                ("CLUSTER", "SETSLOT", "1", "stable", "extra"),
                ("CLUSTER", "SETSLOT", "1", "node"),
                ("CLUSTER", "RESET", "hard", "extra"),
                ("CLUSTER", "FORGET", "a", "b"),
                ("CLUSTER", "FORGET", "0" * 40),
                ("CLUSTER", "SET-CONFIG-EPOCH", "8"),
                ("CLUSTER", "SET-CONFIG-EPOCH", "-1"),
                ("CLUSTER", "COUNTKEYSINSLOT", "16384"),
                ("CLUSTER", "GETKEYSINSLOT", "1", "-1"),
                ("CLUSTER", "COUNT-FAILURE-REPORTS", "nope"),
                ("CLUSTER", "RESET", "MAYBE"),
                ("CLUSTER", "NODES", "extra"),
                ("CLUSTER", "NOSUCH"),
                ("CLUSTER",),
                ("GET", "k"),
                ("MGET", "a", "b"),
                ("SET", "k"),
                ("ASKING",),
                ("READONLY",),
                ("READWRITE",),
        ):
            s(*args)
        s("CLUSTER", "SETSLOT", "1", "stable")
        s("CLUSTER", "BUMPEPOCH")
        s("CLUSTER", "NODES")
        s("CLUSTER", "DELSLOTS", "5000")
        s("CLUSTER", "DELSLOTSRANGE", "0", "100")
        s("CLUSTER", "SLOTS")
        s("CLUSTER", "FLUSHSLOTS")
        s("CLUSTER", "INFO")
        s("CLUSTER", "NODES")


if __name__ == "__main__":
    unittest.main(verbosity=2)
