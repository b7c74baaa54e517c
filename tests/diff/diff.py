#!/usr/bin/python3
"""Differential test: the same commands against redis-server and cairn-node,
replies compared byte for byte.

Goal: cairn answers every command of the corpus exactly as Redis 7.0 does,
or differs only where a corpus line says so, with the reason.

Method: start Debian's redis-server (one database, DEBUG enabled, no
persistence) and cairn-node on loopback ports this script picks; replay each
corpus file on both, on the same sequence of connections; read one whole RESP
reply from each and compare the raw bytes.

Corpus syntax (tests/diff/corpus/*.txt), one item per line:
  CMD arg ...          a command, sent as a multibulk request. Arguments split
                       like redis-cli: "..." with \\xHH \\n \\r \\t escapes,
                       '...' literal. Inside an argument, {{N*TEXT}} stands for
                       TEXT repeated N times (long values stay readable).
  @conn NAME           switch to connection NAME (opened on first use, RESP2).
  @close               close the current connection (a new one opens on use).
  @raw N LITERAL       send the Python bytes literal as is; compare N replies.
  @closed              both servers must have closed the current connection.
  @sorted CMD ...      compare an array reply with its elements sorted (KEYS).
  @scan CMD ...        run a SCAN-like command until cursor 0 on each server;
                       compare the sorted set of elements returned.
  @shape CMD ...       compare only the reply's shape: types and aggregate
                       sizes, not values (e.g. TIME, CLIENT ID).
  @differs REASON | CMD ...
                       a documented difference: run on both, do not compare;
                       the reason is printed in the summary.
  @sleep MS            wait MS milliseconds.
  @send CMD ...        send a command on the current connection and read
                       nothing yet (a blocking command); @recv reads it.
  @recv                read one reply on the current connection and compare.
  # ...                comment.
Exit status: 0 when every compared reply matched, 1 otherwise.
"""
import ast
import os
import re
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "integration"))
from cairn_test import free_port  # noqa: E402


REPEAT = re.compile(rb"\{\{([0-9]+)\*(.+?)\}\}")


def expand(arg):
    return REPEAT.sub(lambda m: m.group(2) * int(m.group(1)), arg)


def split_args(line):
    """Splits like redis-cli (sdssplitargs), returning a list of bytes."""
    return [expand(a) for a in split_raw(line)]


def split_raw(line):
    args, i, n = [], 0, len(line)
    while True:
        while i < n and line[i].isspace():
            i += 1
        if i >= n:
            return args
        cur = bytearray()
        if line[i] == '"':
            i += 1
            while True:
                if i >= n:
                    raise ValueError("unbalanced quotes: " + line)
                c = line[i]
                if c == "\\" and i + 3 < n and line[i + 1] == "x":
                    cur.append(int(line[i + 2:i + 4], 16))
                    i += 4
                elif c == "\\" and i + 1 < n:
                    cur += {"n": b"\n", "r": b"\r", "t": b"\t", "b": b"\b",
                            "a": b"\a"}.get(line[i + 1], line[i + 1].encode())
                    i += 2
                elif c == '"':
                    i += 1
                    break
                else:
                    cur += c.encode()
                    i += 1
        elif line[i] == "'":
            i += 1
            while True:
                if i >= n:
                    raise ValueError("unbalanced quotes: " + line)
                if line[i] == "\\" and i + 1 < n and line[i + 1] == "'":
                    cur += b"'"
                    i += 2
                elif line[i] == "'":
                    i += 1
                    break
                else:
                    cur += line[i].encode()
                    i += 1
        else:
            while i < n and not line[i].isspace():
                cur += line[i].encode()
                i += 1
        args.append(bytes(cur))


def encode(args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out


class Closed(Exception):
    pass


class Conn:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buf = b""

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self):
        chunk = self.sock.recv(1 << 20)
        if not chunk:
            raise Closed()
        self.buf += chunk

    def _line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def read(self):
        """One whole reply as (raw bytes, tree)."""
        line = self._line()
        t, rest = line[:1], line[1:]
        raw = line + b"\r\n"
        if t in (b"+", b"-", b":", b"_", b",", b"#", b"("):
            return raw, (t, rest)
        if t in (b"$", b"=", b"!"):
            n = int(rest)
            if n < 0:
                return raw, (t, None)
            while len(self.buf) < n + 2:
                self._fill()
            data, self.buf = self.buf[:n], self.buf[n + 2:]
            return raw + data + b"\r\n", (t, data)
        if t in (b"*", b"~", b">", b"%", b"|"):
            n = int(rest)
            if n < 0:
                return raw, (t, None)
            items = []
            for _ in range(n * (2 if t in (b"%", b"|") else 1)):
                r, tree = self.read()
                raw += r
                items.append(tree)
            return raw, (t, items)
        raise ValueError("bad reply line %r" % line)

    def closed(self, wait=1.0):
        self.sock.settimeout(wait)
        try:
            while True:
                if not self.sock.recv(4096):
                    return True
        except (socket.timeout, ConnectionResetError):
            return False
        except OSError:
            return True

    def close(self):
        self.sock.close()


def shape(tree):
    t, v = tree
    if isinstance(v, list):
        return (t, len(v), [shape(x) for x in v])
    return (t,)


def flat_elems(tree):
    t, v = tree
    return sorted(x[1] if not isinstance(x[1], list) else repr(x) for x in v) if isinstance(v, list) else [v]


class Server:
    def __init__(self, name, argv, port):
        self.name, self.port = name, port
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.025)
        raise RuntimeError("%s did not start on port %d" % (name, port))

    def stop(self):
        """Stops the server; returns its exit code (0 is a clean shutdown)."""
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        return self.proc.returncode


class Pair:
    """A connection to each server, used in lockstep."""

    def __init__(self, servers):
        self.c = [Conn(s.port) for s in servers]

    def close(self):
        for c in self.c:
            c.close()


class Runner:
    def __init__(self, servers, verbose):
        self.servers = servers
        self.verbose = verbose
        self.compared = self.failed = 0
        self.differs = []
        self.conns = {}
        self.cur = "main"

    def conn(self):
        if self.cur not in self.conns:
            self.conns[self.cur] = Pair(self.servers)
        return self.conns[self.cur]

    def fail(self, where, what, a, b):
        self.failed += 1
        print("FAIL %s: %s\n  redis: %r\n  cairn: %r" % (where, what, a[:int(os.environ.get("DIFF_SHOW", "600"))], b[:int(os.environ.get("DIFF_SHOW", "600"))]))

    def replies(self, data, n=1):
        pair = self.conn()
        out = []
        for c in pair.c:
            c.send(data)
        for c in pair.c:
            got = []
            try:
                for _ in range(n):
                    got.append(c.read())
            except (Closed, ConnectionResetError):
                got.append((b"<closed>", (b"<closed>", None)))
            except socket.timeout:
                got.append((b"<timeout>", (b"<timeout>", None)))
            out.append(got)
        return out

    def scan_all(self, args):
        result = []
        for c in self.conn().c:
            cursor, keys = b"0", set()
            for _ in range(100000):
                a = list(args)
                a[1] = cursor
                c.send(encode(a))
                raw, tree = c.read()
                if tree[0] != b"*":
                    keys = raw
                    break
                cursor = tree[1][0][1]
                keys.update(x[1] for x in tree[1][1][1])
                if cursor == b"0":
                    break
            result.append(sorted(keys) if isinstance(keys, set) else keys)
        return result

    def run_line(self, where, line):
        if line.startswith("@conn "):
            self.cur = line.split(None, 1)[1].strip()
            return
        if line == "@close":
            if self.cur in self.conns:
                self.conns.pop(self.cur).close()
            return
        if line.startswith("@send "):
            data = encode(split_args(line[len("@send "):]))
            for c in self.conn().c:
                c.send(data)
            return
        if line == "@recv":
            (a,), (b,) = self.replies(b"")
            self.compare(where, line, a[0], b[0])
            return
        if line.startswith("@sleep "):
            time.sleep(int(line.split()[1]) / 1000.0)
            return
        if line == "@closed":
            res = [c.closed() for c in self.conn().c]
            self.compared += 1
            if res != [True, True]:
                self.fail(where, "expected both connections closed", repr(res[0]), repr(res[1]))
            self.conns.pop(self.cur).close()
            return
        if line.startswith("@raw "):
            _, n, lit = line.split(None, 2)
            data = ast.literal_eval(lit)
            a, b = self.replies(data, int(n))
            self.compare(where, line, [r for r, _ in a], [r for r, _ in b])
            return
        if line.startswith("@differs "):
            reason, cmd = line[len("@differs "):].split("|", 1)
            self.replies(encode(split_args(cmd)))
            self.differs.append("%s: %s (%s)" % (where, cmd.strip(), reason.strip()))
            return
        if line.startswith("@scan "):
            a, b = self.scan_all(split_args(line[len("@scan "):]))
            self.compare(where, line, a, b)
            return
        mode = None
        for m in ("@sorted ", "@shape "):
            if line.startswith(m):
                mode, line = m.strip(), line[len(m):]
        (a,), (b,) = self.replies(encode(split_args(line)))
        if mode == "@sorted":
            self.compare(where, line, flat_elems(a[1]), flat_elems(b[1]))
        elif mode == "@shape":
            self.compare(where, line, shape(a[1]), shape(b[1]))
        else:
            self.compare(where, line, a[0], b[0])

    def compare(self, where, what, a, b):
        self.compared += 1
        if a != b:
            self.fail(where, what, repr(a).encode() if not isinstance(a, bytes) else a,
                      repr(b).encode() if not isinstance(b, bytes) else b)
        elif self.verbose:
            print("ok   %s: %s" % (where, what))

    def run_file(self, path):
        for pair in self.conns.values():
            pair.close()
        self.conns, self.cur = {}, "main"
        setup = Pair(self.servers)
        for c in setup.c:
            c.send(encode([b"FLUSHALL"]))
            c.read()
        setup.close()
        name = os.path.relpath(path)
        with open(path, encoding="utf-8") as f:
            for no, raw in enumerate(f, 1):
                line = raw.strip()
                if not line or line.startswith("#"):
                    continue
                self.run_line("%s:%d" % (name, no), line)


def main():
    import argparse
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cairn", default=os.environ.get("CAIRN_NODE", "build/cairn-node"))
    ap.add_argument("--redis", default="redis-server")
    ap.add_argument("--cairn-args", default=os.environ.get("CAIRN_NODE_ARGS", ""),
                    help="extra cairn-node flags (default: $CAIRN_NODE_ARGS)")
    ap.add_argument("-v", "--verbose", action="store_true")
    ap.add_argument("files", nargs="*")
    opt = ap.parse_args()
    files = opt.files or sorted(
        os.path.join(HERE, "corpus", f) for f in os.listdir(os.path.join(HERE, "corpus"))
        if f.endswith(".txt"))
    rport, cport = free_port(), free_port()
    servers = []
    try:
        servers.append(Server("redis", [opt.redis, "--port", str(rport), "--bind", "127.0.0.1",
                                        "--databases", "1", "--save", "", "--appendonly", "no",
                                        "--enable-debug-command", "yes"], rport))
        servers.append(Server("cairn", [opt.cairn, "--port", str(cport)] +
                              opt.cairn_args.split(), cport))
        run = Runner(servers, opt.verbose)
        for f in files:
            run.run_file(f)
    finally:
        codes = {s.name: s.stop() for s in servers}
    if codes.get("cairn") != 0:
        print("FAIL cairn-node exited with %r (a sanitizer report, or a crash)" % codes.get("cairn"))
        run.failed += 1
    print("\n%d replies compared, %d failed, %d documented differences"
          % (run.compared, run.failed, len(run.differs)))
    for d in run.differs:
        print("  differs: " + d)
    sys.exit(1 if run.failed else 0)


if __name__ == "__main__":
    main()
