#!/usr/bin/env python3
"""capture_traffic.py: records real client traffic for the seed corpora.

Goal: seeds that are what real clients send and what a real server answers,
not what we think they look like.

Method: starts Debian's redis-server (7.0, on a free port, no persistence,
DEBUG enabled) behind a recording TCP proxy, and runs redis-cli,
redis-benchmark (pipelined, big values, inline PING) and raw-socket sessions
(HELLO 3 and RESP3 replies of every type through DEBUG PROTOCOL, a push
message from SUBSCRIBE) through it. Each connection's two directions are
written to OUT/requests/NNN.bin and OUT/replies/NNN.bin. gen_seeds.py turns
them into seeds; its output is committed, so this runs only when the corpora
are regenerated. Usage: capture_traffic.py OUT
"""
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests", "integration"))
from gen_seeds import cmd  # noqa: E402  (one RESP encoder for both scripts)
from cairn_test import free_port  # noqa: E402


class Proxy:
    """Forwards connections to the server and keeps both directions."""

    def __init__(self, target):
        self.target = target
        self.port = free_port()
        self.sessions = []
        self.lock = threading.Lock()
        self.srv = socket.socket()
        self.srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.srv.bind(("127.0.0.1", self.port))
        self.srv.listen(64)
        threading.Thread(target=self.accept_loop, daemon=True).start()

    def accept_loop(self):
        while True:
            try:
                c, _ = self.srv.accept()
            except OSError:
                return
            s = socket.create_connection(("127.0.0.1", self.target))
            rec = {"req": bytearray(), "rep": bytearray()}
            with self.lock:
                self.sessions.append(rec)
            threading.Thread(target=self.pump, args=(c, s, rec["req"]), daemon=True).start()
            threading.Thread(target=self.pump, args=(s, c, rec["rep"]), daemon=True).start()

    @staticmethod
    def pump(src, dst, log):
        while True:
            try:
                b = src.recv(65536)
            except OSError:
                b = b""
            if not b:
                try:
                    dst.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
                return
            log += b
            try:
                dst.sendall(b)
            except OSError:
                return


def raw_session(port, frames):
    """Sends each frame and reads until the server is quiet for a moment."""
    s = socket.create_connection(("127.0.0.1", port))
    s.settimeout(0.3)
    for f in frames:
        s.sendall(f)
        try:
            while s.recv(65536):
                pass
        except socket.timeout:
            pass
    s.close()


def run_clients(port):
    cli = ["redis-cli", "-p", str(port)]
    for args in (["set", "foo", "bar"], ["get", "foo"], ["incr", "n"],
                 ["set", "k", "v", "EX", "100"], ["mget", "foo", "k", "missing"],
                 ["config", "get", "max*"], ["client", "list"], ["info", "server"]):
        subprocess.run(cli + args, capture_output=True, timeout=10)
    subprocess.run(cli + ["-3", "config", "get", "maxmemory*"], capture_output=True, timeout=10)
    subprocess.run(cli + ["-3", "hello", "3"], capture_output=True, timeout=10)
    bench = ["redis-benchmark", "-p", str(port), "-q"]
    subprocess.run(bench + ["-n", "24", "-c", "1", "-P", "8", "-t", "ping,set,get,incr,mset",
                            "-d", "16"], capture_output=True, timeout=60)
    subprocess.run(bench + ["-n", "2", "-c", "1", "-t", "set", "-d", "40000"],
                   capture_output=True, timeout=60)
    types = [b"string", b"integer", b"double", b"bignum", b"null", b"array", b"set", b"map",
             b"attrib", b"push", b"verbatim", b"true", b"false"]
    raw_session(port, [cmd("HELLO", "3")] + [cmd("DEBUG", "PROTOCOL", t) for t in types])
    raw_session(port, [cmd("DEBUG", "PROTOCOL", t) for t in types])
    raw_session(port, [cmd("HELLO", "3"), cmd("SUBSCRIBE", "ch"), cmd("PING")])
    raw_session(port, [cmd("HELLO", "3"), cmd("SADD", "s", "a", "b"), cmd("SMEMBERS", "s"),
                       cmd("ZADD", "z", "1.5", "m"), cmd("ZSCORE", "z", "m"),
                       cmd("HSET", "h", "f", "v"), cmd("HGETALL", "h"), cmd("GET", "nope"),
                       cmd("CLIENT", "INFO"), cmd("WRONG"), cmd("GET")])
    raw_session(port, [b"PING\r\n", b"SET \"a b\" 'c d'\r\n", b"GET \"a b\"\n",
                       b"*1\r\n$4\r\nPING\r\n*2\r\n$4\r\nECHO\r\n$3\r\nhey\r\n"])


def main():
    out = sys.argv[1]
    work = tempfile.mkdtemp(prefix="cairn-capture-")
    port = free_port()
    server = subprocess.Popen(["redis-server", "--port", str(port), "--save", "",
                               "--appendonly", "no", "--dir", work,
                               "--enable-debug-command", "yes"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port)).close()
                break
            except OSError:
                time.sleep(0.05)
        proxy = Proxy(port)
        run_clients(proxy.port)
        time.sleep(0.5)
        for d in ("requests", "replies"):
            os.makedirs(os.path.join(out, d), exist_ok=True)
        with proxy.lock:
            for i, rec in enumerate(proxy.sessions):
                for d, key in (("requests", "req"), ("replies", "rep")):
                    with open(os.path.join(out, d, "%03d.bin" % i), "wb") as f:
                        f.write(bytes(rec[key]))
        print("captured %d connections" % len(proxy.sessions))
    finally:
        server.terminate()
        server.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
