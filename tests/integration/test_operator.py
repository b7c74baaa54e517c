#!/usr/bin/python3
"""The operator's commands with real clients: SHUTDOWN.

Goal: `redis-cli shutdown` stops the node: the process exits with 0, its
log says who asked, and the client sees the connection close with no
error. SHUTDOWN NOSAVE NOW FORCE does the same; SHUTDOWN SAVE cannot save
(cairn has no persistence) and leaves the node running with Redis's error,
unless FORCE; SHUTDOWN ABORT finds no shutdown to abort; inside MULTI it
is refused and aborts the transaction. Every shard stops, whichever shard
the asking client lives on.

Method: each test starts its own cairn-node on a free loopback port
(through cairn_test, flags from $CAIRN_NODE_ARGS), sends the command with
redis-cli or redis-py, and waits for the process to exit (or checks that
it still answers).

    /usr/bin/python3 tests/integration/test_operator.py -v
"""
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cairn_test  # noqa: E402

try:
    import redis
except ImportError:
    print("redis-py is not installed (apt-get install python3-redis): skipped")
    sys.exit(77)


def cli(port, *args):
    return subprocess.run(["redis-cli", "-p", str(port)] + list(args), capture_output=True,
                          timeout=30)


class Shutdown(unittest.TestCase):
    def wait_exit(self, s):
        try:
            return s.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.fail("the node did not exit")

    def test_redis_cli_shutdown(self):
        with cairn_test.cairn() as s:
            s.client().set("k", "v")
            out = cli(s.port, "shutdown")
            self.assertEqual(out.returncode, 0, out)
            self.assertNotIn(b"ERR", out.stdout + out.stderr)
            self.assertEqual(self.wait_exit(s), 0)
            log = s.log_text()
            self.assertIn("User requested shutdown...", log)
            self.assertIn("ready to exit, bye bye", log)
            self.assertNotIn("Received SIGTERM", log)

    def test_every_shard_stops_from_any_client(self):
        with cairn_test.cairn("--shards", "3") as s:
            clients = [s.client() for _ in range(6)]
            for i, r in enumerate(clients):
                r.set("k%d" % i, i)
            # redis-py takes the closed connection as success.
            clients[4].shutdown(nosave=True, now=True, force=True)
            self.assertEqual(self.wait_exit(s), 0)

    def test_save_fails_and_the_node_stays(self):
        with cairn_test.cairn() as s:
            r = s.client()
            with self.assertRaisesRegex(redis.ResponseError,
                                        "Errors trying to SHUTDOWN. Check logs."):
                r.execute_command("SHUTDOWN", "SAVE")
            self.assertTrue(r.ping())
            self.assertIn("Error trying to save the DB, can't exit.", s.log_text())
            with self.assertRaisesRegex(redis.ResponseError, "No shutdown in progress."):
                r.execute_command("SHUTDOWN", "ABORT")
            with self.assertRaisesRegex(redis.ResponseError, "syntax error"):
                r.execute_command("SHUTDOWN", "NOSAVE", "SAVE")
            p = r.pipeline(transaction=True)
            p.execute_command("SHUTDOWN")
            with self.assertRaises(redis.ResponseError):
                p.execute()
            self.assertTrue(r.ping())
            self.assertIsNone(s.proc.poll())
            # SAVE FORCE: the save fails, and the node exits anyway.
            with self.assertRaises(redis.ConnectionError):
                r.execute_command("SHUTDOWN", "SAVE", "FORCE")
            self.assertEqual(self.wait_exit(s), 0)
            self.assertIn("Error trying to save the DB. Exit anyway.", s.log_text())


if __name__ == "__main__":
    unittest.main()
