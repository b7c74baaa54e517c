"""Shared helpers for integration tests (not a test itself).

Each test starts its own cairn-node (or redis-server) on a loopback port it
picks, talks to it with real clients, and stops it by its PID. The node
binary comes from $CAIRN_NODE (set by ctest), else build/cairn-node.
"""
import os
import socket
import subprocess
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NODE = os.environ.get("CAIRN_NODE", os.path.join(ROOT, "build", "cairn-node"))
# Flags every test node gets: ctest runs each test once per backend and
# shard count (e.g. "--io epoll --shards 4").
NODE_ARGS = os.environ.get("CAIRN_NODE_ARGS", "").split()


def node_sanitized():
    """Whether the node binary is built with AddressSanitizer, whose
    allocator (shadow memory, quarantine) makes RSS say nothing of cairn's."""
    try:
        with open(NODE, "rb") as f:
            return b"__asan_init" in f.read()
    except OSError:
        return False


# ---- keys and shards: the node's key -> slot -> shard mapping ----

def crc16(data):
    """CRC16-CCITT (XMODEM), as Redis Cluster hashes keys."""
    crc = 0
    for b in data:
        crc ^= b << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


def key_slot(key):
    """The cluster slot of a key, honouring a {hash tag}."""
    if isinstance(key, str):
        key = key.encode()
    s = key.find(b"{")
    if s >= 0:
        e = key.find(b"}", s + 1)
        if e > s + 1:
            key = key[s + 1:e]
    return crc16(key) & 16383


def shard_of(key, nshards):
    """The shard that owns a key on a node of nshards shards."""
    return key_slot(key) * nshards // 16384


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def port_free(port):
    """Whether a loopback TCP port can be bound now (a cluster node needs
    its port and the port + 10000, its bus)."""
    s = socket.socket()
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def wait_until(pred, timeout, interval=0.05):
    """Polls pred until true or timeout seconds pass; returns its last value."""
    deadline = time.time() + timeout
    v = pred()
    while not v and time.time() < deadline:
        time.sleep(interval)
        v = pred()
    return v


def wait_port(port, proc, timeout=10.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("server exited with %d before listening" % proc.returncode)
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError("server did not listen on %d" % port)


class Server:
    """A server process on a free port. Use as a context manager."""

    def __init__(self, argv, port):
        self.port = port
        self.log = tempfile.NamedTemporaryFile(prefix="cairn-test-", suffix=".log", delete=False)
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT)
        wait_port(port, self.proc)

    @property
    def pid(self):
        return self.proc.pid

    def client(self, **kw):
        import redis
        return redis.Redis(host="127.0.0.1", port=self.port, **kw)

    def raw(self, timeout=5):
        """A raw socket to the server."""
        return socket.create_connection(("127.0.0.1", self.port), timeout=timeout)

    def log_text(self):
        with open(self.log.name, errors="replace") as f:
            return f.read()

    def alive(self):
        return self.proc.poll() is None

    def stop(self, timeout=10, check=True):
        """SIGTERM, wait; returns the exit code. With check, anything but a
        clean exit (0) fails the test and shows the server's log: under
        ASan/UBSan/LSan, a report makes the exit code non-zero."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        code = self.proc.returncode
        if check and code != 0 and not getattr(self, "_checked", False):
            self._checked = True
            raise AssertionError("server exited with %d; its log:\n%s" % (code, self.log_text()))
        return code

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop(check=exc[0] is None)
        try:
            os.unlink(self.log.name)
        except OSError:
            pass


def cairn(*args):
    """Starts cairn-node with extra flags (e.g. "--requirepass", "pw")."""
    port = free_port()
    return Server([NODE, "--port", str(port), "--bind", "127.0.0.1"] + NODE_ARGS + list(args),
                  port)


def redis_server(*args):
    """Starts Debian's redis-server the way the differential test does."""
    port = free_port()
    return Server(["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                   "--databases", "1", "--save", "", "--appendonly", "no",
                   "--enable-debug-command", "yes"] + list(args), port)


def recv_reply(sock, timeout=5):
    """Reads until at least one CRLF-terminated line is in; returns bytes."""
    sock.settimeout(timeout)
    data = b""
    while b"\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def encode(*args):
    """One request as a RESP multibulk."""
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out


class RespReader:
    """Parses RESP2/RESP3 replies from a raw socket. A simple string or an
    error is (b"+" or b"-", text); a push is ("push", items); a map is a
    flat list of its keys and values."""

    def __init__(self, sock, timeout=20.0):
        self.sock = sock
        self.buf = b""
        self.timeout = timeout

    def _fill(self):
        self.sock.settimeout(self.timeout)
        chunk = self.sock.recv(65536)
        if not chunk:
            raise EOFError("connection closed")
        self.buf += chunk

    def _line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def read(self):
        line = self._line()
        t, rest = line[:1], line[1:]
        if t in (b"+", b"-"):
            return (t, rest)
        if t == b":":
            return int(rest)
        if t == b"_":
            return None
        if t in (b"$", b"="):
            n = int(rest)
            if n < 0:
                return None
            while len(self.buf) < n + 2:
                self._fill()
            data, self.buf = self.buf[:n], self.buf[n + 2:]
            return data
        if t in (b"*", b">", b"%", b"~"):
            n = int(rest)
            if n < 0:
                return None
            items = [self.read() for _ in range(n * (2 if t == b"%" else 1))]
            return ("push", items) if t == b">" else items
        raise AssertionError("unexpected reply line %r" % line)

    def pending(self):
        """Whether bytes are waiting, without blocking."""
        if self.buf:
            return True
        self.sock.settimeout(0)
        try:
            chunk = self.sock.recv(65536)
        except (BlockingIOError, socket.timeout):
            return False
        finally:
            self.sock.settimeout(self.timeout)
        if not chunk:
            raise EOFError("connection closed")
        self.buf += chunk
        return True
