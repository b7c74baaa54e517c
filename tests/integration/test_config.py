#!/usr/bin/python3
"""Configuration and server introspection of a real cairn-node.

Goal: the three ways to configure a node (a redis.conf-style file, command
line flags, CONFIG SET) agree and take effect; bad configuration stops the
node with a clear message; INFO is what Redis clients can parse; the node
shuts down cleanly on SIGTERM.

Method: each test starts its own cairn-node on a free loopback port (through
cairn_test), configures it one way, and observes the effect with redis-py
(Debian's python3-redis) or a raw socket where the wire bytes matter. Nodes
are stopped by PID. Exits 77 (skip) when redis-py is missing.
"""
import os
import re
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cairn_test  # noqa: E402

try:
    import redis
except ImportError:
    print("redis-py is not installed (apt-get install python3-redis): skipped")
    sys.exit(77)

VERSION_H = os.path.join(cairn_test.ROOT, "node", "base", "version.h")


def redis_version():
    """CAIRN_REDIS_VERSION from node/base/version.h."""
    with open(VERSION_H) as f:
        return re.search(r'CAIRN_REDIS_VERSION "([^"]+)"', f.read()).group(1)


def node_with_file(text, *flags):
    """Starts cairn-node with a configuration file holding text."""
    conf = tempfile.NamedTemporaryFile("w", prefix="cairn-", suffix=".conf", delete=False)
    conf.write(text)
    conf.close()
    port = cairn_test.free_port()
    srv = cairn_test.Server([cairn_test.NODE, conf.name, "--port", str(port),
                             "--bind", "127.0.0.1"] + list(flags), port)
    srv.conf = conf.name
    return srv


def run_node(*args, timeout=10):
    """Runs cairn-node to completion (for start-up failures and --help)."""
    return subprocess.run([cairn_test.NODE] + list(args), capture_output=True, text=True,
                          timeout=timeout)


def raw_call(sock, data, timeout=5):
    sock.sendall(data)
    return cairn_test.recv_reply(sock, timeout)


CONF = """# cairn test configuration
   # an indented comment, then a blank line

hz 25
maxmemory 10mb
loglevel "warning"
timeout '0'
pidfile "{pidfile}"
client-output-buffer-limit normal 1mb 2mb 60
save ""
appendonly no
tcp-keepalive 120
"""


class ConfigFile(unittest.TestCase):
    def test_file_loads_and_config_get_shows_it(self):
        tmp = tempfile.mkdtemp(prefix="cairn-conf-")
        pidfile = os.path.join(tmp, "with space.pid")
        with node_with_file(CONF.format(pidfile=pidfile)) as srv:
            r = srv.client()
            self.assertEqual(r.config_get("hz"), {"hz": "25"})
            self.assertEqual(r.config_get("maxmemory"), {"maxmemory": str(10 * 1024 * 1024)})
            self.assertEqual(r.config_get("loglevel"), {"loglevel": "warning"})
            self.assertEqual(r.config_get("pidfile"), {"pidfile": pidfile})
            self.assertEqual(r.config_get("tcp-keepalive"), {"tcp-keepalive": "120"})
            self.assertEqual(r.config_get("client-output-buffer-limit")
                             ["client-output-buffer-limit"].split()[:4],
                             ["normal", "1048576", "2097152", "60"])
            self.assertEqual(r.config_get("save"), {"save": ""})
            # The quoted path with a space was used as one argument.
            with open(pidfile) as f:
                self.assertEqual(int(f.read()), srv.pid)
            info = r.info("server")
            self.assertEqual(info["config_file"], os.path.realpath(srv.conf))
            self.assertEqual(info["hz"], 25)
        os.unlink(srv.conf)
        self.assertFalse(os.path.exists(pidfile))  # removed at shutdown
        os.rmdir(tmp)

    def test_flags_override_file(self):
        with node_with_file("hz 25\nmaxmemory 10mb\n", "--hz", "50") as srv:
            r = srv.client()
            self.assertEqual(r.config_get("hz"), {"hz": "50"})
            self.assertEqual(r.config_get("maxmemory"), {"maxmemory": str(10 * 1024 * 1024)})
        os.unlink(srv.conf)

    def check_fatal(self, text, *want):
        with tempfile.NamedTemporaryFile("w", suffix=".conf") as conf:
            conf.write(text)
            conf.flush()
            # Port 0: no listener, should the file ever be accepted.
            res = run_node(conf.name, "--port", "0")
        self.assertNotEqual(res.returncode, 0)
        self.assertIn("FATAL CONFIG", res.stderr)
        for w in want:
            self.assertIn(w, res.stderr)

    def test_bad_directive_is_fatal(self):
        self.check_fatal("hz 10\nno-such-directive yes\n", "line 2", "no-such-directive")

    def test_bad_value_is_fatal(self):
        self.check_fatal("# comment\nhz abc\n", "line 2", "hz",
                         "argument couldn't be parsed into an integer")

    def test_unbalanced_quotes_are_fatal(self):
        self.check_fatal('loglevel "warning\n', "line 1")

    def test_bad_flag_is_fatal(self):
        res = run_node("--port", "0", "--maxmemory", "lots")
        self.assertNotEqual(res.returncode, 0)
        self.assertIn("FATAL CONFIG", res.stderr)
        self.assertIn("argument must be a memory value", res.stderr)

    def test_help_lists_every_directive(self):
        res = run_node("--help")
        self.assertEqual(res.returncode, 0)
        listed = set(re.findall(r"^\s+--([a-z0-9-]+)\s", res.stdout, re.M))
        with cairn_test.cairn() as srv:
            names = set(srv.client().config_get("*"))
        self.assertTrue(names)
        self.assertEqual(listed, names)


class ConfigSet(unittest.TestCase):
    def test_maxclients_raised_at_run_time(self):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        # Past the old table (maxclients + its slack of 1024) when the
        # descriptor limit allows, so the table must grow.
        want = 1100 if hard >= 2600 else 16
        if soft < 2 * want + 100:
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 2 * want + 400), hard))
        with cairn_test.cairn("--maxclients", "4") as srv:
            r = srv.client()
            # The start-up probe's close may still be pending (slow under
            # ASan on a loaded machine): wait until this client is the only
            # one, and say so if it never is.
            self.assertTrue(cairn_test.wait_until(
                lambda: r.info("clients")["connected_clients"] == 1, 20.0),
                "connected_clients %d" % r.info("clients")["connected_clients"])
            socks = [srv.raw() for _ in range(3)]
            for s in socks:
                self.assertEqual(raw_call(s, b"PING\r\n"), b"+PONG\r\n")
            extra = srv.raw()
            self.assertEqual(cairn_test.recv_reply(extra),
                             b"-ERR max number of clients reached\r\n")
            extra.close()
            self.assertTrue(r.config_set("maxclients", "2000"))
            more = [srv.raw() for _ in range(want)]
            for s in more:
                s.sendall(b"PING\r\n")
            for s in more:
                self.assertEqual(cairn_test.recv_reply(s), b"+PONG\r\n")
            info = r.info("clients")
            self.assertEqual(info["maxclients"], 2000)
            self.assertEqual(info["connected_clients"], 4 + want)
            for s in socks + more:
                s.close()

    def test_proto_max_bulk_len_refuses_bigger_bulk(self):
        big = b"x" * (2 * 1024 * 1024)
        req = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$%d\r\n" % len(big)
        with cairn_test.cairn() as srv:
            r = srv.client()
            self.assertTrue(r.set("k", big))
            self.assertTrue(r.config_set("proto-max-bulk-len", "1mb"))
            self.assertEqual(r.config_get("proto-max-bulk-len"),
                             {"proto-max-bulk-len": str(1024 * 1024)})
            s = srv.raw()
            self.assertEqual(raw_call(s, req),
                             b"-ERR Protocol error: invalid bulk length\r\n")
            s.settimeout(5)
            self.assertEqual(s.recv(100), b"")  # closed after the error
            s.close()
            # A bulk of exactly the limit still goes through.
            ok = b"y" * (1024 * 1024)
            self.assertTrue(r.set("k2", ok))
            self.assertEqual(len(r.get("k2")), len(ok))

    def test_config_set_is_atomic(self):
        with cairn_test.cairn() as srv:
            r = srv.client()
            with self.assertRaises(redis.ResponseError) as err:
                r.execute_command("CONFIG", "SET", "hz", "33", "maxmemory", "lots")
            self.assertIn("argument 'maxmemory'", str(err.exception))
            self.assertEqual(r.config_get("hz"), {"hz": "10"})
            self.assertEqual(r.execute_command("CONFIG", "SET", "hz", "33", "timeout", "9"),
                             b"OK")
            self.assertEqual(r.config_get("hz"), {"hz": "33"})
            self.assertEqual(r.config_get("timeout"), {"timeout": "9"})

    def test_resetstat_zeroes_counters(self):
        with cairn_test.cairn() as srv:
            r = srv.client()
            r.set("a", "1")
            r.get("a")
            r.get("nosuch")
            with self.assertRaises(redis.ResponseError):
                r.execute_command("GET")
            before = r.info("everything")
            self.assertGreaterEqual(before["keyspace_hits"], 1)
            self.assertGreaterEqual(before["total_error_replies"], 1)
            self.assertTrue(r.config_resetstat())
            after = r.info("everything")
            self.assertEqual(after["keyspace_hits"], 0)
            self.assertEqual(after["keyspace_misses"], 0)
            self.assertEqual(after["total_error_replies"], 0)
            # RESETSTAT itself is the one command counted since.
            self.assertEqual(after["total_commands_processed"], 1)
            stats = [k for k in after if k.startswith("cmdstat_")]
            self.assertEqual(stats, ["cmdstat_config|resetstat"])
            self.assertFalse([k for k in after if k.startswith("errorstat_")])
            self.assertEqual(after["db0"]["keys"], 1)  # data is not a statistic

    def test_debug_sleep_blocks(self):
        with cairn_test.cairn() as srv:
            r = srv.client()
            t0 = time.monotonic()
            self.assertEqual(r.execute_command("DEBUG", "SLEEP", "0.3"), b"OK")
            self.assertGreaterEqual(time.monotonic() - t0, 0.29)


class Info(unittest.TestCase):
    def test_redis_py_parses_every_section(self):
        with cairn_test.cairn() as srv:
            r = srv.client()
            r.set("k", "v")
            r.get("k")
            with self.assertRaises(redis.ResponseError):
                r.execute_command("NOSUCH")
            # redis-py parses COMMAND too (its cluster client needs it).
            commands = r.command()
            self.assertEqual(commands["get"]["arity"], 2)
            self.assertEqual(commands["config"]["arity"], -2)
            self.assertEqual(len(commands), r.command_count())
            info = r.info("everything")
            self.assertNotIn("__raw__", info)  # every line is key:value
            self.assertEqual(info["redis_version"], redis_version())
            self.assertEqual(info["redis_mode"], "standalone")
            self.assertEqual(info["process_id"], srv.pid)
            self.assertEqual(info["tcp_port"], srv.port)
            self.assertIn(info["multiplexing_api"], ("io_uring", "epoll"))
            self.assertIsInstance(info["cairn_version"], (str, float))
            self.assertEqual(len(info["run_id"]), 40)
            self.assertIsInstance(info["used_memory"], int)
            self.assertGreater(info["used_memory"], 0)
            self.assertGreater(info["used_memory_rss"], 0)
            self.assertIsInstance(info["mem_fragmentation_ratio"], float)
            self.assertEqual(info["mem_allocator"], "libc")
            # cairn's default: SIEVE, used whenever maxmemory is set.
            self.assertEqual(info["maxmemory_policy"], "allkeys-sieve")
            self.assertEqual(info["evicted_keys"], 0)
            self.assertEqual(info["connected_clients"], 1)
            self.assertEqual(info["role"], "master")
            self.assertEqual(info["cluster_enabled"], 0)
            self.assertEqual(info["db0"], {"keys": 1, "expires": 0, "avg_ttl": 0})
            self.assertEqual(info["cmdstat_set"]["calls"], 1)
            self.assertEqual(info["cmdstat_get"]["calls"], 1)
            self.assertEqual(info["cmdstat_command"]["calls"], 1)
            self.assertEqual(info["cmdstat_command|count"]["calls"], 1)
            self.assertEqual(info["errorstat_ERR"], "count=1")
            self.assertEqual(info["total_error_replies"], 1)
            for key in ("client_query_buffer_limit_disconnections",
                        "client_output_buffer_limit_disconnections",
                        "instantaneous_ops_per_sec", "keyspace_hits", "keyspace_misses",
                        "expired_keys", "total_connections_received", "used_cpu_sys",
                        "rdb_last_save_time", "uptime_in_seconds", "lru_clock"):
                self.assertIn(key, info)
            self.assertEqual(info["keyspace_hits"], 1)

    def test_sections_and_line_endings(self):
        with cairn_test.cairn() as srv:
            s = srv.raw()
            s.sendall(b"INFO\r\n")
            data = b""
            s.settimeout(5)
            while True:
                data += s.recv(65536)
                head, _, body = data.partition(b"\r\n")
                if head.startswith(b"$") and len(body) >= int(head[1:]) + 2:
                    break
            text = body[:int(head[1:])]
            self.assertNotIn(b"\n", text.replace(b"\r\n", b""))
            titles = re.findall(rb"^# (\w+)\r$", text, re.M)
            self.assertEqual(titles, [b"Server", b"Clients", b"Memory", b"Persistence",
                                      b"Stats", b"Replication", b"CPU", b"Modules",
                                      b"Errorstats", b"Cluster", b"Keyspace"])
            s.close()

    def test_instantaneous_ops(self):
        with cairn_test.cairn("--hz", "100") as srv:
            s = srv.raw()
            batch = b"PING\r\n" * 2000
            deadline = time.monotonic() + 0.5
            while time.monotonic() < deadline:
                s.sendall(batch)
                got = 0
                while got < 7 * 2000:
                    got += len(s.recv(1 << 20))
            info = srv.client().info("stats")
            self.assertGreater(info["instantaneous_ops_per_sec"], 0)
            self.assertGreater(info["total_net_input_bytes"], 0)
            s.close()


class Shutdown(unittest.TestCase):
    def test_sigterm_exits_zero_and_says_bye(self):
        srv = cairn_test.cairn()
        try:
            srv.client().ping()
            os.kill(srv.pid, signal.SIGTERM)
            srv.proc.wait(timeout=10)
            self.assertEqual(srv.proc.returncode, 0)
            self.assertIn("bye bye", srv.log_text())
            with self.assertRaises(OSError):
                socket.create_connection(("127.0.0.1", srv.port), timeout=1).close()
        finally:
            srv.__exit__(None, None, None)


if __name__ == "__main__":
    unittest.main(verbosity=2)
