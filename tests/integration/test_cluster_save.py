#!/usr/bin/python3
"""A CLUSTER change is acknowledged only once nodes.conf holds it.

Goal: Redis never answers +OK to a change of the cluster state its
nodes.conf lacks (it exits when it cannot save: clusterSaveConfigOrDie), so
a node that restarts after an acknowledged SETSLOT, ADDSLOTS, MEET, ... comes
back with it. cairn keeps running instead: a change it could not save
answers "-ERR error saving the cluster node config: ..." (the change stands
in memory), the save is tried again at the next settle, and the next
change, once the file can be written, answers +OK with everything on disk.
(The simulator found the gap: a node that crashed after an acknowledged,
unsaved SETSLOT NODE came back without the slot and with its old epoch.)

Method: starts cairn-node (the variant's backend and shards from
CAIRN_NODE_ARGS) with cluster-enabled yes and cluster-config-file in a
directory that does not exist yet: ADDSLOTS answers the save error (and
the slot is taken all the same: a second ADDSLOTS of it is refused); the
directory is created; within a bound the node's own retry writes the file,
which then holds the slot; ADDSLOTS of another slot answers +OK, and the
file holds both. Exits 77 (skip) when redis-py is missing.
"""
import os
import shutil
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

SAVE_ERR = "error saving the cluster node config"
INCR = 10000  # the bus port is the client port + 10000


def port_pair():
    """A client port p such that p and its bus port p + 10000 are free."""
    for _ in range(200):
        p = cairn_test.free_port()
        if p + INCR < 65536 and cairn_test.port_free(p + INCR):
            return p
    raise RuntimeError("no free pair of ports")


def slots_in(path):
    """The slot ranges myself's line of nodes.conf names, or None."""
    try:
        with open(path) as f:
            for line in f:
                if "myself" in line:
                    return line.split()[8:]
    except FileNotFoundError:
        return None
    return None


class SaveBeforeOk(unittest.TestCase):
    def test_unsaved_change_is_no_ok(self):
        top = tempfile.mkdtemp(prefix="cairn-cluster-save-")
        conf = os.path.join(top, "sub", "nodes.conf")
        port = port_pair()
        try:
            with cairn_test.Server([cairn_test.NODE, "--port", str(port), "--bind", "127.0.0.1",
                                    "--cluster-enabled", "yes", "--cluster-config-file",
                                    conf] + cairn_test.NODE_ARGS, port) as srv:
                r = srv.client()
                with self.assertRaises(redis.ResponseError) as e:
                    r.execute_command("CLUSTER", "ADDSLOTS", 1)
                self.assertIn(SAVE_ERR, str(e.exception))
                with self.assertRaises(redis.ResponseError) as e:
                    r.execute_command("CLUSTER", "ADDSLOTS", 1)
                self.assertIn("Slot 1 is already busy", str(e.exception))
                os.mkdir(os.path.dirname(conf))
                # The node saves again by itself (its timer's settle).
                self.assertTrue(cairn_test.wait_until(lambda: slots_in(conf) == ["1"], 10),
                                slots_in(conf))
                self.assertEqual(r.execute_command("CLUSTER", "ADDSLOTS", 2), b"OK")
                self.assertEqual(slots_in(conf), ["1-2"])
        finally:
            shutil.rmtree(top, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
