#!/usr/bin/python3
"""MONITOR through real clients: redis-py's Monitor and raw sockets, as Redis
7.0 shows commands.

Goal: a monitor sees every command any client runs, on whichever shard,
once, as Redis's line ("+<seconds>.<micros> [0 <addr>] "arg" ...") with
arguments quoted as Redis quotes them; admin commands (CONFIG) are not
shown and AUTH's secrets are "(redacted)"; a transaction's commands appear
when EXEC runs them, before "exec"; a monitor may not touch the keyspace
("Replica can't interact with the keyspace"); RESET ends monitoring; and
CLIENT LIST flags a monitor with O.

Method: each test starts its own server on a free loopback port (through
cairn_test); several writer connections so that a node of several shards
spreads them over its shards (ctest runs 1 and 4 shards). The server under
test is cairn-node by default (flags from $CAIRN_NODE_ARGS); with
MONITOR_TEST_TARGET=redis it is redis-server 7.0, and every test must pass
there too. Exits 77 (skip) when redis-py is missing.

    /usr/bin/python3 tests/integration/test_monitor.py -v
    MONITOR_TEST_TARGET=redis /usr/bin/python3 tests/integration/test_monitor.py -v
"""
import os
import re
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cairn_test  # noqa: E402

try:
    import redis  # noqa: F401
except ImportError:
    print("redis-py is not installed (apt-get install python3-redis): skipped")
    sys.exit(77)

TARGET = os.environ.get("MONITOR_TEST_TARGET", "cairn")
if TARGET not in ("cairn", "redis"):
    print("MONITOR_TEST_TARGET must be cairn or redis, not %r" % TARGET)
    sys.exit(2)
ON_REDIS = TARGET == "redis"

WRITERS = 8
PATIENCE = 20.0
LINE = re.compile(rb'^\+(\d+)\.(\d{6}) \[0 (127\.0\.0\.1:\d+)\]((?: "(?:[^"\\]|\\.)*")+)\r\n')


def server(*args):
    return cairn_test.redis_server(*args) if ON_REDIS else cairn_test.cairn(*args)


def cmd(*args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out


class MonitorSocket:
    """A raw connection in MONITOR mode that splits what it receives into
    lines, keeping each line's arguments as the quoted text."""

    def __init__(self, srv):
        self.sock = srv.raw(timeout=PATIENCE)
        self.buf = b""
        self.sock.sendall(cmd("MONITOR"))
        self.expect_reply(b"+OK\r\n")

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise EOFError("closed")
        self.buf += chunk

    def expect_reply(self, want):
        while len(self.buf) < len(want):
            self._fill()
        got, self.buf = self.buf[:len(want)], self.buf[len(want):]
        assert got == want, (got, want)

    def lines(self, n):
        """The next n lines, as (address, quoted arguments) pairs."""
        out, deadline = [], time.time() + PATIENCE
        while len(out) < n and time.time() < deadline:
            m = LINE.match(self.buf)
            if m is None:
                self._fill()
                continue
            self.buf = self.buf[m.end():]
            out.append((m.group(3), m.group(4)[1:]))
        return out

    def close(self):
        self.sock.close()


class MonitorTest(unittest.TestCase):
    def test_every_client_every_shard(self):
        """Each writer's commands reach the monitor once, in that writer's
        order; CONFIG (admin) does not; quoting is Redis's."""
        with server() as srv:
            mon = MonitorSocket(srv)
            writers = [srv.client() for _ in range(WRITERS)]
            for i, w in enumerate(writers):
                w.set("mk%d" % i, "v%d" % i)
                w.get("mk%d" % i)
                w.config_get("maxmemory")
            writers[0].set('q"uote\n', b"\x01\xff tab\t")
            lines = mon.lines(2 * WRITERS + 1)
            self.assertEqual(len(lines), 2 * WRITERS + 1)
            args = [a for _, a in lines]
            for i in range(WRITERS):
                s = args.index(b'"SET" "mk%d" "v%d"' % (i, i))
                g = args.index(b'"GET" "mk%d"' % i)
                self.assertLess(s, g)
            # Quoting is Redis's. (Across clients of different shards the
            # lines keep each client's order, not one order for all: a
            # shard ships its lines after its step.)
            self.assertIn(b'"SET" "q\\"uote\\n" "\\x01\\xff tab\\t"', args)
            self.assertEqual(args.count(b'"SET" "q\\"uote\\n" "\\x01\\xff tab\\t"'), 1)
            self.assertFalse([a for a in args if b"CONFIG" in a])
            # One address per writer connection.
            self.assertEqual(len({addr for addr, _ in lines}), WRITERS)
            mon.close()

    def test_redis_py_monitor_and_transactions(self):
        """redis-py's Monitor parses the lines; a transaction's commands come
        when EXEC runs them, before "exec"; AUTH is redacted."""
        with server() as srv:
            r = srv.client()
            with srv.client().monitor() as m:
                p = r.pipeline(transaction=True)
                p.set("tk", "1")
                p.incr("tk")
                p.execute()
                try:
                    r.execute_command("AUTH", "secret")
                except redis.ResponseError:
                    pass
                got = [m.next_command()["command"] for _ in range(5)]
            self.assertEqual(got, ["MULTI", "SET tk 1", "INCRBY tk 1",
                                   "EXEC", "AUTH (redacted)"])

    def test_monitor_context(self):
        """A monitor may PING but not touch keys; RESET ends monitoring; it
        shows as O in CLIENT LIST."""
        with server() as srv:
            mon = MonitorSocket(srv)
            r = srv.client()
            flags = [c["flags"] for c in r.client_list()]
            self.assertIn("O", flags)
            mon.sock.sendall(cmd("GET", "x"))
            mon.expect_reply(b"-ERR Replica can't interact with the keyspace\r\n")
            mon.sock.sendall(cmd("SET", "x", "1"))
            mon.expect_reply(b"-ERR Replica can't interact with the keyspace\r\n")
            mon.sock.sendall(cmd("RESET"))
            # RESET is shown to the monitor it ends (Redis feeds it after
            # the reply): read both, in either order.
            while b"+RESET\r\n" not in mon.buf:
                mon._fill()
            mon.buf = b""
            mon.sock.sendall(cmd("GET", "x"))
            deadline = time.time() + PATIENCE
            while b"$-1\r\n" not in mon.buf and time.time() < deadline:
                mon._fill()
            self.assertTrue(mon.buf.endswith(b"$-1\r\n"), mon.buf)
            r.set("after", "1")
            time.sleep(0.3)
            mon.sock.settimeout(0.3)
            try:
                extra = mon.sock.recv(65536)
            except OSError:
                extra = b""
            self.assertEqual(extra, b"")
            self.assertNotIn("O", [c["flags"] for c in r.client_list()])
            mon.close()

    def test_redis_cli_monitor(self):
        """redis-cli monitor prints the lines of other clients' commands."""
        with server() as srv:
            proc = subprocess.Popen(["redis-cli", "-p", str(srv.port), "monitor"],
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            try:
                r = srv.client()
                self.assertTrue(cairn_test.wait_until(
                    lambda: "O" in "".join(c["flags"] for c in r.client_list()), PATIENCE))
                for i in range(WRITERS):
                    srv.client().set("cli%d" % i, "x y")
                time.sleep(0.5)
            finally:
                proc.terminate()
                out = proc.communicate(timeout=PATIENCE)[0].decode()
            lines = out.splitlines()
            self.assertEqual(lines[0], "OK")
            for i in range(WRITERS):
                want = '"SET" "cli%d" "x y"' % i
                self.assertEqual(len([x for x in lines if x.endswith(want)]), 1, out)
            self.assertTrue(all(re.match(r'^\d+\.\d{6} \[0 127\.0\.0\.1:\d+\] "', x)
                                for x in lines[1:]), out)


if __name__ == "__main__":
    unittest.main()
