#!/usr/bin/python3
"""The cluster bus port of a real cairn-node (cluster-enabled, cluster-port).

Goal: with cluster-enabled yes, the node listens on the cluster bus port as
Redis does (cluster-port, or the client port + 10000 when it is 0), and a
connection there that sends what is not a bus frame (bad magic, a length
past the bound) is closed alone, the node serving on; the client port works
as before; CONFIG GET shows both directives and CONFIG SET refuses them
(immutable, as in Redis). With cluster-enabled no (the default), nothing
listens on the bus port. A client port whose bus port would pass 65535 is
refused at start-up, with Redis's message.

Method: each test starts its own cairn-node (with the variant's backend and
shard count from CAIRN_NODE_ARGS, its nodes.conf in a temporary directory)
on a loopback port chosen so that the port 10000 above it is free too, then
connects to the bus port with plain sockets and sends garbage: it must be
closed without a byte back; with the bus off it must be refused. The
client port is checked with redis-py. Nodes are stopped by PID and must
exit cleanly. Exits 77 (skip) when redis-py is missing.
"""
import os
import random
import socket
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cairn_test  # noqa: E402

try:
    import redis
except ImportError:
    print("redis-py is not installed (apt-get install python3-redis): skipped")
    sys.exit(77)

INCR = 10000  # Redis's CLUSTER_PORT_INCR


port_free = cairn_test.port_free


def port_pair():
    """A client port p such that p and p + 10000 are both free."""
    rnd = random.Random()
    for _ in range(200):
        p = rnd.randrange(20000, 65535 - INCR)
        if port_free(p) and port_free(p + INCR):
            return p
    raise RuntimeError("no free pair of ports")


CONF_DIR = tempfile.mkdtemp(prefix="cairn-cluster-port-")
# Not a bus frame: no "CB" magic; and a frame header whose length passes
# the bound (1 MB).
GARBAGE = (b"PING\r\n", b"CB\x01\x02\xff\xff\xff\xff")


def node(port, *args):
    conf = os.path.join(CONF_DIR, "nodes-%d.conf" % port)
    return cairn_test.Server([cairn_test.NODE, "--port", str(port), "--bind", "127.0.0.1",
                              "--cluster-config-file", conf] + cairn_test.NODE_ARGS + list(args),
                             port)


def closed_at_once(port, garbage=GARBAGE[0], timeout=5):
    """Connects to port, sends garbage, and returns what the node did: the
    bytes it sent before closing (b"" for a plain close)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(garbage)
        s.settimeout(timeout)
        data = b""
        try:
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    return data
                data += chunk
        except ConnectionResetError:
            return data


class BusEnabled(unittest.TestCase):
    def test_default_bus_port_closes_garbage(self):
        port = port_pair()
        with node(port, "--cluster-enabled", "yes") as srv:
            for i in range(8):
                self.assertEqual(closed_at_once(port + INCR, GARBAGE[i % 2]), b"")
            r = srv.client()
            self.assertEqual(r.execute_command("CLUSTER", "ADDSLOTSRANGE", 0, 16383), b"OK")
            self.assertTrue(r.set("k", "v"))
            self.assertEqual(r.get("k"), b"v")
            self.assertEqual(r.config_get("cluster-port"), {"cluster-port": "0"})
            self.assertEqual(r.config_get("cluster-enabled"), {"cluster-enabled": "yes"})
            self.assertEqual(r.info("cluster")["cluster_enabled"], 1)
            self.assertIn("Cluster bus on port %d" % (port + INCR), srv.log_text())

    def test_explicit_cluster_port(self):
        port = cairn_test.free_port()
        bus = cairn_test.free_port()
        with node(port, "--cluster-enabled", "yes", "--cluster-port", str(bus)) as srv:
            self.assertEqual(closed_at_once(bus), b"")
            r = srv.client()
            self.assertEqual(r.config_get("cluster-port"), {"cluster-port": str(bus)})
            self.assertEqual(r.ping(), True)

    def test_directives_are_immutable(self):
        port = port_pair()
        with node(port, "--cluster-enabled", "yes") as srv:
            r = srv.client()
            for name, value in (("cluster-port", "7000"), ("cluster-enabled", "no")):
                with self.assertRaises(redis.ResponseError) as cm:
                    r.config_set(name, value)
                self.assertIn("can't set immutable config", str(cm.exception))
            self.assertEqual(r.config_get("cluster-enabled"), {"cluster-enabled": "yes"})
            self.assertEqual(r.config_get("cluster-port"), {"cluster-port": "0"})
            self.assertEqual(closed_at_once(port + INCR), b"")

    def test_client_port_unaffected_by_bus_connections(self):
        """A client connection stays up while bus connections come and go."""
        port = port_pair()
        with node(port, "--cluster-enabled", "yes") as srv:
            r = srv.client()
            with self.assertRaises(redis.ResponseError) as cm:
                r.set("before", "1")
            self.assertEqual(str(cm.exception), "CLUSTERDOWN Hash slot not served")
            self.assertEqual(r.execute_command("CLUSTER", "ADDSLOTSRANGE", 0, 16383), b"OK")
            self.assertTrue(r.set("before", "1"))
            for i in range(4):
                self.assertEqual(closed_at_once(port + INCR), b"")
                self.assertEqual(r.incr("before"), 2 + i)
            self.assertEqual(r.dbsize(), 1)


class BusDisabled(unittest.TestCase):
    def test_bus_port_refuses(self):
        port = port_pair()
        with node(port) as srv:
            r = srv.client()
            self.assertEqual(r.config_get("cluster-enabled"), {"cluster-enabled": "no"})
            with self.assertRaises(ConnectionRefusedError):
                socket.create_connection(("127.0.0.1", port + INCR), timeout=5).close()
            self.assertTrue(r.ping())

    def test_explicit_port_without_cluster_refuses(self):
        port = cairn_test.free_port()
        bus = cairn_test.free_port()
        with node(port, "--cluster-port", str(bus)) as srv:
            with self.assertRaises(ConnectionRefusedError):
                socket.create_connection(("127.0.0.1", bus), timeout=5).close()
            self.assertEqual(srv.client().config_get("cluster-port"), {"cluster-port": str(bus)})


class StartUp(unittest.TestCase):
    def test_port_too_high_for_the_bus(self):
        res = subprocess.run([cairn_test.NODE, "--port", "60000", "--bind", "127.0.0.1",
                              "--cluster-enabled", "yes"] + cairn_test.NODE_ARGS,
                             capture_output=True, text=True, timeout=10)
        self.assertNotEqual(res.returncode, 0)
        self.assertIn("Your Redis port number must be 55535 or less", res.stderr)

    def test_bad_values_are_fatal(self):
        for args in (("--cluster-enabled", "maybe"), ("--cluster-port", "70000")):
            res = subprocess.run([cairn_test.NODE, "--port", "0"] + list(args),
                                 capture_output=True, text=True, timeout=10)
            self.assertNotEqual(res.returncode, 0, args)
            self.assertIn("FATAL CONFIG", res.stderr, args)


if __name__ == "__main__":
    unittest.main(verbosity=2)
