#!/usr/bin/python3
"""Bad input: every protocol limit at its edge, the shapes of Redis's
protocol CVEs, bounded memory, and isolation between clients.

Method: raw sockets against a real cairn-node. Each case sends hostile bytes
on one connection and checks (1) the exact error reply (or the close with no
reply, for the query buffer limit), (2) that used_memory stays bounded, and
(3) that another client connected the whole time still has its data and is
served. Limits are made small with flags so that the edges are cheap to
reach.
"""
import socket
import time
import unittest

import cairn_test


def send_recv(sock, data, timeout=3.0):
    sock.sendall(data)
    return cairn_test.recv_reply(sock, timeout)


def is_closed(sock, timeout=3.0):
    sock.settimeout(timeout)
    try:
        while True:
            if not sock.recv(65536):
                return True
    except socket.timeout:
        return False
    except (ConnectionResetError, BrokenPipeError):
        return True


def info_int(client, field):
    return int(client.info("everything")[field])


class ProtocolLimits(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.node = cairn_test.cairn("--proto-max-bulk-len", "1mb",
                                    "--client-query-buffer-limit", "2mb")
        cls.r = cls.node.client()
        cls.r.set("witness", "still here")

    @classmethod
    def tearDownClass(cls):
        cls.node.stop()

    def tearDown(self):
        # Whatever a case did, the node and the other client are fine.
        self.assertTrue(self.node.alive())
        self.assertEqual(self.r.get("witness"), b"still here")

    def error_then_close(self, data, text):
        s = self.node.raw()
        reply = send_recv(s, data)
        self.assertEqual(reply, b"-ERR Protocol error: " + text + b"\r\n")
        self.assertTrue(is_closed(s))
        s.close()

    def test_multibulk_count_edges(self):
        self.error_then_close(b"*2147483648\r\n", b"invalid multibulk length")
        self.error_then_close(b"*99999999999999999999\r\n", b"invalid multibulk length")
        self.error_then_close(b"*+1\r\n", b"invalid multibulk length")
        self.error_then_close(b"*01\r\n", b"invalid multibulk length")
        # INT_MAX itself is accepted: the node waits for the arguments and
        # allocates nothing up front.
        before = info_int(self.r, "used_memory")
        s = self.node.raw()
        s.sendall(b"*2147483647\r\n$4\r\nPING\r\n")
        self.assertFalse(is_closed(s, timeout=0.3))
        self.assertLess(info_int(self.r, "used_memory") - before, 1 << 20)
        s.close()
        # Counts of zero or less are empty requests; the next one runs.
        s = self.node.raw()
        self.assertEqual(send_recv(s, b"*0\r\n*-5\r\n*1\r\n$4\r\nPING\r\n"), b"+PONG\r\n")
        s.close()

    def test_bulk_length_edges(self):
        self.error_then_close(b"*1\r\n$-1\r\n", b"invalid bulk length")
        self.error_then_close(b"*1\r\n$-5\r\n", b"invalid bulk length")
        self.error_then_close(b"*2\r\n$3\r\nGET\r\n$1048577\r\n", b"invalid bulk length")
        self.error_then_close(b"*2\r\n$3\r\nGET\r\n$9223372036854775808\r\n",
                              b"invalid bulk length")
        self.error_then_close(b"*1\r\nPING\r\n", b"expected '$', got 'P'")
        # Exactly proto-max-bulk-len is accepted.
        s = self.node.raw()
        body = b"v" * (1 << 20)
        reply = send_recv(s, b"*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n$%d\r\n%s\r\n" % (len(body), body))
        self.assertEqual(reply, b"+OK\r\n")
        self.assertEqual(self.r.strlen("big"), 1 << 20)
        s.close()

    def test_unterminated_lines(self):
        s = self.node.raw()
        s.sendall(b"x" * 65536)  # exactly the limit: still waiting
        self.assertFalse(is_closed(s, timeout=0.3))
        self.assertEqual(send_recv(s, b"x"), b"-ERR Protocol error: too big inline request\r\n")
        self.assertTrue(is_closed(s))
        self.error_then_close(b"*" + b"1" * 70000, b"too big mbulk count string")
        self.error_then_close(b"*1\r\n$" + b"1" * 70000, b"too big bulk count string")
        # A line under the limit is fine once it is terminated; one over it
        # is refused even when its end is already sent (as Redis: the limit
        # is checked as the line arrives, 16 KB at a time).
        s = self.node.raw()
        self.assertEqual(send_recv(s, b"ECHO " + b"a" * 60000 + b"\r\n")[:10], b"$60000\r\naa")
        s.close()
        self.error_then_close(b"ECHO " + b"a" * 100000 + b"\r\n", b"too big inline request")

    def test_unbalanced_quotes(self):
        self.error_then_close(b'SET "a b\r\n', b"unbalanced quotes in request")
        self.error_then_close(b"SET 'a'b c\r\n", b"unbalanced quotes in request")

    def test_pipelined_after_error_are_dropped(self):
        s = self.node.raw()
        s.sendall(b"SET dropped 1\r\n*1\r\nx\r\nSET dropped 2\r\n")
        time.sleep(0.3)
        data = s.recv(65536)
        self.assertEqual(data, b"+OK\r\n-ERR Protocol error: expected '$', got 'x'\r\n")
        self.assertTrue(is_closed(s))
        self.assertEqual(self.r.get("dropped"), b"1")

    def test_query_buffer_limit_closes_without_reply(self):
        before = info_int(self.r, "client_query_buffer_limit_disconnections")
        s = self.node.raw()
        # Each argument is within proto-max-bulk-len, but together they pass
        # the 2 MB query buffer limit.
        chunk = b"$%d\r\n%s\r\n" % (1 << 20, b"q" * (1 << 20))
        try:
            s.sendall(b"*4\r\n$4\r\nMSET\r\n$1\r\nk\r\n" + chunk + chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass
        self.assertTrue(is_closed(s))
        s.close()
        self.assertEqual(info_int(self.r, "client_query_buffer_limit_disconnections"),
                         before + 1)
        self.assertIsNone(self.r.get("k"))

    def test_setrange_and_incrbyfloat_edges(self):
        self.assertEqual(self.r.setrange("sr", (1 << 20) - 1, "x"), 1 << 20)
        with self.assertRaisesRegex(Exception, "string exceeds maximum allowed size"):
            self.r.setrange("sr2", 1 << 20, "x")
        with self.assertRaisesRegex(Exception, "offset is out of range"):
            self.r.setrange("sr2", -1, "x")
        self.assertIsNone(self.r.get("sr2"))
        # Long double arithmetic: 1.7e308 doubles fine; 1e4932 does not.
        self.r.set("f", "1e4932")
        with self.assertRaisesRegex(Exception, "increment would produce NaN or Infinity"):
            self.r.incrbyfloat("f", "1e4932")
        self.assertEqual(self.r.get("f"), b"1e4932")
        with self.assertRaisesRegex(Exception, "would produce NaN or Infinity|not a valid float"):
            self.r.incrbyfloat("f", "inf")
        self.r.set("i", str(2 ** 63 - 1))
        with self.assertRaisesRegex(Exception, "increment or decrement would overflow"):
            self.r.incr("i")


class BigBulkBudget(unittest.TestCase):
    """Measured on redis-server 7.0.15: five 22-byte headers announcing 100 MB each made Redis
    reserve 500 MB. cairn reserves exactly only within its budget; beyond it a
    body grows with the bytes that really arrive."""

    def test_headers_alone_claim_no_memory(self):
        with cairn_test.cairn() as node:
            r = node.client()
            base = info_int(r, "used_memory")
            socks = []
            for _ in range(5):
                s = node.raw()
                s.sendall(b"*2\r\n$3\r\nSET\r\n$100000000\r\n")
                socks.append(s)
            for _ in range(10):
                s = node.raw()
                s.sendall(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$30000000\r\n")
                socks.append(s)
            time.sleep(0.5)
            grown = info_int(r, "used_memory") - base
            # At most the 64 MB budget, plus small growth buffers.
            self.assertLess(grown, 64 * 1024 * 1024 + 8 * 1024 * 1024)
            for s in socks:
                s.close()
            time.sleep(0.5)
            self.assertLess(info_int(r, "used_memory") - base, 1 << 20)

    def test_disconnect_mid_bigbulk_frees(self):
        with cairn_test.cairn() as node:
            r = node.client()
            base = info_int(r, "used_memory")
            s = node.raw()
            s.sendall(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$10000000\r\n" + b"z" * 5000000)
            time.sleep(0.3)
            self.assertGreater(info_int(r, "used_memory") - base, 4000000)
            s.close()
            time.sleep(0.3)
            self.assertLess(info_int(r, "used_memory") - base, 1 << 20)
            self.assertIsNone(r.get("k"))

    def test_bigbulk_value_is_exact(self):
        with cairn_test.cairn() as node:
            r = node.client()
            body = bytes(range(256)) * 4000  # 1,024,000 bytes
            s = node.raw()
            # Sent in odd pieces, with the next request right behind it.
            data = (b"*3\r\n$3\r\nSET\r\n$2\r\nbb\r\n$%d\r\n" % len(body) + body +
                    b"\r\n*2\r\n$3\r\nGET\r\n$2\r\nbb\r\n")
            for i in range(0, len(data), 7777):
                s.sendall(data[i:i + 7777])
            got = b""
            want = len(b"+OK\r\n") + len(b"$1024000\r\n") + len(body) + 2
            s.settimeout(5)
            while len(got) < want:
                got += s.recv(1 << 20)
            self.assertEqual(got, b"+OK\r\n$1024000\r\n" + body + b"\r\n")
            self.assertEqual(r.get("bb"), body)


class Unauthenticated(unittest.TestCase):
    def test_unauth_limits_are_redis(self):
        with cairn_test.cairn("--requirepass", "pw") as node:
            s = node.raw()
            self.assertEqual(send_recv(s, b"*11\r\n"),
                             b"-ERR Protocol error: unauthenticated multibulk length\r\n")
            self.assertTrue(is_closed(s))
            s = node.raw()
            self.assertEqual(send_recv(s, b"*2\r\n$4\r\nAUTH\r\n$16385\r\n"),
                             b"-ERR Protocol error: unauthenticated bulk length\r\n")
            self.assertTrue(is_closed(s))
            s = node.raw()
            # 10 arguments and 16 KB are fine, and get NOAUTH.
            req = b"*10\r\n$4\r\nMSET\r\n" + b"$16384\r\n" + b"a" * 16384 + b"\r\n" + \
                b"$1\r\nx\r\n" * 8
            self.assertEqual(send_recv(s, req), b"-NOAUTH Authentication required.\r\n")
            self.assertEqual(send_recv(s, b"AUTH pw\r\n"), b"+OK\r\n")
            # Authenticated: a 40 KB bulk takes the bigbulk path.
            self.assertEqual(send_recv(s, b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$40000\r\n" +
                                       b"b" * 40000 + b"\r\n"), b"+OK\r\n")
            s.close()


if __name__ == "__main__":
    unittest.main()
