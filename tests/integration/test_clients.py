#!/usr/bin/python3
"""Many clients: CLIENT LIST, CLIENT KILL, CLIENT SETINFO and maxclients.

Goal: with many connections open, CLIENT LIST reports every one of them with
the right id, addresses, name and fields, in Redis's field order; CLIENT KILL
closes exactly the connections its filters select (another one, all others,
or the caller after its reply); CLIENT SETINFO behaves as Redis 7.2; and a
connection over maxclients gets exactly Redis's error and is closed while the
others keep working.

Method: a cairn-node per test (the reference redis-server too, where the
behaviour can be compared), raw sockets speaking RESP, and redis-py for the
library view. Every server is stopped by its PID when the test ends.
"""
import os
import socket
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "diff"))

import cairn_test  # noqa: E402
from diff import Closed, Conn, encode  # noqa: E402

# Redis 7.0's CLIENT LIST fields in order, then 7.2's lib-name and lib-ver.
FIELDS_70 = ("id addr laddr fd name age idle flags db sub psub ssub multi qbuf qbuf-free "
             "argv-mem multi-mem rbs rbp obl oll omem tot-mem events cmd user redir "
             "resp").split()
FIELDS = FIELDS_70 + ["lib-name", "lib-ver"]


def cmd(*args):
    return encode([a if isinstance(a, bytes) else str(a).encode() for a in args])


def call(conn, *args):
    """Sends one command and returns its raw reply (b"<closed>" if closed)."""
    try:
        conn.send(cmd(*args))
        return conn.read()[0]
    except (Closed, ConnectionResetError, BrokenPipeError):
        return b"<closed>"


def bulk(raw):
    assert raw[:1] == b"$", raw
    return raw.split(b"\r\n", 1)[1][:-2].decode()


def parse_list(text):
    """CLIENT LIST text -> list of (field names, {field: value}) per line."""
    assert text == "" or text.endswith("\n"), text
    out = []
    for line in text.splitlines():
        pairs = [kv.split("=", 1) for kv in line.split(" ")]
        out.append(([k for k, _ in pairs], dict(pairs)))
    return out


def closed_soon(conn, wait=2.0):
    """Whether the server closed conn (EOF or reset) within wait seconds."""
    conn.sock.settimeout(wait)
    try:
        while True:
            if not conn.sock.recv(4096):
                return True
    except socket.timeout:
        return False
    except OSError:
        return True


def list_until(conn, n, timeout=3.0):
    """CLIENT LIST once it has n lines: a probe connection of the harness may
    still be closing when a test starts."""
    deadline = time.time() + timeout
    while True:
        rows = parse_list(bulk(call(conn, "CLIENT", "LIST")))
        if len(rows) == n or time.time() > deadline:
            return rows
        time.sleep(0.02)


class ClientsTest(unittest.TestCase):
    N = 50

    def open_named(self, server, n):
        conns = [Conn(server.port) for _ in range(n)]
        for i, c in enumerate(conns):
            self.assertEqual(call(c, "CLIENT", "SETNAME", "c%02d" % i), b"+OK\r\n")
        return conns

    def test_list_fifty(self):
        with cairn_test.cairn() as node:
            conns = self.open_named(node, self.N)
            ids = [int(call(c, "CLIENT", "ID")[1:-2]) for c in conns]
            rows = list_until(conns[0], self.N)
            self.assertEqual(len(rows), self.N)
            by_name = {f["name"]: f for _, f in rows}
            self.assertEqual(sorted(by_name), ["c%02d" % i for i in range(self.N)])
            # Creation order, as Redis lists its clients.
            self.assertEqual([int(f["id"]) for _, f in rows], sorted(ids))
            for i, c in enumerate(conns):
                names, f = next(r for r in rows if r[1]["name"] == "c%02d" % i)
                self.assertEqual(names, FIELDS)
                self.assertEqual(int(f["id"]), ids[i])
                local = c.sock.getsockname()
                self.assertEqual(f["addr"], "%s:%d" % local)
                self.assertEqual(f["laddr"], "127.0.0.1:%d" % node.port)
                self.assertEqual(f["flags"], "N")
                self.assertEqual(f["user"], "default")
                self.assertEqual(f["resp"], "2")
                self.assertEqual(f["cmd"], "client|list" if i == 0 else "client|id")
                self.assertTrue(f["fd"].isdigit() and f["age"].isdigit(), f)
            # CLIENT LIST ID keeps argument order and repeats.
            want = [ids[7], ids[3], ids[7]]
            rows = parse_list(bulk(call(conns[1], "CLIENT", "LIST", "ID", *want, 999999)))
            self.assertEqual([int(f["id"]) for _, f in rows], want)
            # CLIENT INFO is the caller's own line.
            info = parse_list(bulk(call(conns[5], "CLIENT", "INFO")))
            self.assertEqual(len(info), 1)
            self.assertEqual(info[0][1]["name"], "c05")
            self.assertEqual(info[0][1]["cmd"], "client|info")
            for c in conns:
                c.close()

    def test_field_order_matches_redis(self):
        with cairn_test.redis_server() as ref:
            c = Conn(ref.port)
            names, _ = parse_list(bulk(call(c, "CLIENT", "INFO")))[0]
            c.close()
        self.assertEqual(names, FIELDS_70)

    def test_kill_id(self):
        with cairn_test.cairn() as node:
            conns = self.open_named(node, self.N)
            victim = conns[17]
            vid = int(call(victim, "CLIENT", "ID")[1:-2])
            self.assertEqual(call(conns[0], "CLIENT", "KILL", "ID", vid), b":1\r\n")
            self.assertTrue(closed_soon(victim))
            self.assertEqual(call(victim, "PING"), b"<closed>")
            for i, c in enumerate(conns):
                if i != 17:
                    self.assertEqual(call(c, "PING"), b"+PONG\r\n", i)
            rows = list_until(conns[0], self.N - 1)
            self.assertNotIn("c17", [f["name"] for _, f in rows])
            self.assertEqual(len(rows), self.N - 1)
            # Gone now: killing it again finds nothing.
            self.assertEqual(call(conns[0], "CLIENT", "KILL", "ID", vid), b":0\r\n")
            for c in conns:
                c.close()

    def test_kill_all_others(self):
        with cairn_test.cairn() as node:
            conns = self.open_named(node, self.N)
            list_until(conns[0], self.N)
            got = call(conns[0], "CLIENT", "KILL", "SKIPME", "yes", "TYPE", "normal")
            self.assertEqual(got, b":%d\r\n" % (self.N - 1))
            for c in conns[1:]:
                self.assertTrue(closed_soon(c))
            self.assertEqual(call(conns[0], "PING"), b"+PONG\r\n")
            rows = list_until(conns[0], 1)
            self.assertEqual([f["name"] for _, f in rows], ["c00"])
            for c in conns:
                c.close()

    def test_kill_by_address(self):
        for start in (cairn_test.redis_server, cairn_test.cairn):
            with self.subTest(server=start.__name__), start() as server:
                a, b, c = Conn(server.port), Conn(server.port), Conn(server.port)
                list_until(a, 3)
                b_addr = "%s:%d" % b.sock.getsockname()
                self.assertEqual(call(a, "CLIENT", "KILL", "ADDR", b_addr), b":1\r\n")
                self.assertTrue(closed_soon(b))
                laddr = "127.0.0.1:%d" % server.port
                self.assertEqual(call(a, "CLIENT", "KILL", "LADDR", laddr), b":1\r\n")
                self.assertTrue(closed_soon(c))
                # The old form may kill the caller: +OK, then the close.
                a_addr = "%s:%d" % a.sock.getsockname()
                self.assertEqual(call(a, "CLIENT", "KILL", a_addr), b"+OK\r\n")
                self.assertTrue(closed_soon(a))
                for x in (a, b, c):
                    x.close()

    def test_kill_self_after_reply(self):
        for start in (cairn_test.redis_server, cairn_test.cairn):
            with self.subTest(server=start.__name__), start() as server:
                a = Conn(server.port)
                list_until(a, 1)
                # The PING after the KILL is never run.
                a.send(cmd("CLIENT", "KILL", "SKIPME", "no", "TYPE", "normal") + cmd("PING"))
                self.assertEqual(a.read()[0], b":1\r\n")
                self.assertTrue(closed_soon(a))
                a.close()

    def test_kill_maxage(self):
        """MAXAGE (Redis 7.4): kills connections at least that many seconds old."""
        with cairn_test.cairn() as node:
            old = Conn(node.port)
            self.assertEqual(call(old, "PING"), b"+PONG\r\n")
            time.sleep(2.1)
            young, me = Conn(node.port), Conn(node.port)
            list_until(me, 3)
            self.assertEqual(call(young, "PING"), b"+PONG\r\n")
            self.assertEqual(call(me, "CLIENT", "KILL", "MAXAGE", 1000), b":0\r\n")
            self.assertEqual(call(me, "CLIENT", "KILL", "MAXAGE", 2), b":1\r\n")
            self.assertTrue(closed_soon(old))
            self.assertEqual(call(young, "PING"), b"+PONG\r\n")
            self.assertEqual(call(me, "CLIENT", "KILL", "MAXAGE", 0),
                             b"-ERR maxage should be greater than 0\r\n")
            self.assertEqual(call(me, "CLIENT", "KILL", "MAXAGE", "x"),
                             b"-ERR maxage is not an integer or out of range\r\n")
            for c in (old, young, me):
                c.close()

    def test_quit_with_reply_off_closes(self):
        """Redis 7.0 never closes here (it has nothing to write, so its
        close-after-reply never fires); cairn closes."""
        with cairn_test.cairn() as node:
            s = node.raw()
            s.sendall(b"CLIENT REPLY OFF\r\nQUIT\r\nPING\r\n")
            s.settimeout(3)
            self.assertEqual(s.recv(100), b"")
            s.close()

    def test_setinfo(self):
        """CLIENT SETINFO as Redis 7.2 answers it, and the fields it sets."""
        with cairn_test.cairn() as node:
            c = Conn(node.port)
            cases = [
                (("lib-name", "redis-py"), b"+OK\r\n"),
                (("LIB-VER", "4.3.4"), b"+OK\r\n"),
                (("lib-ver", "a b"),
                 b"-ERR lib-ver cannot contain spaces, newlines or special characters.\r\n"),
                (("Lib-Name", "x\ny"),
                 b"-ERR Lib-Name cannot contain spaces, newlines or special characters.\r\n"),
                (("foo", "x"), b"-ERR Unrecognized option 'foo'\r\n"),
                (("lib-name", "x", "y"),
                 b"-ERR wrong number of arguments for 'client|setinfo' command\r\n"),
                (("lib-name",),
                 b"-ERR wrong number of arguments for 'client|setinfo' command\r\n"),
            ]
            for args, want in cases:
                self.assertEqual(call(c, "CLIENT", "SETINFO", *args), want, args)
            f = parse_list(bulk(call(c, "CLIENT", "INFO")))[0][1]
            self.assertEqual((f["lib-name"], f["lib-ver"]), ("redis-py", "4.3.4"))
            # RESET keeps them (7.2); an empty value clears one.
            self.assertEqual(call(c, "RESET"), b"+RESET\r\n")
            self.assertEqual(call(c, "CLIENT", "SETINFO", "lib-ver", ""), b"+OK\r\n")
            f = parse_list(bulk(call(c, "CLIENT", "INFO")))[0][1]
            self.assertEqual((f["lib-name"], f["lib-ver"]), ("redis-py", ""))
            c.close()

    def test_no_evict_and_reset(self):
        with cairn_test.cairn() as node:
            c = Conn(node.port)
            self.assertEqual(call(c, "CLIENT", "NO-EVICT", "on"), b"+OK\r\n")
            self.assertEqual(parse_list(bulk(call(c, "CLIENT", "INFO")))[0][1]["flags"], "e")
            self.assertEqual(call(c, "RESET"), b"+RESET\r\n")
            self.assertEqual(parse_list(bulk(call(c, "CLIENT", "INFO")))[0][1]["flags"], "N")
            c.close()

    def test_redis_py(self):
        with cairn_test.cairn() as node:
            r = node.client(single_connection_client=True)
            self.assertTrue(r.client_setname("pyclient"))
            self.assertEqual(r.client_getname(), "pyclient")
            cid = r.client_id()
            other = node.client(single_connection_client=True)
            other.client_setname("other")
            names = sorted(x["name"] for x in r.client_list())
            self.assertEqual(names, ["other", "pyclient"])
            info = r.client_info()
            self.assertEqual((info["id"], info["name"]), (cid, "pyclient"))
            oid = other.client_id()
            self.assertEqual(r.client_kill_filter(_id=oid), 1)
            self.assertEqual([x["name"] for x in r.client_list()], ["pyclient"])
            r.close()
            other.close()

    def check_maxclients(self, server):
        conns = []
        for _ in range(5):
            s = server.raw()
            s.sendall(b"PING\r\n")
            self.assertEqual(cairn_test.recv_reply(s), b"+PONG\r\n")
            conns.append(s)
        extra = server.raw()
        extra.settimeout(5)
        got = b""
        while True:
            chunk = extra.recv(4096)
            if not chunk:
                break
            got += chunk
        self.assertEqual(got, b"-ERR max number of clients reached\r\n")
        extra.close()
        for s in conns:
            s.sendall(b"PING\r\n")
            self.assertEqual(cairn_test.recv_reply(s), b"+PONG\r\n")
        # A slot freed by a close is usable again.
        conns.pop().close()
        time.sleep(0.2)
        again = server.raw()
        again.sendall(b"PING\r\n")
        self.assertEqual(cairn_test.recv_reply(again), b"+PONG\r\n")
        for s in conns + [again]:
            s.close()

    def test_maxclients(self):
        # The port probe of the harness counts as a client for a moment.
        for start in (cairn_test.redis_server, cairn_test.cairn):
            with self.subTest(server=start.__name__), start("--maxclients", "5") as server:
                time.sleep(0.2)
                self.check_maxclients(server)


if __name__ == "__main__":
    if not os.access(cairn_test.NODE, os.X_OK):
        sys.exit(77)
    unittest.main()
