#!/usr/bin/python3
"""Authentication with requirepass: cairn answers exactly as redis-server.

Goal: with a password configured, every reply on the way to and from being
authenticated (NOAUTH, WRONGPASS, AUTH in both forms, HELLO with AUTH and
SETNAME, RESET losing the authentication) and the protocol limits that hold
before authentication are byte for byte those of redis-server 7.0.15; and
redis-py authenticates, or fails with AuthenticationError, as it does against
Redis.

Method: start cairn-node and the reference redis-server, both with
--requirepass; replay one script of raw requests on a connection to each and
compare the raw replies. Only HELLO's version string and client id may differ:
both are masked before comparing. Then drive redis-py against both servers.
No CONFIG command is used.
"""
import os
import re
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "diff"))

import cairn_test  # noqa: E402
from diff import Closed, Conn, encode  # noqa: E402

PASSWORD = b"s3cret-pw"

# One step: (request bytes, replies to read), or (request bytes, "closed")
# when the server must answer what it answers and then close.


def cmd(*args):
    return encode([a if isinstance(a, bytes) else a.encode() for a in args])


UNAUTHENTICATED = [
    (cmd("PING"), 1),
    (cmd("ECHO", "x"), 1),
    (cmd("SELECT", "0"), 1),
    (cmd("GET", "k"), 1),
    (cmd("CLIENT", "ID"), 1),
    (cmd("CLIENT", "SETNAME", "x"), 1),
    (cmd("CLIENT", "FOO"), 1),
    (cmd("CLIENT"), 1),
    (cmd("NOSUCHCOMMAND", "a"), 1),
    (cmd("GET"), 1),
    (b"PING\r\n", 1),
    (cmd("HELLO"), 1),
    (cmd("HELLO", "2"), 1),
    (cmd("HELLO", "3"), 1),
    (cmd("HELLO", "4"), 1),
    (cmd("HELLO", "x"), 1),
    (cmd("HELLO", "3", "bogus"), 1),
    (cmd("HELLO", "3", "SETNAME", "a b"), 1),
    (cmd("AUTH"), 1),
    (cmd("AUTH", "wrong"), 1),
    (cmd("AUTH", ""), 1),
    (cmd("AUTH", "default", "wrong"), 1),
    (cmd("AUTH", "bob", PASSWORD), 1),
    (cmd("AUTH", "DEFAULT", PASSWORD), 1),
    (cmd("AUTH", PASSWORD + b"\x00"), 1),
    (cmd("AUTH", "a", "b", "c"), 1),
    (cmd("HELLO", "3", "AUTH", "default", "wrong"), 1),
    (cmd("HELLO", "3", "AUTH", "default"), 1),
    (cmd("PING"), 1),
]

SCRIPT = UNAUTHENTICATED + [
    # HELLO with AUTH and SETNAME switches to RESP3 in its own reply.
    (cmd("HELLO", "3", "AUTH", "default", PASSWORD, "SETNAME", "x"), 1),
    (cmd("CLIENT", "GETNAME"), 1),
    (cmd("GET", "nosuchkey"), 1),
    (cmd("PING"), 1),
    # RESET forgets the authentication, the name and RESP3.
    (cmd("RESET"), 1),
    (cmd("PING"), 1),
    (cmd("CLIENT", "GETNAME"), 1),
    (cmd("AUTH", PASSWORD), 1),
    (cmd("CLIENT", "GETNAME"), 1),
    (cmd("AUTH", "default", PASSWORD), 1),
    # A wrong password later does not take the authentication away.
    (cmd("AUTH", "wrong"), 1),
    (cmd("HELLO", "2", "AUTH", "default", "wrong"), 1),
    (cmd("PING"), 1),
    (cmd("SET", "k", "v"), 1),
    (cmd("GET", "k"), 1),
    # A SETNAME before a failing AUTH has already set the name (7.0).
    (cmd("RESET"), 1),
    (cmd("HELLO", "2", "SETNAME", "early", "AUTH", "default", "wrong"), 1),
    (cmd("HELLO", "2", "SETNAME", "early2"), 1),
    (cmd("AUTH", PASSWORD), 1),
    (cmd("CLIENT", "GETNAME"), 1),
    (cmd("HELLO", "2", "AUTH", "default", PASSWORD), 1),
    # AUTH and a command in one packet, and RESET inside a pipeline.
    (cmd("RESET") + cmd("AUTH", PASSWORD) + cmd("PING") + cmd("RESET") + cmd("PING"), 5),
    (cmd("QUIT"), "closed"),
]

ARGS_10 = cmd("ECHO", *["a"] * 9)
ARGS_11 = cmd("ECHO", *["a"] * 10)
BULK_16384 = cmd("ECHO", b"x" * 16384)
BULK_16385 = cmd("ECHO", b"x" * 16385)

# Each list runs on a fresh connection.
LIMITS = [
    # 10 arguments and a 16384-byte bulk still parse before AUTH.
    [(ARGS_10, 1), (BULK_16384, 1), (cmd("PING"), 1)],
    [(b"*11\r\n", "closed")],
    [(ARGS_11, "closed")],
    [(b"*1\r\n$16385\r\n", "closed")],
    [(BULK_16385, "closed")],
    [(cmd("PING") + b"*11\r\n$4\r\nECHO\r\n", "closed")],
    # After AUTH the limits are the normal ones.
    [(cmd("AUTH", PASSWORD), 1), (ARGS_11, 1), (BULK_16385, 1), (cmd("PING"), 1)],
    # RESET brings the unauthenticated limits back.
    [(cmd("AUTH", PASSWORD), 1), (cmd("RESET"), 1), (ARGS_11, "closed")],
]


def mask(raw):
    """Masks what HELLO may differ in: the version string and the client id."""
    raw = re.sub(rb"\$\d+\r\nversion\r\n\$\d+\r\n[0-9.]+\r\n", b"<version>", raw)
    return re.sub(rb"\$2\r\nid\r\n:\d+\r\n", b"<id>", raw)


def run_steps(port, steps):
    """Runs steps on one new connection; returns the replies, each as bytes."""
    conn = Conn(port)
    out = []
    try:
        for data, want in steps:
            conn.send(data)
            if want == "closed":
                got = b""
                try:
                    while True:
                        got += conn.read()[0]
                except (Closed, ConnectionResetError):
                    pass
                out.append(got + b"<closed>")
                break
            for _ in range(want):
                try:
                    out.append(mask(conn.read()[0]))
                except (Closed, ConnectionResetError):
                    out.append(b"<closed>")
                    return out
    finally:
        conn.close()
    return out


class AuthTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.cairn = cairn_test.cairn("--requirepass", PASSWORD.decode())
        cls.redis = cairn_test.redis_server("--requirepass", PASSWORD.decode())

    @classmethod
    def tearDownClass(cls):
        cls.cairn.__exit__(None, None, None)
        cls.redis.__exit__(None, None, None)

    def compare(self, steps):
        want = run_steps(self.redis.port, steps)
        got = run_steps(self.cairn.port, steps)
        self.assertEqual(len(want), len(got), "reply count differs:\n%r\n%r" % (want, got))
        for i, (a, b) in enumerate(zip(want, got)):
            self.assertEqual(a, b, "reply %d differs" % i)
        return got

    def test_script(self):
        got = self.compare(SCRIPT)
        self.assertEqual(got[0], b"-NOAUTH Authentication required.\r\n")
        self.assertTrue(got[-1].endswith(b"+OK\r\n<closed>"))

    def test_unauthenticated_limits(self):
        for steps in LIMITS:
            with self.subTest(first=steps[0][0][:24]):
                self.compare(steps)

    def test_limit_errors(self):
        got = run_steps(self.cairn.port, [(b"*11\r\n", "closed")])
        self.assertEqual(got, [b"-ERR Protocol error: unauthenticated multibulk length\r\n"
                               b"<closed>"])
        got = run_steps(self.cairn.port, [(b"*1\r\n$16385\r\n", "closed")])
        self.assertEqual(got, [b"-ERR Protocol error: unauthenticated bulk length\r\n"
                               b"<closed>"])

    @staticmethod
    def outcome(server, **kw):
        """What redis-py makes of connecting with kw and sending PING."""
        import redis
        client = server.client(**kw)
        try:
            return ("ok", client.ping())
        except redis.exceptions.RedisError as e:
            return (type(e).__name__, str(e))
        finally:
            client.close()

    def assert_auth_failure(self, outcome):
        """redis-py 5 raises AuthenticationError on WRONGPASS; 4.x (Debian's)
        raises ResponseError with the server's text. Either will do, as long
        as both servers get the same."""
        kind, msg = outcome
        self.assertTrue(kind == "AuthenticationError" or
                        (kind == "ResponseError" and msg.startswith("WRONGPASS")), outcome)

    def test_redis_py(self):
        pw = PASSWORD.decode()
        cases = {
            "password": dict(password=pw),
            "user": dict(username="default", password=pw),
            "wrong": dict(password="wrong"),
            "wrong_user": dict(username="bob", password=pw),
            "none": dict(),
        }
        for name, kw in cases.items():
            with self.subTest(case=name):
                want = self.outcome(self.redis, **kw)
                got = self.outcome(self.cairn, **kw)
                self.assertEqual(want, got)
                if name in ("password", "user"):
                    self.assertEqual(got, ("ok", True))
                elif name == "none":
                    self.assertEqual(got[0], "AuthenticationError")
                else:
                    self.assert_auth_failure(got)
        client = self.cairn.client(password=pw)
        self.assertTrue(client.set("pyk", "v"))
        self.assertEqual(client.get("pyk"), b"v")
        client.close()

    def test_redis_py_no_password_configured(self):
        """Without requirepass, AUTH <password> is refused and AUTH default
        <anything> succeeds, for redis-py as for any client."""
        with cairn_test.cairn() as node, cairn_test.redis_server() as ref:
            for kw in (dict(password="pw"), dict(username="default", password="x"),
                       dict(username="bob", password="x")):
                with self.subTest(kw=kw):
                    self.assertEqual(self.outcome(ref, **kw), self.outcome(node, **kw))
            self.assertEqual(self.outcome(node, username="default", password="x"),
                             ("ok", True))

    def test_auth_slow_trickle(self):
        """AUTH split across packets behaves as one request."""
        for server in (self.redis, self.cairn):
            with self.subTest(port=server.port):
                s = server.raw()
                data = cmd("AUTH", PASSWORD) + cmd("PING")
                for i in range(len(data)):
                    s.sendall(data[i:i + 1])
                    time.sleep(0.001)
                got = b""
                s.settimeout(5)
                while got.count(b"\r\n") < 2:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    got += chunk
                s.close()
                self.assertEqual(got, b"+OK\r\n+PONG\r\n")


if __name__ == "__main__":
    if not os.access(cairn_test.NODE, os.X_OK):
        sys.exit(77)
    unittest.main()
